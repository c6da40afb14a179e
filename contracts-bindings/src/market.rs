//! The royalty market's operations (`ddrm market list|offer|fill|cancel|withdraw`) on the
//! `Market` contract: listings that keep the seller's tokens until filled, offers that escrow
//! payment, fills of either side in part, and pull payments.
//!
//! As in [`crate::ops`], each operation reads what the contract would check (the order, the
//! holder's balance, the payment, the resale royalty, the pause) and refuses with a typed
//! [`ChainError`] before sending, so a mistake costs no gas and says what was wrong; a revert
//! that still happens (a race with another transaction) is decoded by [`crate::error`]. ERC-1155
//! approval of the market and ERC-20 allowances are given on the way when missing.

use alloy::primitives::{aliases::U96, Address, TxHash, U256};
use alloy::rpc::types::TransactionReceipt;

use crate::bindings::{Access, ContentRegistry, Market, IERC1155};
use crate::chain::{confirm, Chain, Deployment};
use crate::error::ChainError;
use crate::ops::{approve_for, funds_for, payment_token_of, rpc, TokenInfo};
use crate::units::content_id_hex;

/// Which of the two ERC-1155 collections an order trades.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Collection {
    /// `RoyaltyShares`: 10,000 shares per content, each earning its part of the revenue.
    Royalty,
    /// `Access`: perpetual access tokens; their resales pay the content's resale royalty.
    Access,
}

impl Collection {
    /// The collection's contract in `dep`.
    pub fn address(self, dep: &Deployment) -> Address {
        match self {
            Self::Royalty => dep.contracts.royalty_shares,
            Self::Access => dep.contracts.access,
        }
    }

    /// The collection whose contract is `address` in `dep`.
    pub fn at(address: Address, dep: &Deployment) -> Option<Self> {
        [Self::Royalty, Self::Access]
            .into_iter()
            .find(|c| c.address(dep) == address)
    }
}

impl std::fmt::Display for Collection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Royalty => "royalty shares",
            Self::Access => "access tokens",
        })
    }
}

/// The two sides of the book.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderKind {
    /// Tokens for sale (`Market.list`).
    Listing,
    /// Escrowed payment for tokens (`Market.makeOffer`).
    Offer,
}

impl std::fmt::Display for OrderKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Listing => "listing",
            Self::Offer => "offer",
        })
    }
}

/// One order by its id: ids count from 1 per side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct OrderRef {
    pub kind: OrderKind,
    pub id: u64,
}

impl OrderRef {
    pub fn listing(id: u64) -> Self {
        Self {
            kind: OrderKind::Listing,
            id,
        }
    }

    pub fn offer(id: u64) -> Self {
        Self {
            kind: OrderKind::Offer,
            id,
        }
    }
}

impl std::fmt::Display for OrderRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.kind, self.id)
    }
}

/// An open order as the chain holds it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Order {
    #[serde(flatten)]
    pub at: OrderRef,
    pub maker: Address,
    pub collection: Collection,
    pub content_id: U256,
    /// Tokens still to fill.
    pub amount: u64,
    /// In base units of the content's payment token.
    pub unit_price: U256,
    /// Listings: the highest resale royalty their seller accepts; offers: 0.
    pub max_royalty_bps: u16,
}

/// `ddrm market list`: sell `amount` tokens at `unit_price` each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListRequest {
    pub collection: Collection,
    pub content_id: U256,
    pub amount: u64,
    /// In base units of the content's payment token.
    pub unit_price: U256,
    /// The highest resale royalty the seller accepts on fills of an access-token listing;
    /// `None`: the current one, so that a raise stops fills rather than cutting the proceeds.
    pub max_royalty_bps: Option<u16>,
}

/// `ddrm market offer`: buy `amount` tokens at `unit_price` each, escrowing the total.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferRequest {
    pub collection: Collection,
    pub content_id: U256,
    pub amount: u64,
    /// In base units of the content's payment token.
    pub unit_price: U256,
}

/// `ddrm market fill`: take `amount` from a listing (buy) or an offer (sell).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FillRequest {
    pub order: OrderRef,
    pub amount: u64,
    /// The highest resale royalty the filler accepts (access tokens); `None`: the current one.
    pub max_royalty_bps: Option<u16>,
}

/// What `list` or `make_offer` did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Placed {
    /// The ERC-1155 approval of the market (listings) or the ERC-20 allowance (offers) sent
    /// first, if one was missing.
    pub approval_tx: Option<TxHash>,
    pub tx: TxHash,
    pub block: u64,
    pub order: Order,
    /// `amount × unit_price`: what the listing sells for in all, or what the offer escrowed.
    pub total: U256,
    pub token: TokenInfo,
    pub gas_used: u64,
}

impl std::fmt::Display for Placed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(a) = self.approval_tx {
            writeln!(f, "approval transaction {a}")?;
        }
        writeln!(f, "transaction {} (block {})", self.tx, self.block)?;
        let o = &self.order;
        let (verb, total) = match o.at.kind {
            OrderKind::Listing => ("sells", "in all"),
            OrderKind::Offer => ("buys", "escrowed"),
        };
        writeln!(
            f,
            "{}: {verb} {} {} of content {} at {} each ({} {total})",
            o.at,
            o.amount,
            o.collection,
            content_id_hex(o.content_id),
            self.token.format(o.unit_price),
            self.token.format(self.total)
        )
    }
}

/// What a fill traded, from the market's `Traded` event.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Filled {
    /// The market's ERC-1155 approval (offers) or the ERC-20 allowance (listings) sent first.
    pub approval_tx: Option<TxHash>,
    pub tx: TxHash,
    pub block: u64,
    pub order: OrderRef,
    pub collection: Collection,
    pub content_id: U256,
    pub seller: Address,
    pub buyer: Address,
    pub amount: u64,
    /// What the buyer paid in all.
    pub price: U256,
    /// The part of `price` paid to the content's royalty holders (resales of access tokens).
    pub royalty: U256,
    /// Left in the order after this fill.
    pub left: u64,
    pub token: TokenInfo,
    pub gas_used: u64,
}

impl std::fmt::Display for Filled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(a) = self.approval_tx {
            writeln!(f, "approval transaction {a}")?;
        }
        writeln!(f, "transaction {} (block {})", self.tx, self.block)?;
        writeln!(
            f,
            "{} {} of content {} moved from {} to {} for {} (resale royalty {})",
            self.amount,
            self.collection,
            content_id_hex(self.content_id),
            self.seller,
            self.buyer,
            self.token.format(self.price),
            self.token.format(self.royalty)
        )?;
        writeln!(
            f,
            "{} has {} left; the seller withdraws the proceeds with `ddrm market withdraw`",
            self.order, self.left
        )
    }
}

/// What a cancellation did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Cancelled {
    pub tx: TxHash,
    pub block: u64,
    pub order: OrderRef,
    /// An offer's unfilled escrow, now withdrawable by its maker (0 for a listing).
    pub refunded: U256,
    pub token: TokenInfo,
    pub gas_used: u64,
}

impl std::fmt::Display for Cancelled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "transaction {} (block {})", self.tx, self.block)?;
        match self.order.kind {
            OrderKind::Listing => writeln!(f, "cancelled {}", self.order),
            OrderKind::Offer => writeln!(
                f,
                "cancelled {}; {} to withdraw with `ddrm market withdraw`",
                self.order,
                self.token.format(self.refunded)
            ),
        }
    }
}

/// What a withdrawal paid.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Withdrawn {
    pub tx: TxHash,
    pub block: u64,
    pub account: Address,
    pub amount: U256,
    pub token: TokenInfo,
    pub gas_used: u64,
}

impl std::fmt::Display for Withdrawn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "transaction {} (block {})", self.tx, self.block)?;
        writeln!(
            f,
            "withdrew {} from the market to {}",
            self.token.format(self.amount),
            self.account
        )
    }
}

fn market<'a>(
    chain: &'a Chain,
    dep: &Deployment,
) -> Market::MarketInstance<&'a alloy::providers::DynProvider> {
    Market::new(dep.contracts.market, &chain.provider)
}

/// An order as the chain holds it; an unknown or cancelled one is an error.
pub async fn order(chain: &Chain, dep: &Deployment, at: OrderRef) -> Result<Order, ChainError> {
    let m = market(chain, dep);
    let id = U256::from(at.id);
    let o = match at.kind {
        OrderKind::Listing => m.listings(id).call().await.map_err(rpc)?,
        OrderKind::Offer => {
            let o = m.offers(id).call().await.map_err(rpc)?;
            Market::listingsReturn {
                maker: o.maker,
                amount: o.amount,
                collection: o.collection,
                maxRoyaltyBps: o.maxRoyaltyBps,
                unitPrice: o.unitPrice,
                contentId: o.contentId,
            }
        }
    };
    if o.maker.is_zero() {
        return Err(ChainError::UnknownOrder(at));
    }
    let collection = Collection::at(o.collection, dep).ok_or_else(|| {
        ChainError::BadOrder(format!(
            "{at} trades {}, not a ddrm collection",
            o.collection
        ))
    })?;
    Ok(Order {
        at,
        maker: o.maker,
        collection,
        content_id: o.contentId,
        amount: u64_of(o.amount),
        unit_price: U256::from(o.unitPrice),
        max_royalty_bps: o.maxRoyaltyBps,
    })
}

/// What `account` can withdraw from the market in `token` (`Address::ZERO` = native).
pub async fn withdrawable(
    chain: &Chain,
    dep: &Deployment,
    account: Address,
    token: Address,
) -> Result<U256, ChainError> {
    market(chain, dep)
        .withdrawable(account, token)
        .call()
        .await
        .map_err(rpc)
}

/// Lists tokens for sale: checks the content, the price, the seller's balance and the resale
/// royalty, approves the market on the collection if needed, then lists.
pub async fn list(
    chain: &Chain,
    dep: &Deployment,
    req: &ListRequest,
) -> Result<Placed, ChainError> {
    let (me, unit_price, token) =
        new_order(chain, dep, req.content_id, req.amount, req.unit_price).await?;
    holds(chain, dep, req.collection, me, req.content_id, req.amount).await?;
    let bound = royalty_within(
        chain,
        dep,
        req.collection,
        req.content_id,
        req.max_royalty_bps,
        None,
    )
    .await?;
    let approval_tx = approve_market(chain, dep, req.collection, me).await?;
    let receipt = confirm(
        "list",
        market(chain, dep)
            .list(
                req.collection.address(dep),
                req.content_id,
                U96::from(req.amount),
                unit_price,
                bound,
            )
            .send()
            .await,
    )
    .await?;
    placed(chain, dep, OrderKind::Listing, approval_tx, &receipt, token).await
}

/// Offers to buy: checks the content, the price and the buyer's funds, approves the market for
/// an ERC-20 payment, then escrows the total with the offer.
pub async fn make_offer(
    chain: &Chain,
    dep: &Deployment,
    req: &OfferRequest,
) -> Result<Placed, ChainError> {
    let (me, unit_price, token) =
        new_order(chain, dep, req.content_id, req.amount, req.unit_price).await?;
    let total = req.unit_price * U256::from(req.amount);
    let (value, approval_tx) = pay(chain, dep, me, &token, total).await?;
    let receipt = confirm(
        "make offer",
        market(chain, dep)
            .makeOffer(
                req.collection.address(dep),
                req.content_id,
                U96::from(req.amount),
                unit_price,
            )
            .value(value)
            .send()
            .await,
    )
    .await?;
    placed(chain, dep, OrderKind::Offer, approval_tx, &receipt, token).await
}

/// Fills a listing (buying, paying in the content's token) or an offer (selling the caller's
/// tokens into it), in part or whole.
pub async fn fill(
    chain: &Chain,
    dep: &Deployment,
    req: &FillRequest,
) -> Result<Filled, ChainError> {
    dep.check_chain(chain)?;
    let me = chain.sender()?;
    if req.amount == 0 {
        return Err(ChainError::BadOrder("the amount must be at least 1".into()));
    }
    let o = order(chain, dep, req.order).await?;
    if req.amount > o.amount {
        return Err(ChainError::OrderTooSmall {
            order: req.order,
            left: o.amount,
            wanted: req.amount,
        });
    }
    selling(chain, dep).await?;
    let token = payment_token_of(chain, dep, o.content_id).await?;
    let listing_bound = (o.at.kind == OrderKind::Listing).then_some(o.max_royalty_bps);
    let royalty_bound = royalty_within(
        chain,
        dep,
        o.collection,
        o.content_id,
        req.max_royalty_bps,
        listing_bound,
    )
    .await?;
    let m = market(chain, dep);
    let id = U256::from(o.at.id);
    let (approval_tx, pending) = match o.at.kind {
        OrderKind::Listing => {
            listing_backed(chain, dep, &o, req.amount).await?;
            let price = o.unit_price * U256::from(req.amount);
            let (value, approval_tx) = pay(chain, dep, me, &token, price).await?;
            let call = m.buyListing(id, U96::from(req.amount), royalty_bound);
            (approval_tx, call.value(value).send().await)
        }
        OrderKind::Offer => {
            holds(chain, dep, o.collection, me, o.content_id, req.amount).await?;
            let approval_tx = approve_market(chain, dep, o.collection, me).await?;
            let call = m.acceptOffer(id, U96::from(req.amount), royalty_bound);
            (approval_tx, call.send().await)
        }
    };
    let receipt = confirm(&format!("fill {}", o.at), pending).await?;
    let traded =
        event::<Market::Traded>(&receipt).ok_or_else(|| missing_event("fill", "Traded"))?;
    let left = order(chain, dep, o.at).await?.amount;
    Ok(Filled {
        approval_tx,
        tx: receipt.transaction_hash,
        block: receipt.block_number.unwrap_or_default(),
        order: o.at,
        collection: o.collection,
        content_id: o.content_id,
        seller: traded.seller,
        buyer: traded.buyer,
        amount: u64_of(traded.amount),
        price: traded.price,
        royalty: traded.royalty,
        left,
        token,
        gas_used: receipt.gas_used,
    })
}

/// Cancels the caller's listing or offer; an offer's unfilled escrow becomes withdrawable.
pub async fn cancel(
    chain: &Chain,
    dep: &Deployment,
    at: OrderRef,
) -> Result<Cancelled, ChainError> {
    dep.check_chain(chain)?;
    let me = chain.sender()?;
    let o = order(chain, dep, at).await?;
    if o.maker != me {
        return Err(ChainError::NotMaker {
            order: at,
            maker: o.maker,
            account: me,
        });
    }
    let token = payment_token_of(chain, dep, o.content_id).await?;
    let m = market(chain, dep);
    let id = U256::from(at.id);
    let pending = match at.kind {
        OrderKind::Listing => m.cancelListing(id).send().await,
        OrderKind::Offer => m.cancelOffer(id).send().await,
    };
    let receipt = confirm(&format!("cancel {at}"), pending).await?;
    let refunded = event::<Market::OfferCancelled>(&receipt)
        .map(|e| e.refunded)
        .unwrap_or_default();
    Ok(Cancelled {
        tx: receipt.transaction_hash,
        block: receipt.block_number.unwrap_or_default(),
        order: at,
        refunded,
        token,
        gas_used: receipt.gas_used,
    })
}

/// Pays out the caller's proceeds and refunds in `token` (`Address::ZERO` = native).
pub async fn withdraw(
    chain: &Chain,
    dep: &Deployment,
    token: Address,
) -> Result<Withdrawn, ChainError> {
    dep.check_chain(chain)?;
    let me = chain.sender()?;
    let info = crate::ops::token_info(chain, token).await?;
    if withdrawable(chain, dep, me, token).await?.is_zero() {
        return Err(ChainError::NothingToWithdraw {
            account: me,
            symbol: info.symbol,
        });
    }
    let receipt = confirm("withdraw", market(chain, dep).withdraw(token).send().await).await?;
    let amount = event::<Market::Withdrawn>(&receipt)
        .map(|e| e.amount)
        .ok_or_else(|| missing_event("withdraw", "Withdrawn"))?;
    Ok(Withdrawn {
        tx: receipt.transaction_hash,
        block: receipt.block_number.unwrap_or_default(),
        account: me,
        amount,
        token: info,
        gas_used: receipt.gas_used,
    })
}

/// What every new order checks first: the chain, the signer, the amount and price, the content
/// (whose payment token prices it) and the pause. Returns the signer, the unit price as the
/// contract takes it, and the token.
async fn new_order(
    chain: &Chain,
    dep: &Deployment,
    content_id: U256,
    amount: u64,
    unit_price: U256,
) -> Result<(Address, u128, TokenInfo), ChainError> {
    dep.check_chain(chain)?;
    let me = chain.sender()?;
    let unit_price = order_terms(amount, unit_price)?;
    let token = payment_token_of(chain, dep, content_id).await?;
    selling(chain, dep).await?;
    Ok((me, unit_price, token))
}

/// The checks `Market` makes of a new order's amount and unit price; the price as the contract
/// takes it.
fn order_terms(amount: u64, unit_price: U256) -> Result<u128, ChainError> {
    if amount == 0 {
        return Err(ChainError::BadOrder("the amount must be at least 1".into()));
    }
    if unit_price.is_zero() {
        return Err(ChainError::BadOrder(
            "the unit price must be above 0".into(),
        ));
    }
    u128::try_from(unit_price)
        .map_err(|_| ChainError::BadOrder("the unit price is above 2^128 base units".into()))
}

/// Refuses while governance has paused sales (the market's fills and new orders).
async fn selling(chain: &Chain, dep: &Deployment) -> Result<(), ChainError> {
    let access = Access::new(dep.contracts.access, &chain.provider);
    if access.paused().call().await.map_err(rpc)? {
        return Err(ChainError::SalesPaused);
    }
    Ok(())
}

async fn balance_of(
    chain: &Chain,
    dep: &Deployment,
    collection: Collection,
    account: Address,
    id: U256,
) -> Result<U256, ChainError> {
    IERC1155::new(collection.address(dep), &chain.provider)
        .balanceOf(account, id)
        .call()
        .await
        .map_err(rpc)
}

async fn market_approved(
    chain: &Chain,
    dep: &Deployment,
    collection: Collection,
    account: Address,
) -> Result<bool, ChainError> {
    IERC1155::new(collection.address(dep), &chain.provider)
        .isApprovedForAll(account, dep.contracts.market)
        .call()
        .await
        .map_err(rpc)
}

/// Fails unless `account` holds `amount` tokens of `id` in `collection`.
async fn holds(
    chain: &Chain,
    dep: &Deployment,
    collection: Collection,
    account: Address,
    id: U256,
    amount: u64,
) -> Result<(), ChainError> {
    let have = balance_of(chain, dep, collection, account, id).await?;
    if have < U256::from(amount) {
        return Err(ChainError::InsufficientTokens {
            account,
            collection,
            id: content_id_hex(id),
            have,
            want: amount,
        });
    }
    Ok(())
}

/// Fails when the listing's seller no longer holds the tokens or withdrew the market's
/// approval: the fill would revert in the token transfer.
async fn listing_backed(
    chain: &Chain,
    dep: &Deployment,
    o: &Order,
    amount: u64,
) -> Result<(), ChainError> {
    let have = balance_of(chain, dep, o.collection, o.maker, o.content_id).await?;
    if have < U256::from(amount) {
        return Err(ChainError::StaleListing {
            order: o.at,
            why: format!("holds {have} {} (of {amount} wanted)", o.collection),
        });
    }
    if !market_approved(chain, dep, o.collection, o.maker).await? {
        return Err(ChainError::StaleListing {
            order: o.at,
            why: "revoked the market's approval".into(),
        });
    }
    Ok(())
}

/// Approves the market for all of the caller's tokens in `collection` (it moves only what a
/// fill trades) when it is not yet; returns the approval's transaction.
async fn approve_market(
    chain: &Chain,
    dep: &Deployment,
    collection: Collection,
    me: Address,
) -> Result<Option<TxHash>, ChainError> {
    if market_approved(chain, dep, collection, me).await? {
        return Ok(None);
    }
    let token = IERC1155::new(collection.address(dep), &chain.provider);
    let pending = token
        .setApprovalForAll(dep.contracts.market, true)
        .send()
        .await;
    let receipt = confirm("approve the market", pending).await?;
    Ok(Some(receipt.transaction_hash))
}

/// What the payer sends with the call (native value) after checking the funds, and the ERC-20
/// approval of the market sent first when the payment is a token.
async fn pay(
    chain: &Chain,
    dep: &Deployment,
    me: Address,
    token: &TokenInfo,
    amount: U256,
) -> Result<(U256, Option<TxHash>), ChainError> {
    funds_for(chain, me, token.address, amount, token).await?;
    if token.address.is_zero() {
        Ok((amount, None))
    } else {
        let approval = approve_for(chain, dep.contracts.market, me, token.address, amount).await?;
        Ok((U256::ZERO, approval))
    }
}

/// Checks the content's resale royalty (access tokens only; royalty shares pay none) against the
/// caller's bound (default: the current royalty) and a listing's own; returns the bound to send.
async fn royalty_within(
    chain: &Chain,
    dep: &Deployment,
    collection: Collection,
    id: U256,
    max_bps: Option<u16>,
    listing_bps: Option<u16>,
) -> Result<u16, ChainError> {
    if collection == Collection::Royalty {
        return Ok(max_bps.unwrap_or(0));
    }
    let registry = ContentRegistry::new(dep.contracts.content_registry, &chain.provider);
    let current = registry
        .termsOf(id)
        .call()
        .await
        .map_err(rpc)?
        .resaleRoyaltyBps;
    let above = |what: &'static str, bound: u16| ChainError::AboveBound {
        id: content_id_hex(id),
        what,
        current: format!("{current} bps"),
        bound: format!("{bound} bps"),
    };
    let bound = max_bps.unwrap_or(current);
    if current > bound {
        return Err(above("resale royalty", bound));
    }
    if let Some(seller) = listing_bps.filter(|b| current > *b) {
        return Err(above(
            "resale royalty (the seller's bound in the listing)",
            seller,
        ));
    }
    Ok(bound)
}

/// The order `receipt` placed (its id from the `Listed` or `OfferMade` event), read back, with
/// its total.
async fn placed(
    chain: &Chain,
    dep: &Deployment,
    kind: OrderKind,
    approval_tx: Option<TxHash>,
    receipt: &TransactionReceipt,
    token: TokenInfo,
) -> Result<Placed, ChainError> {
    let id = match kind {
        OrderKind::Listing => event::<Market::Listed>(receipt).map(|e| e.listingId),
        OrderKind::Offer => event::<Market::OfferMade>(receipt).map(|e| e.offerId),
    }
    .ok_or_else(|| missing_event(&kind.to_string(), "order"))?;
    let at = OrderRef {
        kind,
        id: u64_of(id),
    };
    let order = order(chain, dep, at).await?;
    Ok(Placed {
        approval_tx,
        tx: receipt.transaction_hash,
        block: receipt.block_number.unwrap_or_default(),
        total: order.unit_price * U256::from(order.amount),
        order,
        token,
        gas_used: receipt.gas_used,
    })
}

/// The first `E` event in the receipt.
fn event<E: alloy::sol_types::SolEvent>(receipt: &TransactionReceipt) -> Option<E> {
    receipt
        .inner
        .logs()
        .iter()
        .find_map(|log| log.log_decode::<E>().ok())
        .map(|log| log.inner.data)
}

fn missing_event(what: &str, event: &str) -> ChainError {
    ChainError::Reverted {
        what: what.to_owned(),
        why: format!("the receipt has no {event} event"),
    }
}

/// An id or amount the market counts in `uint256`/`uint96`, as this client shows it. Ids count
/// up from 1 and listings never exceed a balance (royalty shares: 10,000), so only an offer made
/// elsewhere for more than 2^64 tokens saturates: it shows as `u64::MAX`, which is also the most
/// one fill from here takes.
fn u64_of<const BITS: usize, const LIMBS: usize>(v: alloy::primitives::Uint<BITS, LIMBS>) -> u64 {
    v.saturating_to()
}

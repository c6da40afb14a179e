//! The operations behind the CLI: mint, buy, rent, subscribe, royalty balance/transfer/claim.
//! Each checks its inputs against the chain before sending anything, then reports what changed.

use alloy::{
    primitives::{Address, Bytes, TxHash, B256, U256},
    providers::Provider,
};

use crate::bindings::{
    Access, ContentRegistry,
    ContentRegistry::{Registration, Terms},
    RoyaltyShares, TestToken,
};
use crate::chain::{confirm, native_symbol, Chain, Deployment};
use crate::error::ChainError;
use crate::units::{content_id_hex, format_amount};

/// Domain prefix of content ids (format v2): 18 ASCII bytes.
pub const CONTENT_ID_DOMAIN: &[u8; 18] = b"ddrm/content-id/v2";

/// The content id of a `.ddrm` whose header names `creator` and whose other header fields digest
/// to `header_digest`: SHA-256 over `"ddrm/content-id/v2" ‖ creator (20 bytes) ‖ header_digest
/// (32 bytes)`, read big-endian. `ContentRegistry.register` accepts an id only from the creator it
/// is derived from (`ContentRegistry.contentIdFor` computes the same).
pub fn content_id_for(creator: Address, header_digest: B256) -> U256 {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(CONTENT_ID_DOMAIN);
    h.update(creator.as_slice());
    h.update(header_digest.as_slice());
    U256::from_be_bytes(<[u8; 32]>::from(h.finalize()))
}

/// The facts a `.ddrm` header contributes to a registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderFacts {
    /// `content_id_for(creator, header_digest)` for the creator the header names.
    pub content_id: U256,
    /// Digest of the header's fields other than the creator; sent with the registration so the
    /// registry can recompute the id for the sender.
    pub header_digest: B256,
    pub key_commitment: B256,
    pub renderers: Vec<B256>,
}

impl HeaderFacts {
    /// The facts of a content `creator` packaged: its id is `content_id_for(creator,
    /// header_digest)`, so only `creator` can register it. For harnesses and tools that invent
    /// contents without a `.ddrm` file.
    pub fn for_creator(
        creator: Address,
        header_digest: B256,
        key_commitment: B256,
        renderers: Vec<B256>,
    ) -> Self {
        Self {
            content_id: content_id_for(creator, header_digest),
            header_digest,
            key_commitment,
            renderers,
        }
    }
}

/// Turns the values the packager's header exposes into registration facts.
pub fn mint_params_from_header(
    content_id: [u8; 32],
    header_digest: [u8; 32],
    key_commitment: [u8; 32],
    renderers: &[[u8; 32]],
) -> HeaderFacts {
    HeaderFacts {
        content_id: U256::from_be_bytes(content_id),
        header_digest: B256::from(header_digest),
        key_commitment: B256::from(key_commitment),
        renderers: renderers.iter().copied().map(B256::from).collect(),
    }
}

/// Reads the header of a `.ddrm` file.
pub fn read_ddrm_header(path: &std::path::Path) -> Result<HeaderFacts, ChainError> {
    let file = std::fs::File::open(path).map_err(|e| ChainError::DdrmFile {
        path: path.display().to_string(),
        why: e.to_string(),
    })?;
    let mut reader = std::io::BufReader::new(file);
    let encoded = packager_format::EncodedHeader::read_from(&mut reader).map_err(|e| {
        ChainError::DdrmFile {
            path: path.display().to_string(),
            why: format!("not a readable .ddrm header: {e}"),
        }
    })?;
    // The registry recomputes the id from the sender and this digest (`content_id_for`): only
    // the account the header names can register it.
    Ok(mint_params_from_header(
        encoded.content_id().0,
        encoded.header_digest(),
        encoded.header.key_commitment(),
        &encoded.header.renderers,
    ))
}

/// Access terms in base units of the payment token.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TermsInput {
    pub price: U256,
    pub rent_price: U256,
    pub rent_period: u32,
    pub subscription_price: U256,
    pub subscription_period: u32,
    pub max_editions: u32,
    pub resale_royalty_bps: u16,
}

impl TermsInput {
    /// The checks the contract makes, made before anything is sent.
    pub fn to_terms(&self) -> Result<Terms, ChainError> {
        let bad = |s: &str| Err(ChainError::BadTerms(s.to_owned()));
        if self.rent_period != 0 && self.rent_price.is_zero() {
            return bad("a rental period needs a non-zero rent price");
        }
        if !self.rent_price.is_zero() && self.rent_period == 0 {
            return bad("a rent price needs a rental period (--period)");
        }
        if self.subscription_period != 0 && self.subscription_price.is_zero() {
            return bad("a subscription period needs a non-zero subscription price");
        }
        if !self.subscription_price.is_zero() && self.subscription_period == 0 {
            return bad("a subscription price needs a subscription period");
        }
        if self.max_editions != 0 && self.price.is_zero() {
            return bad("an edition cap needs a price");
        }
        if self.price.is_zero() && self.rent_price.is_zero() && self.subscription_price.is_zero() {
            return bad("no way to get access: give a price, a rent price or a subscription price");
        }
        if self.resale_royalty_bps > 5_000 {
            return bad("resale royalty above 50 %");
        }
        let u128_of = |v: U256, what: &str| {
            u128::try_from(v).map_err(|_| ChainError::BadTerms(format!("{what} too large")))
        };
        Ok(Terms {
            price: u128_of(self.price, "price")?,
            rentPrice: u128_of(self.rent_price, "rent price")?,
            subscriptionPrice: u128_of(self.subscription_price, "subscription price")?,
            rentPeriod: self.rent_period,
            subscriptionPeriod: self.subscription_period,
            maxEditions: self.max_editions,
            resaleRoyaltyBps: self.resale_royalty_bps,
        })
    }
}

/// A payment token: native or an ERC-20, with how to show amounts of it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TokenInfo {
    /// `Address::ZERO` for the native token.
    pub address: Address,
    pub symbol: String,
    pub decimals: u8,
}

impl TokenInfo {
    pub fn format(&self, amount: U256) -> String {
        format!("{} {}", format_amount(amount, self.decimals), self.symbol)
    }
}

/// Reads symbol and decimals of `token` (`Address::ZERO` = native).
pub async fn token_info(chain: &Chain, token: Address) -> Result<TokenInfo, ChainError> {
    if token.is_zero() {
        return Ok(TokenInfo {
            address: token,
            symbol: native_symbol(chain.chain_id).to_owned(),
            decimals: 18,
        });
    }
    let code = chain
        .provider
        .get_code_at(token)
        .await
        .map_err(|e| ChainError::Rpc(e.to_string()))?;
    if code.is_empty() {
        return Err(ChainError::BadPaymentToken(token));
    }
    let erc20 = TestToken::new(token, &chain.provider);
    let decimals = erc20
        .decimals()
        .call()
        .await
        .map_err(|_| ChainError::BadPaymentToken(token))?;
    let symbol = erc20
        .symbol()
        .call()
        .await
        .map_err(|_| ChainError::BadPaymentToken(token))?;
    Ok(TokenInfo {
        address: token,
        symbol,
        decimals,
    })
}

pub(crate) fn rpc<E: std::fmt::Display>(e: E) -> ChainError {
    ChainError::Rpc(e.to_string())
}

/// Everything a registration needs.
#[derive(Debug, Clone)]
pub struct MintRequest {
    pub header: HeaderFacts,
    pub cid: String,
    /// `Address::ZERO` = native ELA.
    pub payment_token: Address,
    pub terms: TermsInput,
    pub split: Vec<(Address, u16)>,
}

impl MintRequest {
    /// The `ContentRegistry.register` argument it sends, its terms checked as the contract
    /// checks them.
    pub fn registration(&self) -> Result<Registration, ChainError> {
        Ok(Registration {
            contentId: self.header.content_id,
            headerDigest: self.header.header_digest,
            cid: self.cid.clone(),
            keyCommitment: self.header.key_commitment,
            renderers: self.header.renderers.clone(),
            paymentToken: self.payment_token,
            terms: self.terms.to_terms()?,
        })
    }
}

/// What a registration did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MintOutcome {
    pub tx: TxHash,
    pub block: u64,
    pub content_id: U256,
    pub token: TokenInfo,
    pub split: Vec<(Address, u16)>,
}

impl std::fmt::Display for MintOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "transaction {} (block {})", self.tx, self.block)?;
        writeln!(f, "registered content {}", content_id_hex(self.content_id))?;
        writeln!(f, "payment token: {}", self.token.symbol)?;
        for (who, shares) in &self.split {
            writeln!(
                f,
                "royalty shares: {who} holds {shares} ({}.{:02} %)",
                shares / 100,
                shares % 100
            )?;
        }
        Ok(())
    }
}

/// Registers a content and mints its royalty split.
pub async fn mint(
    chain: &Chain,
    dep: &Deployment,
    req: &MintRequest,
) -> Result<MintOutcome, ChainError> {
    dep.check_chain(chain)?;
    let me = chain.sender()?;
    let registration = req.registration()?;
    let sum: u32 = req.split.iter().map(|(_, s)| u32::from(*s)).sum();
    if sum != crate::units::TOTAL_SHARES || req.split.is_empty() {
        return Err(crate::units::InputError::SplitSum(u64::from(sum)).into());
    }
    if req.cid.trim().is_empty() {
        return Err(ChainError::BadTerms("the IPFS CID is empty".into()));
    }
    let token = token_info(chain, req.payment_token).await?;
    let registry = ContentRegistry::new(dep.contracts.content_registry, &chain.provider);
    let id = req.header.content_id;
    if content_id_for(me, req.header.header_digest) != id {
        return Err(ChainError::NotTheCreator {
            id: content_id_hex(id),
            account: me,
        });
    }
    if registry.isRegistered(id).call().await.map_err(rpc)? {
        return Err(ChainError::AlreadyRegistered(content_id_hex(id)));
    }
    let existing = registry
        .contentOfCommitment(me, req.header.key_commitment)
        .call()
        .await
        .map_err(rpc)?;
    if !existing.is_zero() {
        return Err(ChainError::CommitmentTaken {
            commitment: req.header.key_commitment,
            existing: content_id_hex(existing),
        });
    }
    let holders: Vec<Address> = req.split.iter().map(|(a, _)| *a).collect();
    let amounts: Vec<u16> = req.split.iter().map(|(_, s)| *s).collect();
    let receipt = confirm(
        "register",
        registry
            .register(registration, holders, amounts)
            .send()
            .await,
    )
    .await?;
    Ok(MintOutcome {
        tx: receipt.transaction_hash,
        block: receipt.block_number.unwrap_or_default(),
        content_id: id,
        token,
        split: req.split.clone(),
    })
}

/// Which kind of access to buy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purchase {
    /// A perpetual access token.
    Buy,
    /// `periods` rental periods.
    Rent(u32),
    /// `periods` subscription periods.
    Subscribe(u32),
}

/// What a purchase did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AccessOutcome {
    /// Approval transaction sent first for an ERC-20 payment, if any.
    pub approval_tx: Option<TxHash>,
    pub tx: TxHash,
    pub block: u64,
    pub content_id: U256,
    pub buyer: Address,
    pub paid: U256,
    pub token: TokenInfo,
    pub has_access: bool,
    /// Perpetual access tokens held after the purchase.
    pub access_tokens: U256,
    /// Timed access expiry (unix seconds), 0 if never bought.
    pub expires_at: u64,
    pub gas_used: u64,
}

impl std::fmt::Display for AccessOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(a) = self.approval_tx {
            writeln!(f, "approval transaction {a}")?;
        }
        writeln!(f, "transaction {} (block {})", self.tx, self.block)?;
        writeln!(
            f,
            "paid {} for content {}",
            self.token.format(self.paid),
            content_id_hex(self.content_id)
        )?;
        writeln!(
            f,
            "{}: access {}, {} access token(s){}",
            self.buyer,
            if self.has_access { "granted" } else { "none" },
            self.access_tokens,
            if self.expires_at != 0 {
                format!(", timed access until unix time {}", self.expires_at)
            } else {
                String::new()
            }
        )
    }
}

/// The worst terms a buyer accepts, sent with the purchase: the contract reverts if the creator
/// changed the terms beyond them before the transaction runs. `None` = the terms read just before
/// sending (what the buyer is shown).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Bounds {
    /// Highest price of one token or one period, in base units of the payment token.
    pub max_price: Option<U256>,
    /// Shortest rental or subscription period in seconds (ignored by `Purchase::Buy`).
    pub min_period: Option<u32>,
}

/// Buys, rents or subscribes for the connected account, after checking the content exists, is
/// offered that way, and the account can pay. The terms read here are sent as the purchase's
/// bounds, so terms changed while the transaction is pending make it revert instead of charging
/// more or selling less.
pub async fn purchase(
    chain: &Chain,
    dep: &Deployment,
    id: U256,
    what: Purchase,
) -> Result<AccessOutcome, ChainError> {
    purchase_within(chain, dep, id, what, Bounds::default()).await
}

/// [`purchase`] with explicit bounds: refused before sending when the current terms are already
/// outside them. The steps: read the terms, price what is asked for, check the bounds, check
/// the funds (and approve an ERC-20), check the gas, send, read the access that resulted.
pub async fn purchase_within(
    chain: &Chain,
    dep: &Deployment,
    id: U256,
    what: Purchase,
    bounds: Bounds,
) -> Result<AccessOutcome, ChainError> {
    dep.check_chain(chain)?;
    let me = chain.sender()?;
    let access = Access::new(dep.contracts.access, &chain.provider);
    let (token_addr, terms) = sale_terms(chain, dep, id).await?;
    let quote = price_of(&access, id, what, &terms).await?;
    let token = token_info(chain, token_addr).await?;
    let sent = within_bounds(id, what, &quote, bounds, &token)?;
    let available = funds_for(chain, me, token_addr, quote.price, &token).await?;
    let (value, approval_tx) = if token_addr.is_zero() {
        (quote.price, None)
    } else {
        (
            U256::ZERO,
            approve_for(chain, dep.contracts.access, me, token_addr, quote.price).await?,
        )
    };
    let call = PurchaseCall {
        access: &access,
        id,
        what,
        value,
        sent,
    };
    if token_addr.is_zero() {
        // The price is covered; check the gas on top too, so a shortfall is reported here rather
        // than as a node's rejection.
        let needed = quote.price + call.gas_cost(chain).await?;
        if available < needed {
            return Err(ChainError::InsufficientFunds {
                account: me,
                needed: format!("{} (price + gas)", format_amount(needed, token.decimals)),
                available: format_amount(available, token.decimals),
                symbol: token.symbol.clone(),
            });
        }
    }
    let receipt = confirm("purchase", call.send().await).await?;
    Ok(AccessOutcome {
        approval_tx,
        tx: receipt.transaction_hash,
        block: receipt.block_number.unwrap_or_default(),
        content_id: id,
        buyer: me,
        paid: quote.price,
        token,
        has_access: access.hasAccess(me, id).call().await.map_err(rpc)?,
        access_tokens: access.balanceOf(me, id).call().await.map_err(rpc)?,
        expires_at: access.expiresAt(me, id).call().await.map_err(rpc)?,
        gas_used: receipt.gas_used,
    })
}

/// What a purchase costs under the current terms.
struct Quote {
    /// The price of one token or one period.
    unit_price: U256,
    /// The period bought (0 for a perpetual token).
    period: u32,
    /// What the buyer pays in all.
    price: U256,
}

/// The bounds a purchase is sent with: the contract reverts beyond them.
#[derive(Clone, Copy)]
struct SentBounds {
    max_price: U256,
    min_period: u32,
}

/// The content's payment token and terms; an unregistered content is an error.
async fn sale_terms(
    chain: &Chain,
    dep: &Deployment,
    id: U256,
) -> Result<(Address, Terms), ChainError> {
    let registry = ContentRegistry::new(dep.contracts.content_registry, &chain.provider);
    if !registry.isRegistered(id).call().await.map_err(rpc)? {
        return Err(ChainError::UnknownContent(content_id_hex(id)));
    }
    let info = registry.saleInfo(id).call().await.map_err(rpc)?;
    Ok((info.paymentToken, info.terms))
}

/// Prices `what` under `t`: refused when it is not offered, sold out, or for no period.
async fn price_of<P: alloy::providers::Provider>(
    access: &Access::AccessInstance<P>,
    id: U256,
    what: Purchase,
    t: &Terms,
) -> Result<Quote, ChainError> {
    let hex_id = content_id_hex(id);
    let (unit_price, period) = match what {
        Purchase::Buy => (U256::from(t.price), 0),
        Purchase::Rent(_) => (U256::from(t.rentPrice), t.rentPeriod),
        Purchase::Subscribe(_) => (U256::from(t.subscriptionPrice), t.subscriptionPeriod),
    };
    let price = match what {
        Purchase::Buy => {
            if t.price == 0 {
                return Err(ChainError::NotForSale {
                    id: hex_id,
                    what: "sale",
                });
            }
            if t.maxEditions != 0 {
                let sold = access.editionsSold(id).call().await.map_err(rpc)?;
                if sold >= U256::from(t.maxEditions) {
                    return Err(ChainError::SoldOut {
                        id: hex_id,
                        max: t.maxEditions,
                    });
                }
            }
            U256::from(t.price)
        }
        Purchase::Rent(n) | Purchase::Subscribe(n) => {
            let kind = if matches!(what, Purchase::Rent(_)) {
                "rent"
            } else {
                "subscription"
            };
            if unit_price.is_zero() {
                return Err(ChainError::NotForSale {
                    id: hex_id,
                    what: kind,
                });
            }
            if n == 0 {
                return Err(ChainError::BadTerms("periods must be at least 1".into()));
            }
            unit_price * U256::from(n)
        }
    };
    Ok(Quote {
        unit_price,
        period,
        price,
    })
}

/// Checks the quote against the buyer's bounds (defaulting to the terms just read) and returns
/// the bounds the purchase is sent with.
fn within_bounds(
    id: U256,
    what: Purchase,
    quote: &Quote,
    bounds: Bounds,
    token: &TokenInfo,
) -> Result<SentBounds, ChainError> {
    let max_price = bounds.max_price.unwrap_or(quote.unit_price);
    if quote.unit_price > max_price {
        return Err(ChainError::AboveBound {
            id: content_id_hex(id),
            what: "price",
            current: token.format(quote.unit_price),
            bound: token.format(max_price),
        });
    }
    let min_period = match what {
        Purchase::Buy => 0,
        _ => bounds.min_period.unwrap_or(quote.period),
    };
    if quote.period < min_period {
        return Err(ChainError::AboveBound {
            id: content_id_hex(id),
            what: "period (shorter than the minimum)",
            current: format!("{} s", quote.period),
            bound: format!("{min_period} s"),
        });
    }
    Ok(SentBounds {
        max_price,
        min_period,
    })
}

/// The buyer's balance in the payment token; an error when it is below `price`.
pub(crate) async fn funds_for(
    chain: &Chain,
    me: Address,
    token_addr: Address,
    price: U256,
    token: &TokenInfo,
) -> Result<U256, ChainError> {
    let available = if token_addr.is_zero() {
        chain.balance(me).await?
    } else {
        TestToken::new(token_addr, &chain.provider)
            .balanceOf(me)
            .call()
            .await
            .map_err(rpc)?
    };
    if available < price {
        return Err(ChainError::InsufficientFunds {
            account: me,
            needed: format_amount(price, token.decimals),
            available: format_amount(available, token.decimals),
            symbol: token.symbol.clone(),
        });
    }
    Ok(available)
}

/// Approves `spender` (Access, or the Market) for `price` of an ERC-20 when its allowance is
/// short; returns the approval's transaction.
pub(crate) async fn approve_for(
    chain: &Chain,
    spender: Address,
    me: Address,
    token_addr: Address,
    price: U256,
) -> Result<Option<TxHash>, ChainError> {
    let erc20 = TestToken::new(token_addr, &chain.provider);
    let allowance = erc20.allowance(me, spender).call().await.map_err(rpc)?;
    if allowance >= price {
        return Ok(None);
    }
    let r = confirm("approve", erc20.approve(spender, price).send().await).await?;
    Ok(Some(r.transaction_hash))
}

/// One purchase call, to estimate or to send.
struct PurchaseCall<'a, P> {
    access: &'a Access::AccessInstance<P>,
    id: U256,
    what: Purchase,
    value: U256,
    sent: SentBounds,
}

impl<'a, P: alloy::providers::Provider> PurchaseCall<'a, P> {
    /// The contract call; its return value is read back afterwards rather than decoded, so the
    /// three kinds share one call type.
    fn call(&self) -> alloy::contract::RawCallBuilder<&'a P> {
        let (a, id, b) = (self.access, self.id, self.sent);
        match self.what {
            Purchase::Buy => a.buy(id, b.max_price).clear_decoder(),
            Purchase::Rent(n) => a.rent(id, n, b.max_price, b.min_period).clear_decoder(),
            Purchase::Subscribe(n) => a
                .subscribe(id, n, b.max_price, b.min_period)
                .clear_decoder(),
        }
        .value(self.value)
    }

    /// The gas it would use, at the current gas price, in wei.
    async fn gas_cost(&self, chain: &Chain) -> Result<U256, ChainError> {
        let estimate = self
            .call()
            .estimate_gas()
            .await
            .map_err(|e| ChainError::Reverted {
                what: "purchase (estimate)".into(),
                why: crate::error::describe_contract_error(&e),
            })?;
        let gas_price = chain.provider.get_gas_price().await.map_err(rpc)?;
        Ok(U256::from(estimate) * U256::from(gas_price))
    }

    async fn send(
        &self,
    ) -> Result<
        alloy::providers::PendingTransactionBuilder<alloy::network::Ethereum>,
        alloy::contract::Error,
    > {
        self.call().send().await
    }
}

/// A holder's royalty position in one content.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RoyaltyBalance {
    pub account: Address,
    pub content_id: U256,
    pub shares: U256,
    pub claimable: U256,
    pub token: TokenInfo,
}

impl std::fmt::Display for RoyaltyBalance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s: u64 = self.shares.try_into().unwrap_or(u64::MAX);
        write!(
            f,
            "{} holds {} of 10000 shares ({}.{:02} %) of content {}; claimable {}",
            self.account,
            s,
            s / 100,
            s % 100,
            content_id_hex(self.content_id),
            self.token.format(self.claimable)
        )
    }
}

/// The payment token of a registered content (to read amounts typed in whole units).
pub async fn payment_token_of(
    chain: &Chain,
    dep: &Deployment,
    id: U256,
) -> Result<TokenInfo, ChainError> {
    known_content(chain, dep, id).await
}

async fn known_content(chain: &Chain, dep: &Deployment, id: U256) -> Result<TokenInfo, ChainError> {
    let shares = RoyaltyShares::new(dep.contracts.royalty_shares, &chain.provider);
    if !shares.isRegistered(id).call().await.map_err(rpc)? {
        return Err(ChainError::UnknownContent(content_id_hex(id)));
    }
    let token = shares.paymentTokenOf(id).call().await.map_err(rpc)?;
    token_info(chain, token).await
}

pub async fn royalty_balance(
    chain: &Chain,
    dep: &Deployment,
    account: Address,
    id: U256,
) -> Result<RoyaltyBalance, ChainError> {
    dep.check_chain(chain)?;
    let token = known_content(chain, dep, id).await?;
    let shares = RoyaltyShares::new(dep.contracts.royalty_shares, &chain.provider);
    Ok(RoyaltyBalance {
        account,
        content_id: id,
        shares: shares.balanceOf(account, id).call().await.map_err(rpc)?,
        claimable: shares.claimable(account, id).call().await.map_err(rpc)?,
        token,
    })
}

/// What a share transfer did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TransferOutcome {
    pub tx: TxHash,
    pub block: u64,
    pub from: RoyaltyBalance,
    pub to: RoyaltyBalance,
    pub gas_used: u64,
}

impl std::fmt::Display for TransferOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "transaction {} (block {})", self.tx, self.block)?;
        writeln!(f, "{}", self.from)?;
        writeln!(f, "{}", self.to)
    }
}

/// Moves `amount` royalty shares of `id` from the connected account to `to`. Revenue earned before
/// the transfer stays claimable by the sender.
pub async fn royalty_transfer(
    chain: &Chain,
    dep: &Deployment,
    id: U256,
    to: Address,
    amount: U256,
) -> Result<TransferOutcome, ChainError> {
    dep.check_chain(chain)?;
    let me = chain.sender()?;
    known_content(chain, dep, id).await?;
    if to.is_zero() {
        return Err(ChainError::BadTerms(
            "cannot transfer shares to the zero address".into(),
        ));
    }
    let shares = RoyaltyShares::new(dep.contracts.royalty_shares, &chain.provider);
    let have = shares.balanceOf(me, id).call().await.map_err(rpc)?;
    if amount.is_zero() || have < amount {
        return Err(ChainError::InsufficientShares {
            account: me,
            id: content_id_hex(id),
            have,
            want: amount,
        });
    }
    let receipt = confirm(
        "transfer shares",
        shares
            .safeTransferFrom(me, to, id, amount, Bytes::new())
            .send()
            .await,
    )
    .await?;
    Ok(TransferOutcome {
        tx: receipt.transaction_hash,
        block: receipt.block_number.unwrap_or_default(),
        from: royalty_balance(chain, dep, me, id).await?,
        to: royalty_balance(chain, dep, to, id).await?,
        gas_used: receipt.gas_used,
    })
}

/// What a claim paid.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ClaimOutcome {
    pub tx: TxHash,
    pub block: u64,
    pub account: Address,
    /// Per content: amount paid and its token.
    pub paid: Vec<(U256, U256, TokenInfo)>,
    pub gas_used: u64,
}

impl std::fmt::Display for ClaimOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "transaction {} (block {})", self.tx, self.block)?;
        for (id, amount, token) in &self.paid {
            writeln!(
                f,
                "{} claimed {} from content {}",
                self.account,
                token.format(*amount),
                content_id_hex(*id)
            )?;
        }
        Ok(())
    }
}

/// Claims the connected account's revenue from one or more contents.
pub async fn royalty_claim(
    chain: &Chain,
    dep: &Deployment,
    ids: &[U256],
) -> Result<ClaimOutcome, ChainError> {
    dep.check_chain(chain)?;
    let me = chain.sender()?;
    let shares = RoyaltyShares::new(dep.contracts.royalty_shares, &chain.provider);
    let mut paid = Vec::new();
    for id in ids {
        let token = known_content(chain, dep, *id).await?;
        let amount = shares.claimable(me, *id).call().await.map_err(rpc)?;
        if !amount.is_zero() {
            paid.push((*id, amount, token));
        }
    }
    if paid.is_empty() {
        let list: Vec<String> = ids.iter().map(|i| content_id_hex(*i)).collect();
        return Err(ChainError::NothingToClaim(list.join(", ")));
    }
    let pending = if ids.len() == 1 {
        shares.claim(ids[0]).send().await
    } else {
        shares.claimMany(ids.to_vec()).send().await
    };
    let receipt = confirm("claim", pending).await?;
    // Report what the Claimed events say was paid.
    let mut reported = Vec::new();
    for log in receipt.inner.logs() {
        if let Ok(ev) = log.log_decode::<RoyaltyShares::Claimed>() {
            let ev = ev.inner.data;
            let token = paid
                .iter()
                .find(|(id, _, _)| *id == ev.contentId)
                .map(|(_, _, t)| t.clone())
                .expect("claimed content was checked above");
            reported.push((ev.contentId, ev.amount, token));
        }
    }
    Ok(ClaimOutcome {
        tx: receipt.transaction_hash,
        block: receipt.block_number.unwrap_or_default(),
        account: me,
        paid: reported,
        gas_used: receipt.gas_used,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vector `ContentRegistryTest.test_content_id_test_vector` checks against the contract
    /// (the expected id was computed once by `ContentRegistry.contentIdFor`).
    #[test]
    fn content_id_for_matches_the_registry() {
        let creator: Address = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
            .parse()
            .unwrap();
        let digest = B256::from(std::array::from_fn::<u8, 32, _>(|i| i as u8 + 1));
        let expected: U256 = "0x03bee9abc75227d3754773e555f80ef0e2d8ee045222feff4adf1dbfd424a125"
            .parse()
            .unwrap();
        assert_eq!(content_id_for(creator, digest), expected);
        // The id commits to the creator and to the digest.
        assert_ne!(content_id_for(Address::ZERO, digest), expected);
        assert_ne!(content_id_for(creator, B256::ZERO), expected);
    }
}

//! The royalty market on a real chain: a holder lists shares and a trader fills part, an offer
//! escrows and refunds, access tokens resell with their royalty, and every mistake is refused
//! before sending with an error that says what was wrong. Balances are computed by hand.

use alloy::primitives::{Address, U256};
use contracts_bindings::{
    bindings::{Access, RoyaltyShares},
    commands::{self, OrderCommand},
    market::{self, Collection, FillRequest, ListRequest, OfferRequest, OrderKind, OrderRef},
    ops::{self, Purchase},
    Chain, ChainError,
};

use crate::harness::{command_target, ela, facts, native_mint, priced, Stack};

/// Registers a content of account 1 (creator) with 9,000 shares to it and 1,000 to account 2
/// (producer), sold at 1.5 ELA with a 10 % resale royalty; returns its id.
async fn content(s: &Stack, label: u8) -> U256 {
    let terms = ops::TermsInput {
        resale_royalty_bps: 1_000,
        ..priced(ela(1, 500))
    };
    let req = native_mint(
        facts(s.addr(1), label, label ^ 0x77),
        terms,
        vec![(s.addr(1), 9_000), (s.addr(2), 1_000)],
    );
    ops::mint(&s.as_account(1).await, &s.dep, &req)
        .await
        .unwrap()
        .content_id
}

async fn shares_of(chain: &Chain, s: &Stack, who: Address, id: U256) -> U256 {
    RoyaltyShares::new(s.dep.contracts.royalty_shares, &chain.provider)
        .balanceOf(who, id)
        .call()
        .await
        .unwrap()
}

fn fill(order: OrderRef, amount: u64) -> FillRequest {
    FillRequest {
        order,
        amount,
        max_royalty_bps: None,
    }
}

#[tokio::test]
async fn a_holder_lists_shares_and_a_trader_fills_part() {
    let s = Stack::start().await;
    let id = content(&s, 0xa1).await;
    let (seller, trader) = (s.addr(1), s.addr(3));
    let (seller_chain, trader_chain) = (s.as_account(1).await, s.as_account(3).await);
    let unit = ela(0, 10); // 0.01 ELA a share

    let listed = market::list(
        &seller_chain,
        &s.dep,
        &ListRequest {
            collection: Collection::Royalty,
            content_id: id,
            amount: 1_500,
            unit_price: unit,
            max_royalty_bps: None,
        },
    )
    .await
    .unwrap();
    assert!(
        listed.approval_tx.is_some(),
        "the market was approved first"
    );
    assert_eq!(listed.order.at, OrderRef::listing(1));
    assert_eq!((listed.order.maker, listed.order.amount), (seller, 1_500));
    assert_eq!(listed.total, ela(15, 0));
    // Listing moves nothing: the seller keeps (and earns on) all 9,000 until a fill.
    assert_eq!(
        shares_of(&seller_chain, &s, seller, id).await,
        U256::from(9_000)
    );

    let before = s.balance(trader).await;
    let filled = market::fill(&trader_chain, &s.dep, &fill(OrderRef::listing(1), 400))
        .await
        .unwrap();
    assert_eq!((filled.seller, filled.buyer), (seller, trader));
    assert_eq!((filled.amount, filled.left), (400, 1_100));
    assert_eq!((filled.price, filled.royalty), (ela(4, 0), U256::ZERO));
    assert!(
        filled.approval_tx.is_none(),
        "a native payment needs no approval"
    );
    let gas = U256::from(filled.gas_used) * s.effective_price(filled.tx).await;
    assert_eq!(before - s.balance(trader).await, ela(4, 0) + gas);
    assert_eq!(
        shares_of(&trader_chain, &s, seller, id).await,
        U256::from(8_600)
    );
    assert_eq!(
        shares_of(&trader_chain, &s, trader, id).await,
        U256::from(400)
    );
    let listing = market::order(&trader_chain, &s.dep, OrderRef::listing(1))
        .await
        .unwrap();
    assert_eq!(listing.amount, 1_100);
    assert_eq!(
        market::withdrawable(&trader_chain, &s.dep, seller, Address::ZERO)
            .await
            .unwrap(),
        U256::from(400u64) * unit
    );

    // Mistakes, each refused before sending.
    let err = market::fill(&trader_chain, &s.dep, &fill(OrderRef::listing(1), 2_000))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ChainError::OrderTooSmall {
                left: 1_100,
                wanted: 2_000,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(err.to_string(), "listing 1 has 1100 left, cannot fill 2000");
    let err = market::fill(&trader_chain, &s.dep, &fill(OrderRef::listing(1), 0))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("at least 1"), "{err}");
    let err = market::fill(&trader_chain, &s.dep, &fill(OrderRef::listing(9), 1))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "there is no listing 9 on the market (never made, or cancelled)"
    );
    let err = market::cancel(&trader_chain, &s.dep, OrderRef::listing(1))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("listing 1 was made by {seller}; {trader} cannot cancel it")
    );
    let over = ListRequest {
        collection: Collection::Royalty,
        content_id: id,
        amount: 9_000,
        unit_price: unit,
        max_royalty_bps: None,
    };
    let err = market::list(&seller_chain, &s.dep, &over)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with(&format!("{seller} holds 8600 royalty shares of content 0x")),
        "{err}"
    );

    // The seller takes the proceeds; a second withdrawal has nothing to take.
    let before = s.balance(seller).await;
    let out = market::withdraw(&seller_chain, &s.dep, Address::ZERO)
        .await
        .unwrap();
    assert_eq!(out.amount, ela(4, 0));
    let gas = U256::from(out.gas_used) * s.effective_price(out.tx).await;
    assert_eq!(s.balance(seller).await + gas - before, ela(4, 0));
    let err = market::withdraw(&seller_chain, &s.dep, Address::ZERO)
        .await
        .unwrap_err();
    assert!(matches!(err, ChainError::NothingToWithdraw { .. }), "{err}");

    // Cancelled, the listing is gone.
    let cancelled = market::cancel(&seller_chain, &s.dep, OrderRef::listing(1))
        .await
        .unwrap();
    assert_eq!(cancelled.refunded, U256::ZERO);
    let err = market::fill(&trader_chain, &s.dep, &fill(OrderRef::listing(1), 1))
        .await
        .unwrap_err();
    assert!(matches!(err, ChainError::UnknownOrder(_)), "{err}");
}

#[tokio::test]
async fn an_offer_escrows_refunds_on_cancel_and_fills_from_a_holder() {
    let s = Stack::start().await;
    let id = content(&s, 0xb2).await;
    let (producer, bidder, stranger) = (s.addr(2), s.addr(4), s.addr(6));
    let bidder_chain = s.as_account(4).await;
    let offer = OfferRequest {
        collection: Collection::Royalty,
        content_id: id,
        amount: 300,
        unit_price: ela(0, 20),
    };

    // Made, then cancelled: the 6 ELA escrowed come back through a withdrawal.
    let before = s.balance(bidder).await;
    let made = market::make_offer(&bidder_chain, &s.dep, &offer)
        .await
        .unwrap();
    assert_eq!(made.order.at, OrderRef::offer(1));
    assert_eq!(made.total, ela(6, 0));
    let cancelled = market::cancel(&bidder_chain, &s.dep, OrderRef::offer(1))
        .await
        .unwrap();
    assert_eq!(cancelled.refunded, ela(6, 0));
    let withdrawn = market::withdraw(&bidder_chain, &s.dep, Address::ZERO)
        .await
        .unwrap();
    assert_eq!(withdrawn.amount, ela(6, 0));
    let mut gas = U256::ZERO;
    for (tx, used) in [
        (made.tx, made.gas_used),
        (cancelled.tx, cancelled.gas_used),
        (withdrawn.tx, withdrawn.gas_used),
    ] {
        gas += U256::from(used) * s.effective_price(tx).await;
    }
    assert_eq!(before - s.balance(bidder).await, gas, "only gas was spent");

    // A second offer: a non-holder cannot fill it; the producer (1,000 shares) sells 250.
    let made = market::make_offer(&bidder_chain, &s.dep, &offer)
        .await
        .unwrap();
    assert_eq!(made.order.at, OrderRef::offer(2));
    let err = market::fill(
        &s.as_account(6).await,
        &s.dep,
        &fill(OrderRef::offer(2), 300),
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{stranger} holds 0 royalty shares of content {}, cannot sell 300",
            contracts_bindings::units::content_id_hex(id)
        )
    );
    let producer_chain = s.as_account(2).await;
    let filled = market::fill(&producer_chain, &s.dep, &fill(OrderRef::offer(2), 250))
        .await
        .unwrap();
    assert!(
        filled.approval_tx.is_some(),
        "the seller approved the market"
    );
    assert_eq!((filled.seller, filled.buyer), (producer, bidder));
    assert_eq!(
        (filled.amount, filled.left, filled.price),
        (250, 50, ela(5, 0))
    );
    assert_eq!(
        shares_of(&producer_chain, &s, producer, id).await,
        U256::from(750)
    );
    assert_eq!(
        shares_of(&producer_chain, &s, bidder, id).await,
        U256::from(250)
    );
    assert_eq!(
        market::withdrawable(&producer_chain, &s.dep, producer, Address::ZERO)
            .await
            .unwrap(),
        ela(5, 0)
    );
    // The rest of the escrow (50 × 0.02) is refunded on cancel.
    let cancelled = market::cancel(&bidder_chain, &s.dep, OrderRef::offer(2))
        .await
        .unwrap();
    assert_eq!(cancelled.refunded, ela(1, 0));
}

#[tokio::test]
async fn access_tokens_resell_with_the_resale_royalty_within_both_bounds() {
    let s = Stack::start().await;
    let id = content(&s, 0xc3).await;
    let (alice, bob) = (s.addr(3), s.addr(4));
    let (alice_chain, bob_chain) = (s.as_account(3).await, s.as_account(4).await);
    ops::purchase(&alice_chain, &s.dep, id, Purchase::Buy)
        .await
        .unwrap();
    let listed = market::list(
        &alice_chain,
        &s.dep,
        &ListRequest {
            collection: Collection::Access,
            content_id: id,
            amount: 1,
            unit_price: ela(2, 0),
            max_royalty_bps: None,
        },
    )
    .await
    .unwrap();
    // The seller's bound defaults to the royalty she saw.
    assert_eq!(listed.order.max_royalty_bps, 1_000);
    assert_eq!(listed.order.at.kind, OrderKind::Listing);

    let low = FillRequest {
        max_royalty_bps: Some(500),
        ..fill(listed.order.at, 1)
    };
    let err = market::fill(&bob_chain, &s.dep, &low).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("the current resale royalty is 1000 bps, beyond the bound 500 bps"),
        "{err}"
    );
    let filled = market::fill(&bob_chain, &s.dep, &fill(listed.order.at, 1))
        .await
        .unwrap();
    // 10 % of 2 ELA goes to the royalty holders; the seller is owed the rest.
    assert_eq!((filled.price, filled.royalty), (ela(2, 0), ela(0, 200)));
    assert_eq!(
        market::withdrawable(&bob_chain, &s.dep, alice, Address::ZERO)
            .await
            .unwrap(),
        ela(1, 800)
    );
    let access = Access::new(s.dep.contracts.access, &bob_chain.provider);
    assert_eq!(
        access.balanceOf(bob, id).call().await.unwrap(),
        U256::from(1)
    );
    assert_eq!(
        access.balanceOf(alice, id).call().await.unwrap(),
        U256::ZERO
    );
}

/// The command functions `ddrm market` calls: prices typed in whole units, keys in key files.
#[tokio::test]
async fn market_commands_parse_prices_and_refuse_bad_input_before_connecting() {
    let s = Stack::start().await;
    let id = content(&s, 0xd4).await;
    let dir = tempfile::tempdir().unwrap();
    let deployment = dir.path().join("deployment.json");
    s.dep.save(&deployment).unwrap();
    let key_file = |index: usize| {
        let path = dir.path().join(format!("{index}.key"));
        std::fs::write(&path, hex::encode(s.keys[index].to_bytes())).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let rpc = s.anvil.endpoint();
    let seller = command_target(&rpc, &deployment, Some(key_file(1).as_str()));
    let buyer = command_target(&rpc, &deployment, Some(key_file(3).as_str()));
    let list = OrderCommand {
        content_id: contracts_bindings::units::content_id_hex(id),
        collection: Collection::Royalty,
        amount: 1_500,
        unit_price: "0.01".into(),
        max_royalty_bps: None,
    };
    let listed = commands::market_list(&seller, &list).await.unwrap();
    assert_eq!(listed.order.unit_price, ela(0, 10));
    let filled = commands::market_fill(&buyer, &fill(listed.order.at, 400))
        .await
        .unwrap();
    assert_eq!(filled.left, 1_100);
    let out = commands::market_withdraw(&seller, None).await.unwrap();
    assert_eq!(out.amount, ela(4, 0));

    // Refused before any connection: a keyless target would fail otherwise.
    let nobody = command_target("http://127.0.0.1:1", &deployment, None);
    for (bad, why) in [
        (
            OrderCommand {
                amount: 0,
                ..list.clone()
            },
            "the amount must be at least 1",
        ),
        (
            OrderCommand {
                unit_price: "0".into(),
                ..list.clone()
            },
            "the unit price must be above 0",
        ),
        (
            OrderCommand {
                unit_price: "a lot".into(),
                ..list.clone()
            },
            "is not a decimal number",
        ),
    ] {
        let err = commands::market_list(&nobody, &bad).await.unwrap_err();
        assert!(err.to_string().contains(why), "{err}");
    }
    let offered = commands::market_offer(&buyer, &list).await.unwrap();
    assert_eq!(
        offered.total,
        ela(15, 0),
        "an offer without a royalty bound escrows"
    );
    let bounded = OrderCommand {
        max_royalty_bps: Some(100),
        ..list
    };
    let err = commands::market_offer(&buyer, &bounded).await.unwrap_err();
    assert!(err.to_string().contains("names no royalty bound"), "{err}");
}

//! Bad input is refused before any transaction is sent (the sender's nonce does not move).

use alloy::primitives::U256;
use contracts_bindings::{
    bindings::{Access, ContentRegistry},
    chain::confirm,
    ops::{self, Bounds, HeaderFacts, Purchase},
    units::{self, parse_split, InputError},
    Chain, ChainError, Deployment,
};

use crate::harness::{assert_reverts, ela, facts, native_mint, priced, Stack};

#[tokio::test]
async fn bad_input_fails_before_sending() {
    let s = Stack::start().await;
    let (creator, producer) = (s.addr(1), s.addr(2));
    let chain = s.as_account(1).await;
    let nonce = s.nonce(creator).await;

    // A split not summing to 10,000.
    let split = format!("{creator}:8000,{producer}:1000");
    assert_eq!(parse_split(&split), Err(InputError::SplitSum(9_000)));
    let mut req = native_mint(
        facts(creator, 7, 8),
        priced(ela(1, 0)),
        vec![(creator, 8_000), (producer, 1_000)],
    );
    let err = ops::mint(&chain, &s.dep, &req).await.unwrap_err();
    assert!(
        matches!(err, ChainError::Input(InputError::SplitSum(9_000))),
        "{err}"
    );

    // A zero price with rental periods.
    req.split = vec![(creator, 10_000)];
    req.terms.rent_period = 86_400;
    let err = ops::mint(&chain, &s.dep, &req).await.unwrap_err();
    assert!(matches!(err, ChainError::BadTerms(_)), "{err}");
    assert!(err.to_string().contains("rent price"), "{err}");

    // An unknown content id.
    let err = ops::purchase(&chain, &s.dep, U256::from(12_345u64), Purchase::Buy)
        .await
        .unwrap_err();
    assert!(matches!(err, ChainError::UnknownContent(_)), "{err}");
    let err = ops::royalty_claim(&chain, &s.dep, &[U256::from(1u64)])
        .await
        .unwrap_err();
    assert!(matches!(err, ChainError::UnknownContent(_)), "{err}");

    assert_eq!(s.nonce(creator).await, nonce, "nothing was sent");

    // Register for real, then: insufficient funds, nothing to claim, too many shares.
    req.terms.rent_period = 0;
    req.terms.price = ela(1_000_000, 0); // more than any anvil account holds
    ops::mint(&chain, &s.dep, &req).await.unwrap();
    let id = req.header.content_id;
    let buyer = s.as_account(3).await;
    let buyer_nonce = s.nonce(s.addr(3)).await;
    let err = ops::purchase(&buyer, &s.dep, id, Purchase::Buy)
        .await
        .unwrap_err();
    assert!(matches!(err, ChainError::InsufficientFunds { .. }), "{err}");
    assert!(err.to_string().contains("1000000 ELA needed"), "{err}");
    let err = ops::purchase(&buyer, &s.dep, id, Purchase::Rent(1))
        .await
        .unwrap_err();
    assert!(matches!(err, ChainError::NotForSale { .. }), "{err}");
    let err = ops::royalty_claim(&buyer, &s.dep, &[id]).await.unwrap_err();
    assert!(matches!(err, ChainError::NothingToClaim(_)), "{err}");
    let err = ops::royalty_transfer(&buyer, &s.dep, id, creator, U256::from(1u64))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ChainError::InsufficientShares { .. }),
        "{err}"
    );
    assert_eq!(s.nonce(s.addr(3)).await, buyer_nonce, "nothing was sent");

    // Enough for the price but not for the gas on top.
    let mut cheap = req.clone();
    cheap.header = facts(creator, 9, 10);
    cheap.terms.price = ela(1, 0);
    ops::mint(&chain, &s.dep, &cheap).await.unwrap();
    let poor = s.addr(6);
    s.set_balance(poor, ela(1, 0)).await;
    let poor_chain = s.as_account(6).await;
    let err = ops::purchase(&poor_chain, &s.dep, cheap.header.content_id, Purchase::Buy)
        .await
        .unwrap_err();
    assert!(matches!(err, ChainError::InsufficientFunds { .. }), "{err}");
    assert!(err.to_string().contains("(price + gas)"), "{err}");
    assert_eq!(s.nonce(poor).await, 0, "nothing was sent");

    // Registering the same id twice.
    let nonce = s.nonce(creator).await;
    let err = ops::mint(&chain, &s.dep, &req).await.unwrap_err();
    assert!(matches!(err, ChainError::AlreadyRegistered(_)), "{err}");

    // Another content of the same creator with a key commitment already registered (an alias).
    let mut alias = req.clone();
    alias.header = HeaderFacts {
        key_commitment: req.header.key_commitment,
        ..facts(creator, 11, 0)
    };
    let err = ops::mint(&chain, &s.dep, &alias).await.unwrap_err();
    assert!(matches!(err, ChainError::CommitmentTaken { .. }), "{err}");
    assert!(
        err.to_string().contains(&units::content_id_hex(id)),
        "names the content holding it: {err}"
    );

    // Someone else's content (its id derived from the creator's address): refused for producer.
    let mut theirs = req.clone();
    theirs.header = facts(creator, 12, 13);
    let producer_chain = s.as_account(2).await;
    let producer_nonce = s.nonce(producer).await;
    let err = ops::mint(&producer_chain, &s.dep, &theirs)
        .await
        .unwrap_err();
    assert!(matches!(err, ChainError::NotTheCreator { .. }), "{err}");
    assert_eq!(s.nonce(creator).await, nonce, "nothing was sent");
    assert_eq!(s.nonce(producer).await, producer_nonce, "nothing was sent");
}

/// The registry itself refuses what the preflight checks: a front-runner resending the creator's
/// registration (same calldata, another sender) reverts with `NotTheCreator`, and the creator's
/// own registration of that content then goes through.
#[tokio::test]
async fn a_copied_registration_reverts_on_chain_for_another_sender() {
    let s = Stack::start().await;
    let creator = s.addr(1);
    let req = native_mint(
        facts(creator, 0x21, 0x22),
        priced(ela(1, 0)),
        vec![(creator, 10_000)],
    );
    let registration = req.registration().unwrap();
    let thief = s.as_account(4).await;
    let as_thief = ContentRegistry::new(s.dep.contracts.content_registry, &thief.provider);
    assert_reverts(
        as_thief
            .register(registration.clone(), vec![s.addr(4)], vec![10_000])
            .call()
            .await,
        "NotTheCreator",
        "a copied registration sent by another account",
    );
    let owner = s.as_account(1).await;
    let as_creator = ContentRegistry::new(s.dep.contracts.content_registry, &owner.provider);
    confirm(
        "register",
        as_creator
            .register(registration, vec![creator], vec![10_000])
            .send()
            .await,
    )
    .await
    .unwrap();
    assert_eq!(
        as_creator
            .creatorOf(req.header.content_id)
            .call()
            .await
            .unwrap(),
        creator
    );
}

/// Finding 6 on the Rust side: a purchase carries the terms the buyer saw. Bounds tighter than
/// today's terms are refused before sending; terms changed after the buyer read them make the
/// transaction revert on chain; unchanged terms sell.
#[tokio::test]
async fn purchases_carry_the_terms_the_buyer_saw() {
    let s = Stack::start().await;
    let creator = s.addr(1);
    let chain = s.as_account(1).await;
    let mut req = native_mint(
        facts(creator, 0x31, 0x32),
        priced(ela(1, 0)),
        vec![(creator, 10_000)],
    );
    req.terms.rent_price = ela(0, 100);
    req.terms.rent_period = 86_400;
    ops::mint(&chain, &s.dep, &req).await.unwrap();
    let id = req.header.content_id;
    let alice = s.as_account(3).await;
    let nonce = s.nonce(s.addr(3)).await;

    let below = Bounds {
        max_price: Some(ela(0, 999)),
        min_period: None,
    };
    let refused =
        |what, bounds, bound| assert_out_of_bounds(&alice, &s.dep, id, what, bounds, bound);
    refused(Purchase::Buy, below, PRICE).await;
    let longer = Bounds {
        max_price: None,
        min_period: Some(2 * 86_400),
    };
    refused(Purchase::Rent(1), longer, PERIOD).await;
    assert_eq!(s.nonce(s.addr(3)).await, nonce, "nothing was sent");

    // The creator shrinks the rental period to 1 s after alice read the terms. Her rent, sent
    // with the period she saw, reverts on chain; through ops it is refused before sending.
    let registry = ContentRegistry::new(s.dep.contracts.content_registry, &chain.provider);
    let mut shrunk = req.terms.clone();
    shrunk.rent_period = 1;
    confirm(
        "setTerms",
        registry
            .setTerms(id, shrunk.to_terms().unwrap())
            .send()
            .await,
    )
    .await
    .unwrap();
    let access = Access::new(s.dep.contracts.access, &alice.provider);
    assert_reverts(
        access
            .rent(id, 1, ela(0, 100), 86_400)
            .value(ela(0, 100))
            .call()
            .await,
        "PeriodBelowMin",
        "a rent bounded by the old period",
    );
    let saw = Bounds {
        max_price: Some(ela(0, 100)),
        min_period: Some(86_400),
    };
    refused(Purchase::Rent(1), saw, PERIOD).await;
    assert_eq!(s.nonce(s.addr(3)).await, nonce, "nothing was sent");

    // Unchanged price, within the bound: sold.
    let exact = Bounds {
        max_price: Some(ela(1, 0)),
        min_period: None,
    };
    let out = ops::purchase_within(&alice, &s.dep, id, Purchase::Buy, exact)
        .await
        .unwrap();
    assert!(out.has_access);
    assert_eq!(out.paid, ela(1, 0));
}

/// The bounds `ChainError::AboveBound` names.
const PRICE: &str = "price";
const PERIOD: &str = "period (shorter than the minimum)";

/// `buyer`'s purchase of `id` within `bounds` is refused before sending: today's terms are
/// already outside the bound `bound`.
async fn assert_out_of_bounds(
    buyer: &Chain,
    dep: &Deployment,
    id: U256,
    what: Purchase,
    bounds: Bounds,
    bound: &str,
) {
    let err = ops::purchase_within(buyer, dep, id, what, bounds)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ChainError::AboveBound { what, .. } if *what == bound),
        "{err}"
    );
}

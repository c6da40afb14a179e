//! Bad input is refused before any transaction is sent (the sender's nonce does not move).

use alloy::primitives::{Address, U256};
use contracts_bindings::{
    ops::{self, mint_params_from_header, MintRequest, Purchase, TermsInput},
    units::{parse_split, InputError},
    ChainError,
};

use crate::harness::{ela, Stack};

#[tokio::test]
async fn bad_input_fails_before_sending() {
    let s = Stack::start().await;
    let (creator, producer) = (s.addr(1), s.addr(2));
    let chain = s.as_account(1).await;
    let nonce = s.nonce(creator).await;

    // A split not summing to 10,000.
    let split = format!("{creator}:8000,{producer}:1000");
    assert_eq!(parse_split(&split), Err(InputError::SplitSum(9_000)));
    let mut req = MintRequest {
        header: mint_params_from_header([7; 32], [8; 32], &[]),
        cid: "bafk".into(),
        payment_token: Address::ZERO,
        terms: TermsInput {
            price: ela(1, 0),
            ..Default::default()
        },
        split: vec![(creator, 8_000), (producer, 1_000)],
    };
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
    cheap.header = mint_params_from_header([9; 32], [8; 32], &[]);
    cheap.terms.price = ela(1, 0);
    ops::mint(&chain, &s.dep, &cheap).await.unwrap();
    let poor = s.addr(6);
    let c = contracts_bindings::Chain::connect(&s.anvil.endpoint(), None)
        .await
        .unwrap();
    let _: serde_json::Value = alloy::providers::Provider::raw_request(
        &c.provider,
        "anvil_setBalance".into(),
        (poor, ela(1, 0)),
    )
    .await
    .unwrap();
    let poor_chain = s.as_account(6).await;
    let err = ops::purchase(&poor_chain, &s.dep, cheap.header.content_id, Purchase::Buy)
        .await
        .unwrap_err();
    assert!(matches!(err, ChainError::InsufficientFunds { .. }), "{err}");
    assert!(err.to_string().contains("(price + gas)"), "{err}");
    assert_eq!(s.nonce(poor).await, 0, "nothing was sent");

    // Registering the same id twice.
    let err = ops::mint(&chain, &s.dep, &req).await.unwrap_err();
    assert!(matches!(err, ChainError::AlreadyRegistered(_)), "{err}");
}

//! The whole money path on a real chain, with balances computed by hand.

use alloy::primitives::{Address, B256, U256};
use contracts_bindings::{
    bindings::{Access, CapsuleRegistry, ContentRegistry, RoyaltyShares},
    chain::confirm,
    ops::{self, MintRequest, Purchase, TermsInput},
    units::parse_amount,
};

use crate::harness::{ela, facts, native_mint, Stack};

const DAY: u32 = 86_400;

fn request(id_byte: u8, creator: Address, producer: Address) -> MintRequest {
    let mut header = facts(creator, id_byte, id_byte ^ 0x5a);
    header.renderers = vec![B256::repeat_byte(0xc1)];
    let terms = TermsInput {
        price: parse_amount("1.5", 18).unwrap(),
        rent_price: parse_amount("0.1", 18).unwrap(),
        rent_period: DAY,
        subscription_price: U256::ZERO,
        subscription_period: 0,
        max_editions: 0,
        resale_royalty_bps: 1_000,
    };
    native_mint(header, terms, vec![(creator, 8_000), (producer, 2_000)])
}

#[tokio::test]
async fn deploy_mint_buy_rent_trade_claim() {
    let s = Stack::start().await;
    let (creator, producer, alice, bob, treasury) =
        (s.addr(1), s.addr(2), s.addr(3), s.addr(4), s.addr(5));

    // Deployment file round trip and wiring.
    let file = tempfile::NamedTempFile::new().unwrap();
    s.dep.save(file.path()).unwrap();
    assert_eq!(
        contracts_bindings::Deployment::load(file.path()).unwrap(),
        s.dep
    );
    assert_eq!(s.dep.chain_id, 20);

    // Mint: 80/20 split, 1.5 ELA to buy, 0.1 ELA per day to rent.
    let creator_chain = s.as_account(1).await;
    let req = request(0xd1, creator, producer);
    let id = req.header.content_id;
    let minted = ops::mint(&creator_chain, &s.dep, &req).await.unwrap();
    assert_eq!(minted.content_id, id);
    let registry = ContentRegistry::new(s.dep.contracts.content_registry, &creator_chain.provider);
    assert_eq!(
        registry.keyCommitment(id).call().await.unwrap(),
        req.header.key_commitment
    );
    assert_eq!(
        registry
            .contentOfCommitment(creator, req.header.key_commitment)
            .call()
            .await
            .unwrap(),
        id,
        "the commitment names this content for its creator"
    );
    // The renderer is listed but not yet a registered capsule: not allowed until governance
    // registers it.
    assert!(!registry
        .isRendererAllowed(id, B256::from([0xc1; 32]))
        .call()
        .await
        .unwrap());

    // Alice buys: 1.5 ELA. Fee 2.5 % = 0.0375; holders get 1.4625: creator 1.17, producer 0.2925.
    let alice_chain = s.as_account(3).await;
    let before = s.balance(alice).await;
    let bought = ops::purchase(&alice_chain, &s.dep, id, Purchase::Buy)
        .await
        .unwrap();
    assert!(bought.has_access);
    assert_eq!(bought.access_tokens, U256::from(1));
    let gas_paid = U256::from(bought.gas_used) * s.effective_price(bought.tx).await;
    assert_eq!(before - s.balance(alice).await, ela(1, 500) + gas_paid);
    let bal = ops::royalty_balance(&creator_chain, &s.dep, creator, id)
        .await
        .unwrap();
    assert_eq!(bal.shares, U256::from(8_000));
    assert_eq!(bal.claimable, ela(1, 170));
    let bal = ops::royalty_balance(&creator_chain, &s.dep, producer, id)
        .await
        .unwrap();
    assert_eq!(
        bal.claimable,
        ela(0, 0) + U256::from(292_500_000_000_000_000u128)
    );

    // Bob rents for 2 days: 0.2 ELA; access ends exactly 2 days later.
    let bob_chain = s.as_account(4).await;
    let rented = ops::purchase(&bob_chain, &s.dep, id, Purchase::Rent(2))
        .await
        .unwrap();
    assert!(rented.has_access);
    assert_eq!(rented.access_tokens, U256::ZERO);
    let access = Access::new(s.dep.contracts.access, &bob_chain.provider);
    s.travel(u64::from(2 * DAY) - 60).await;
    assert!(
        access.hasAccess(bob, id).call().await.unwrap(),
        "a minute left"
    );
    s.travel(120).await;
    assert!(!access.hasAccess(bob, id).call().await.unwrap(), "expired");
    assert!(
        access.hasAccess(alice, id).call().await.unwrap(),
        "perpetual stays"
    );

    // Revenue so far: 1.7 ELA; holders got 97.5 % = 1.6575: creator 1.326, producer 0.3315.
    // The creator sells 4,000 shares to Alice; then Bob buys (1.5 ELA -> 1.4625 to holders).
    let traded = ops::royalty_transfer(&creator_chain, &s.dep, id, alice, U256::from(4_000))
        .await
        .unwrap();
    assert_eq!(traded.from.shares, U256::from(4_000));
    assert_eq!(
        traded.from.claimable,
        ela(1, 326),
        "earned before the trade stays"
    );
    assert_eq!(traded.to.claimable, U256::ZERO);
    ops::purchase(&bob_chain, &s.dep, id, Purchase::Buy)
        .await
        .unwrap();
    // After: creator 1.326 + 40 % of 1.4625 = 1.911; alice 0.585; producer 0.3315 + 0.2925 = 0.624.
    let claimable = |who| {
        let c = creator_chain.clone();
        let dep = s.dep.clone();
        async move {
            ops::royalty_balance(&c, &dep, who, id)
                .await
                .unwrap()
                .claimable
        }
    };
    assert_eq!(claimable(creator).await, ela(1, 911));
    assert_eq!(claimable(alice).await, ela(0, 585));
    assert_eq!(claimable(producer).await, ela(0, 624));

    // Claims pay exactly that (minus gas). (One connection per account: a connection caches
    // its account's nonce.)
    let producer_chain = s.as_account(2).await;
    for (who, chain, expected) in [
        (creator, &creator_chain, ela(1, 911)),
        (alice, &alice_chain, ela(0, 585)),
        (producer, &producer_chain, ela(0, 624)),
    ] {
        let before = s.balance(who).await;
        let out = ops::royalty_claim(chain, &s.dep, &[id]).await.unwrap();
        assert_eq!(out.paid.len(), 1);
        assert_eq!(out.paid[0].1, expected);
        let gas = U256::from(out.gas_used) * s.effective_price(out.tx).await;
        assert_eq!(s.balance(who).await + gas - before, expected);
        assert_eq!(claimable(who).await, U256::ZERO);
    }

    // Fees: 2.5 % of 3.2 ELA = 0.08 ELA, withdrawn to the treasury; the contract ends empty.
    let shares = RoyaltyShares::new(s.dep.contracts.royalty_shares, &creator_chain.provider);
    let before = s.balance(treasury).await;
    confirm(
        "withdrawFees",
        shares.withdrawFees(Address::ZERO).send().await,
    )
    .await
    .unwrap();
    assert_eq!(s.balance(treasury).await - before, ela(0, 80));
    assert_eq!(s.balance(s.dep.contracts.royalty_shares).await, U256::ZERO);
}

#[tokio::test]
async fn erc20_content_and_deploy_time_registrations() {
    let s = Stack::start().await;
    let (creator, producer, alice) = (s.addr(1), s.addr(2), s.addr(3));
    let token = s.dep.contracts.test_token.expect("test token deployed");
    let creator_chain = s.as_account(1).await;
    let mut req = request(0xe2, creator, producer);
    req.payment_token = token;
    req.terms.price = U256::from(5_000_000u64); // 5 TUSD (6 decimals)
    req.terms.rent_price = U256::from(1_000_000u64);
    let id = req.header.content_id;
    ops::mint(&creator_chain, &s.dep, &req).await.unwrap();

    let alice_chain = s.as_account(3).await;
    let tusd = contracts_bindings::bindings::TestToken::new(token, &alice_chain.provider);
    confirm(
        "mint TUSD",
        tusd.mint(alice, U256::from(20_000_000u64)).send().await,
    )
    .await
    .unwrap();
    let out = ops::purchase(&alice_chain, &s.dep, id, Purchase::Buy)
        .await
        .unwrap();
    assert!(out.approval_tx.is_some(), "approved the token first");
    assert_eq!(out.token.symbol, "TUSD");
    assert_eq!(
        tusd.balanceOf(alice).call().await.unwrap(),
        U256::from(15_000_000u64)
    );
    // 5,000,000 - 2.5 % = 4,875,000 to holders = 487.5 per share: 487 per share, 5,000 dust to
    // the creator. Producer: 2,000 x 487 = 974,000.
    let p = ops::royalty_balance(&alice_chain, &s.dep, producer, id)
        .await
        .unwrap();
    assert_eq!(p.claimable, U256::from(974_000u64));
    let c = ops::royalty_balance(&alice_chain, &s.dep, creator, id)
        .await
        .unwrap();
    assert_eq!(c.claimable, U256::from(8_000u64 * 487 + 5_000));

    // A deploy can approve a runtime key and register a capsule in one step.
    let deployer = s.as_account(0).await;
    let runtime = s.addr(7);
    let measurement = alloy::primitives::B256::from([0xc1; 32]);
    let dep2 = contracts_bindings::chain::deploy(
        &deployer,
        &contracts_bindings::DeployOptions {
            fee_bps: 250,
            approve_runtimes: vec![runtime],
            register_capsules: vec![(measurement, 3)],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let capsules = CapsuleRegistry::new(dep2.contracts.capsule_registry, &deployer.provider);
    assert!(capsules.isRuntimeApproved(runtime).call().await.unwrap());
    assert!(!capsules.isRuntimeApproved(alice).call().await.unwrap());
    assert!(capsules.isCapsuleActive(measurement).call().await.unwrap());
    assert_eq!(
        capsules.capsule(measurement).call().await.unwrap().version,
        3
    );
}

#[tokio::test]
async fn subscription_renews_before_expiry_and_restarts_after() {
    let s = Stack::start().await;
    let (creator, producer) = (s.addr(1), s.addr(2));
    let creator_chain = s.as_account(1).await;
    let mut req = request(0xf3, creator, producer);
    req.terms.subscription_price = parse_amount("0.05", 18).unwrap();
    req.terms.subscription_period = 30 * DAY;
    let id = req.header.content_id;
    ops::mint(&creator_chain, &s.dep, &req).await.unwrap();

    let bob = s.as_account(4).await;
    let first = ops::purchase(&bob, &s.dep, id, Purchase::Subscribe(1))
        .await
        .unwrap();
    assert_eq!(first.paid, ela(0, 50));
    s.travel(u64::from(10 * DAY)).await;
    let renewed = ops::purchase(&bob, &s.dep, id, Purchase::Subscribe(2))
        .await
        .unwrap();
    assert_eq!(renewed.paid, ela(0, 100));
    assert_eq!(
        renewed.expires_at,
        first.expires_at + u64::from(60 * DAY),
        "renewal extends the old expiry"
    );
    s.travel(renewed.expires_at - first.expires_at + u64::from(40 * DAY))
        .await;
    let access = Access::new(s.dep.contracts.access, &bob.provider);
    assert!(
        !access.hasAccess(s.addr(4), id).call().await.unwrap(),
        "lapsed"
    );
    let restarted = ops::purchase(&bob, &s.dep, id, Purchase::Subscribe(1))
        .await
        .unwrap();
    assert!(restarted.has_access);
    assert!(
        restarted.expires_at > renewed.expires_at + u64::from(30 * DAY),
        "restarted from now, not from the lapsed expiry"
    );
}

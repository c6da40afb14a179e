//! Gas of the hot paths as real transactions on a real anvil (Paris EVM, chain id 20): receipts'
//! `gasUsed`, including the 21,000 base cost and calldata.
//!
//! Run: `cargo run -p contracts-bindings --example gas --release`
//!
//! It registers content A with 1 royalty holder and content B whose shares are spread over 1,000
//! holders (by 999 share transfers), then measures a purchase of each, a claim and share transfers.

use alloy::{
    primitives::{Address, B256, U256},
    providers::Provider,
    signers::local::PrivateKeySigner,
};
use contracts_bindings::{
    bindings::{Access, RoyaltyShares},
    chain,
    ops::{self, HeaderFacts, MintRequest, TermsInput},
    testing::spawn_anvil,
    Chain, DeployOptions,
};

const HOLDERS: usize = 1_000;

async fn gas_of(
    pending: Result<
        alloy::providers::PendingTransactionBuilder<alloy::network::Ethereum>,
        alloy::contract::Error,
    >,
) -> u64 {
    let receipt = pending.expect("send").get_receipt().await.expect("receipt");
    assert!(receipt.status(), "transaction reverted");
    receipt.gas_used
}

fn request(creator: Address, id: u8, split: Vec<(Address, u16)>) -> MintRequest {
    MintRequest {
        header: HeaderFacts::for_creator(
            creator,
            B256::repeat_byte(id),
            B256::repeat_byte(id ^ 0x5a),
            vec![],
        ),
        cid: "bafkreigas".into(),
        payment_token: Address::ZERO,
        terms: TermsInput {
            price: U256::from(10u128.pow(18)),
            ..Default::default()
        },
        split,
    }
}

#[tokio::main]
async fn main() {
    let anvil = spawn_anvil();
    let key = |i: usize| PrivateKeySigner::from(anvil.keys()[i].clone());
    let connect = |i: usize| Chain::connect_owned(anvil.endpoint(), key(i));
    let deployer = connect(0).await;
    let dep = chain::deploy(
        &deployer,
        &DeployOptions {
            fee_bps: 250,
            pool_bps: 100,
            reward_pool: Some(key(9).address()),
            ..Default::default()
        },
    )
    .await
    .expect("deploy");
    let creator = connect(1).await;
    let creator_addr = key(1).address();
    let request_a = request(creator_addr, 0xa1, vec![(creator_addr, 10_000)]);
    let request_b = request(creator_addr, 0xb2, vec![(creator_addr, 10_000)]);
    let minted_a = ops::mint(&creator, &dep, &request_a).await.expect("mint A");
    let register_one = creator
        .provider
        .get_transaction_receipt(minted_a.tx)
        .await
        .expect("receipt")
        .expect("mined")
        .gas_used;
    ops::mint(&creator, &dep, &request_b).await.expect("mint B");
    let id_a = request_a.header.content_id;
    let id_b = request_b.header.content_id;

    // Spread B over 1,000 holders: the creator keeps 10,000 - 999 shares, 999 others get 1 each.
    let shares = RoyaltyShares::new(dep.contracts.royalty_shares, &creator.provider);
    let mut transfer_new_holder = 0;
    let mut last = None;
    for i in 1..HOLDERS {
        let to = Address::from_word(alloy::primitives::keccak256(i.to_be_bytes()));
        let pending = shares
            .safeTransferFrom(creator_addr, to, id_b, U256::from(1), Default::default())
            .send()
            .await;
        if i == 1 {
            transfer_new_holder = gas_of(pending).await;
        } else {
            // anvil mines each transaction as it arrives; only the last receipt is awaited.
            last = Some(pending.expect("send"));
        }
    }
    let last = last
        .expect("transfers sent")
        .get_receipt()
        .await
        .expect("receipt");
    assert!(last.status());
    let holders_b = 1 + (1..HOLDERS).count();
    let holder_count_check = shares
        .balanceOf(creator_addr, id_b)
        .call()
        .await
        .expect("balance");
    assert_eq!(holder_count_check, U256::from(10_000 - (HOLDERS - 1)));

    // The first sale of each content (registration initialised its edition counter and revenue
    // per share, so it costs what later sales do); the measured sale is the second, by a buyer
    // who has never bought it.
    let access_by = |c: &Chain| Access::new(dep.contracts.access, c.provider.clone());
    let price = U256::from(10u128.pow(18));
    let warm = connect(2).await;
    let mut first_sale = 0;
    for id in [id_a, id_b] {
        first_sale = gas_of(access_by(&warm).buy(id, price).value(price).send().await).await;
    }
    let buyer = connect(3).await;
    let buy_one = gas_of(access_by(&buyer).buy(id_a, price).value(price).send().await).await;
    let buy_many = gas_of(access_by(&buyer).buy(id_b, price).value(price).send().await).await;
    let rent_first = {
        let t = TermsInput {
            price,
            rent_price: U256::from(10u128.pow(17)),
            rent_period: 86_400,
            ..Default::default()
        };
        let registry = contracts_bindings::bindings::ContentRegistry::new(
            dep.contracts.content_registry,
            &creator.provider,
        );
        gas_of(registry.setTerms(id_a, t.to_terms().unwrap()).send().await).await;
        gas_of(
            access_by(&buyer)
                .rent(id_a, 1, U256::from(10u128.pow(17)), 86_400)
                .value(U256::from(10u128.pow(17)))
                .send()
                .await,
        )
        .await
    };

    // Claim by a holder with accrued revenue (one of B's 1-share holders would need a key; the
    // creator of A claims, then again after another sale so the claim is a steady-state one).
    let claim_first = gas_of(shares.claim(id_a).send().await).await;
    gas_of(access_by(&warm).buy(id_a, price).value(price).send().await).await;
    let claim_again = gas_of(shares.claim(id_a).send().await).await;

    // Share transfers: to an address that never held shares, and to an existing holder.
    let existing = Address::from_word(alloy::primitives::keccak256(1usize.to_be_bytes()));
    let transfer_existing = gas_of(
        shares
            .safeTransferFrom(
                creator_addr,
                existing,
                id_b,
                U256::from(1),
                Default::default(),
            )
            .send()
            .await,
    )
    .await;
    let fresh = Address::from_word(alloy::primitives::keccak256(b"fresh holder"));
    let transfer_fresh = gas_of(
        shares
            .safeTransferFrom(creator_addr, fresh, id_a, U256::from(1), Default::default())
            .send()
            .await,
    )
    .await;

    let diff = (buy_many as f64 - buy_one as f64) / buy_one as f64 * 100.0;
    println!("gas (receipt gasUsed, Paris EVM on anvil, chain id 20)");
    let rows = [
        ("buy, 1 royalty holder".to_owned(), buy_one.to_string()),
        (
            format!("buy, {holders_b} royalty holders"),
            format!("{buy_many} ({diff:+.2} % vs 1 holder)"),
        ),
        (
            "buy, first sale of a content".into(),
            first_sale.to_string(),
        ),
        (
            "register, 1 royalty holder".into(),
            register_one.to_string(),
        ),
        (
            "rent, first rental of the account".into(),
            rent_first.to_string(),
        ),
        (
            "claim, first claim of the holder".into(),
            claim_first.to_string(),
        ),
        (
            "claim, again after another sale".into(),
            claim_again.to_string(),
        ),
        (
            "share transfer to a new holder".into(),
            format!("{transfer_new_holder} (first), {transfer_fresh} (later)"),
        ),
        (
            "share transfer to an existing holder".into(),
            transfer_existing.to_string(),
        ),
    ];
    for (what, gas) in rows {
        println!("{what:<38} {gas}");
    }
}

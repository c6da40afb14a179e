//! `ddrm mint FILE.ddrm` on a real .ddrm written with packager-format, then buy, royalty balance,
//! transfer and claim through the CLI functions, with the key in a key file.

use alloy::primitives::{Address, B256, U256};
use clap::Parser;
use contracts_bindings::{
    bindings::{Access, ContentRegistry, RoyaltyShares},
    cli::{self, ChainCommand, RoyaltyCommand},
    ops::read_ddrm_header,
    testing::spawn_anvil,
    units::content_id_hex,
    Chain, Deployment,
};
use packager_format::{
    ContentKey, ContentKind, Header, KeyEnvelope, Metadata, SegmentSealer, Track,
    KEY_SCHEME_LABELLED_BLS12_381, SEGMENT_KEYFRAME,
};
use sha2::{Digest, Sha256};

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(clap::Subcommand)]
enum Cmd {
    #[command(subcommand)]
    Chain(ChainCommand),
    Mint(cli::MintArgs),
    Buy(cli::BuyArgs),
    Rent(cli::TimedAccessArgs),
    #[command(subcommand)]
    Royalty(RoyaltyCommand),
}

fn parse(args: &[&str]) -> Cmd {
    Cli::try_parse_from(std::iter::once("ddrm").chain(args.iter().copied()))
        .unwrap_or_else(|e| panic!("{e}"))
        .cmd
}

const KEY_CIPHERTEXT: &[u8] = b"threshold ciphertext of the content key";
const RENDERER: [u8; 32] = [0xAB; 32];

/// A one-segment data .ddrm naming `creator` as the account that registers it.
fn write_ddrm(path: &std::path::Path, creator: Address) {
    let key = ContentKey::from_bytes([9; 32]);
    let mut sealer = SegmentSealer::new(&key, [3; 32]);
    let mut segment = b"hello, royalty holders".to_vec();
    let len = segment.len() as u32;
    sealer
        .seal_next(0, 0, len, SEGMENT_KEYFRAME, &mut segment)
        .unwrap();
    let header = Header {
        salt: vec![3; 32],
        creator_account: creator.into_array(),
        kind: ContentKind::Data,
        metadata: Metadata {
            title: "cli test".into(),
            mime_type: "text/plain".into(),
            original_size: u64::from(len),
            ..Metadata::default()
        },
        tracks: vec![Track::data()],
        renderers: vec![RENDERER],
        key: KeyEnvelope {
            scheme: KEY_SCHEME_LABELLED_BLS12_381,
            group_key_id: vec![1; 32],
            ciphertext: KEY_CIPHERTEXT.to_vec(),
        },
        segments: vec![],
    };
    let head = sealer.finish(header).unwrap();
    let mut file = Vec::new();
    head.write_to(&mut file).unwrap();
    file.extend_from_slice(&segment);
    std::fs::write(path, file).unwrap();
}

#[tokio::test]
async fn mint_a_ddrm_then_buy_trade_and_claim_from_the_command_line() {
    let anvil = spawn_anvil();
    let dir = tempfile::tempdir().unwrap();
    let key_file = |i: usize| {
        let p = dir.path().join(format!("account{i}.key"));
        std::fs::write(
            &p,
            format!("0x{}\n", hex::encode(anvil.keys()[i].to_bytes())),
        )
        .unwrap();
        p.to_str().unwrap().to_owned()
    };
    let (k0, k1, k3) = (key_file(0), key_file(1), key_file(3));
    let addr =
        |i: usize| alloy::signers::local::PrivateKeySigner::from(anvil.keys()[i].clone()).address();
    let (creator, producer, buyer) = (addr(1), addr(2), addr(3));
    let rpc = anvil.endpoint();
    let dep_path = dir.path().join("deployment.json");
    let dep_file = dep_path.to_str().unwrap();

    let Cmd::Chain(c) = parse(&[
        "chain",
        "deploy",
        "--rpc",
        &rpc,
        "--private-key-file",
        &k0,
        "--out",
        dep_file,
        "--register-capsule",
        &hex::encode(RENDERER),
    ]) else {
        unreachable!()
    };
    cli::run_chain(c).await.unwrap();
    let dep = Deployment::load(&dep_path).unwrap();

    let ddrm = dir.path().join("song.ddrm");
    write_ddrm(&ddrm, creator);
    let facts = read_ddrm_header(&ddrm).unwrap();
    assert_eq!(
        facts.key_commitment,
        B256::from(<[u8; 32]>::from(Sha256::digest(KEY_CIPHERTEXT)))
    );
    assert_eq!(facts.renderers, vec![B256::from(RENDERER)]);
    let id = facts.content_id;

    // A split not summing to 10,000 is refused.
    let bad_split = format!("{creator}:8000,{producer}:1999");
    let Cmd::Mint(m) = parse(&[
        "mint",
        ddrm.to_str().unwrap(),
        "--cid",
        "bafkcli",
        "--price",
        "1.5",
        "--split",
        &bad_split,
        "--deployment",
        dep_file,
        "--rpc",
        &rpc,
        "--private-key-file",
        &k1,
    ]) else {
        unreachable!()
    };
    let err = cli::run_mint(m).await.unwrap_err();
    assert!(err.to_string().contains("sum to 9999"), "{err}");
    let split = format!("{creator}:8000,{producer}:2000");
    let mint_args = |file: &str, rent_price: &str| {
        let Cmd::Mint(m) = parse(&[
            "mint",
            file,
            "--cid",
            "bafkcli",
            "--price",
            "1.5",
            "--rent-price",
            rent_price,
            "--period",
            "1d",
            "--split",
            &split,
            "--deployment",
            dep_file,
            "--rpc",
            &rpc,
            "--private-key-file",
            &k1,
        ]) else {
            unreachable!()
        };
        m
    };
    // A zero rent price with a rental period is refused.
    let err = cli::run_mint(mint_args(ddrm.to_str().unwrap(), "0"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("rent price"), "{err}");

    // A file naming another account (here the producer) is bound to that account: the creator's
    // key cannot register it, and `ddrm mint` says so before sending anything.
    let theirs = dir.path().join("theirs.ddrm");
    write_ddrm(&theirs, producer);
    let their_id = read_ddrm_header(&theirs).unwrap().content_id;
    let err = cli::run_mint(mint_args(theirs.to_str().unwrap(), "0.1"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not bound to"), "{err}");
    assert!(
        !registry_has(&rpc, &dep, their_id).await,
        "nothing was registered"
    );
    // The creator's own file registers under the id its header gives.
    cli::run_mint(mint_args(ddrm.to_str().unwrap(), "0.1"))
        .await
        .unwrap();
    let id_hex = content_id_hex(id);

    let chain = Chain::connect(&rpc, None).await.unwrap();
    let registry = ContentRegistry::new(dep.contracts.content_registry, &chain.provider);
    assert_eq!(
        registry.keyCommitment(id).call().await.unwrap(),
        facts.key_commitment
    );
    assert!(registry
        .isRendererAllowed(id, B256::from(RENDERER))
        .call()
        .await
        .unwrap());
    let terms = registry.termsOf(id).call().await.unwrap();
    assert_eq!(terms.price, 1_500_000_000_000_000_000);
    assert_eq!(terms.rentPrice, 100_000_000_000_000_000);
    assert_eq!(terms.rentPeriod, 86_400);

    // Bounds typed on the command line below the current terms: refused before sending.
    let Cmd::Buy(b) = parse(&[
        "buy",
        &id_hex,
        "--max-price",
        "1.4",
        "--deployment",
        dep_file,
        "--rpc",
        &rpc,
        "--private-key-file",
        &k3,
    ]) else {
        unreachable!()
    };
    let err = cli::run_buy(b).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("1.5 ELA, beyond the bound 1.4 ELA"),
        "{err}"
    );
    let Cmd::Rent(r) = parse(&[
        "rent",
        &id_hex,
        "--min-period",
        "2d",
        "--deployment",
        dep_file,
        "--rpc",
        &rpc,
        "--private-key-file",
        &k3,
    ]) else {
        unreachable!()
    };
    let err = cli::run_rent(r).await.unwrap_err();
    assert!(
        err.to_string().contains("beyond the bound 172800 s"),
        "{err}"
    );

    let Cmd::Buy(b) = parse(&[
        "buy",
        &id_hex,
        "--max-price",
        "1.5",
        "--deployment",
        dep_file,
        "--rpc",
        &rpc,
        "--private-key-file",
        &k3,
    ]) else {
        unreachable!()
    };
    cli::run_buy(b).await.unwrap();
    let access = Access::new(dep.contracts.access, &chain.provider);
    assert!(access.hasAccess(buyer, id).call().await.unwrap());

    // The creator gives 2,000 shares to the buyer, then claims 80 % of 97.5 % of 1.5 ELA.
    let Cmd::Royalty(r) = parse(&[
        "royalty",
        "transfer",
        &id_hex,
        "--to",
        &buyer.to_string(),
        "--shares",
        "2000",
        "--deployment",
        dep_file,
        "--rpc",
        &rpc,
        "--private-key-file",
        &k1,
    ]) else {
        unreachable!()
    };
    cli::run_royalty(r).await.unwrap();
    let shares = RoyaltyShares::new(dep.contracts.royalty_shares, &chain.provider);
    assert_eq!(
        shares.balanceOf(buyer, id).call().await.unwrap(),
        U256::from(2_000)
    );
    let before = chain.balance(creator).await.unwrap();
    let Cmd::Royalty(r) = parse(&[
        "royalty",
        "claim",
        &id_hex,
        "--deployment",
        dep_file,
        "--rpc",
        &rpc,
        "--private-key-file",
        &k1,
    ]) else {
        unreachable!()
    };
    cli::run_royalty(r).await.unwrap();
    let gained = chain.balance(creator).await.unwrap() - before;
    let owed = U256::from(1_170_000_000_000_000_000u128);
    assert!(
        gained < owed && gained > owed - U256::from(10u64.pow(15)),
        "claimed {gained} minus gas"
    );
    assert_eq!(
        shares.claimable(creator, id).call().await.unwrap(),
        U256::ZERO
    );
    assert_eq!(
        shares.claimable(buyer, id).call().await.unwrap(),
        U256::ZERO,
        "bought after the sale"
    );
    assert_ne!(producer, Address::ZERO);
}

async fn registry_has(rpc: &str, dep: &Deployment, id: U256) -> bool {
    let chain = Chain::connect(rpc, None).await.unwrap();
    ContentRegistry::new(dep.contracts.content_registry, &chain.provider)
        .isRegistered(id)
        .call()
        .await
        .unwrap()
}

#[test]
fn a_file_that_is_not_a_ddrm_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("song.flac");
    std::fs::write(&path, b"fLaC not a ddrm container").unwrap();
    let err = read_ddrm_header(&path).unwrap_err();
    assert!(
        err.to_string().starts_with(".ddrm file ") && err.to_string().contains("song.flac"),
        "{err}"
    );
    let err = read_ddrm_header(&dir.path().join("missing.ddrm")).unwrap_err();
    assert!(err.to_string().contains("missing.ddrm"), "{err}");
}

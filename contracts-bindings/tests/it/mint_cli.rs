//! `ddrm mint FILE.ddrm` on a real .ddrm written with packager-format, then buy, royalty balance,
//! transfer and claim through the CLI functions, with the key in a key file.

use alloy::primitives::{Address, B256, U256};
use contracts_bindings::{
    bindings::{Access, ContentRegistry, RoyaltyShares},
    commands::{self, MintCommand, PurchaseCommand},
    ops::{read_ddrm_header, Purchase},
    testing::{anvil_signers, spawn_anvil},
    units::content_id_hex,
    Chain, Deployment,
};
use packager_format::{
    ContentKey, ContentKind, Header, KeyEnvelope, Metadata, SegmentSealer, Track,
    KEY_SCHEME_LABELLED_BLS12_381, SEGMENT_KEYFRAME,
};
use sha2::{Digest, Sha256};

use crate::harness::{command_target, deploy_request};

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
    let signers = anvil_signers(&anvil);
    let addr = |i: usize| signers[i].address();
    let (creator, producer, buyer) = (addr(1), addr(2), addr(3));
    let rpc = anvil.endpoint();
    let dep_path = dir.path().join("deployment.json");

    let request = commands::DeployRequest {
        register_capsule: vec![hex::encode(RENDERER)],
        ..deploy_request(&dep_path)
    };
    let deployer = command_target(&rpc, &dep_path, Some(&k0));
    commands::deploy(&deployer.connect, &request).await.unwrap();
    let (as_creator, as_buyer) = (
        command_target(&rpc, &dep_path, Some(&k1)),
        command_target(&rpc, &dep_path, Some(&k3)),
    );
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
    let mint_command =
        |file: &std::path::Path, rent_price: Option<&str>, split: &str| MintCommand {
            file: file.to_owned(),
            cid: "bafkcli".into(),
            price: "1.5".into(),
            rent_price: rent_price.map(Into::into),
            period: rent_price.map(|_| "1d".into()),
            subscription_price: None,
            subscription_period: None,
            editions: 0,
            resale_royalty_bps: 1_000,
            token: None,
            split: split.into(),
        };
    let err = commands::mint(&as_creator, &mint_command(&ddrm, None, &bad_split))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("sum to 9999"), "{err}");
    let split = format!("{creator}:8000,{producer}:2000");
    let mint_args =
        |file: &std::path::Path, rent_price: &str| mint_command(file, Some(rent_price), &split);
    // A zero rent price with a rental period is refused.
    let err = commands::mint(&as_creator, &mint_args(&ddrm, "0"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("rent price"), "{err}");

    // A file naming another account (here the producer) is bound to that account: the creator's
    // key cannot register it, and `ddrm mint` says so before sending anything.
    let theirs = dir.path().join("theirs.ddrm");
    write_ddrm(&theirs, producer);
    let their_id = read_ddrm_header(&theirs).unwrap().content_id;
    let err = commands::mint(&as_creator, &mint_args(&theirs, "0.1"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not bound to"), "{err}");
    assert!(
        !registry_has(&rpc, &dep, their_id).await,
        "nothing was registered"
    );
    // The creator's own file registers under the id its header gives.
    commands::mint(&as_creator, &mint_args(&ddrm, "0.1"))
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
    let b = PurchaseCommand {
        content_id: id_hex.clone(),
        what: Purchase::Buy,
        max_price: Some("1.4".into()),
        min_period: None,
    };
    let err = commands::purchase(&as_buyer, &b).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("1.5 ELA, beyond the bound 1.4 ELA"),
        "{err}"
    );
    let r = PurchaseCommand {
        content_id: id_hex.clone(),
        what: Purchase::Rent(1),
        max_price: None,
        min_period: Some("2d".into()),
    };
    let err = commands::purchase(&as_buyer, &r).await.unwrap_err();
    assert!(
        err.to_string().contains("beyond the bound 172800 s"),
        "{err}"
    );

    let b = PurchaseCommand {
        content_id: id_hex.clone(),
        what: Purchase::Buy,
        max_price: Some("1.5".into()),
        min_period: None,
    };
    commands::purchase(&as_buyer, &b).await.unwrap();
    let access = Access::new(dep.contracts.access, &chain.provider);
    assert!(access.hasAccess(buyer, id).call().await.unwrap());

    // The creator gives 2,000 shares to the buyer, then claims 80 % of 97.5 % of 1.5 ELA.
    commands::royalty_transfer(&as_creator, &id_hex, buyer, 2000)
        .await
        .unwrap();
    let shares = RoyaltyShares::new(dep.contracts.royalty_shares, &chain.provider);
    assert_eq!(
        shares.balanceOf(buyer, id).call().await.unwrap(),
        U256::from(2_000)
    );
    let before = chain.balance(creator).await.unwrap();
    commands::royalty_claim(&as_creator, std::slice::from_ref(&id_hex))
        .await
        .unwrap();
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

//! The command-line functions end to end: deploy to a file, then act on it, with the key given
//! through a key file (never on the command line).

use alloy::primitives::U256;
use contracts_bindings::{
    bindings::{Access, CapsuleRegistry, RoyaltyShares},
    commands::{self, PurchaseCommand},
    ops::Purchase,
    testing::spawn_anvil,
    Chain, Deployment,
};

use crate::harness::{command_target, deploy_request};

#[tokio::test]
async fn deploy_writes_the_file_and_commands_use_it() {
    let anvil = spawn_anvil();
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("deployer.key");
    std::fs::write(&key_file, hex::encode(anvil.keys()[0].to_bytes())).unwrap();
    let out = dir.path().join("deployment.json");
    let rpc = anvil.endpoint();
    let runtime = "0x00000000000000000000000000000000000000a7";
    let capsule = "c1".repeat(32);
    let target = command_target(&rpc, &out, key_file.to_str());
    let request = commands::DeployRequest {
        approve_runtime: vec![runtime.parse().unwrap()],
        register_capsule: vec![capsule],
        metadata_base: Some("http://127.0.0.1:8080/v1/metadata/".into()),
        ..deploy_request(&out)
    };
    let deployed = commands::deploy(&target.connect, &request).await.unwrap();
    assert_eq!(deployed.options.register_capsules.len(), 1);

    let dep = Deployment::load(&out).unwrap();
    assert_eq!(dep.chain_id, 20);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    for name in [
        "CapsuleRegistry",
        "LicenceNetworkRegistry",
        "RoyaltyShares",
        "ContentRegistry",
        "Access",
        "Market",
    ] {
        assert!(json["contracts"][name].is_string(), "{name} in {json}");
    }
    assert!(json["deployment_block"].as_u64().unwrap() >= 1);
    let chain = Chain::connect(&rpc, None).await.unwrap();
    let capsules = CapsuleRegistry::new(dep.contracts.capsule_registry, &chain.provider);
    assert!(capsules
        .isRuntimeApproved(runtime.parse().unwrap())
        .call()
        .await
        .unwrap());

    // An unknown content id fails with a clear error, before sending.
    let buy = PurchaseCommand {
        content_id: "0x00000000000000000000000000000000000000000000000000000000000000ff".into(),
        what: Purchase::Buy,
        max_price: None,
        min_period: None,
    };
    let err = commands::purchase(&target, &buy).await.unwrap_err();
    assert!(
        err.to_string().starts_with("unknown content id 0x00"),
        "{err}"
    );

    // `rent --periods 0` is refused before connecting.
    let rent = PurchaseCommand {
        content_id: "0x01".into(),
        what: Purchase::Rent(0),
        max_price: None,
        min_period: None,
    };
    let keyless = command_target(&rpc, &out, None);
    let err = commands::purchase(&keyless, &rent).await.unwrap_err();
    assert!(
        err.to_string().contains("--periods must be at least 1"),
        "{err}"
    );

    // A read-only balance query for an unknown id.
    let err = commands::royalty_balance(&keyless, "0x02", Some(runtime.parse().unwrap()))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("unknown content id"), "{err}");

    // Both ERC-1155s name their metadata under the base the deployment set.
    let access = Access::new(dep.contracts.access, &chain.provider);
    let shares = RoyaltyShares::new(dep.contracts.royalty_shares, &chain.provider);
    assert_eq!(
        access.uri(U256::from(7u64)).call().await.unwrap(),
        "http://127.0.0.1:8080/v1/metadata/access/{id}"
    );
    assert_eq!(
        shares.uri(U256::from(7u64)).call().await.unwrap(),
        "http://127.0.0.1:8080/v1/metadata/royalty/{id}"
    );
    // A base the contracts would append to wrongly is refused before anything is deployed.
    let bad = commands::DeployRequest {
        metadata_base: Some("http://127.0.0.1:8080/v1/metadata".into()),
        ..deploy_request(&dir.path().join("unused.json"))
    };
    let err = commands::deploy(&target.connect, &bad).await.unwrap_err();
    assert!(err.to_string().contains("ending in /"), "{err}");
    assert!(!dir.path().join("unused.json").exists());

    assert_eq!(
        access
            .editionsSold(U256::from(0xffu64))
            .call()
            .await
            .unwrap(),
        U256::ZERO
    );
}

#[test]
fn the_private_key_never_shows_in_debug_output() {
    let key = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
    let signer = commands::SignerSource {
        private_key: Some(key.parse().unwrap()),
        private_key_file: None,
    };
    let shown = format!("{signer:?}");
    assert!(!shown.contains(key), "{shown}");
    assert!(shown.contains("<redacted>"));
}

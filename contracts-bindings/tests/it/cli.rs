//! The command-line functions end to end: deploy to a file, then act on it, with the key given
//! through a key file (never on the command line).

use alloy::primitives::U256;
use clap::Parser;
use contracts_bindings::{
    bindings::{Access, CapsuleRegistry},
    cli::{self, ChainCommand, RoyaltyCommand},
    testing::spawn_anvil,
    Chain, Deployment,
};

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(clap::Subcommand)]
enum Cmd {
    #[command(subcommand)]
    Chain(ChainCommand),
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
    let args = [
        "chain",
        "deploy",
        "--rpc",
        &rpc,
        "--private-key-file",
        key_file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--approve-runtime",
        runtime,
        "--register-capsule",
        &capsule,
    ];
    let Cmd::Chain(cmd) = parse(&args) else {
        unreachable!()
    };
    cli::run_chain(cmd).await.unwrap();

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
    let args = [
        "buy",
        "0x00000000000000000000000000000000000000000000000000000000000000ff",
        "--deployment",
        out.to_str().unwrap(),
        "--rpc",
        &rpc,
        "--private-key-file",
        key_file.to_str().unwrap(),
    ];
    let Cmd::Buy(a) = parse(&args) else {
        unreachable!()
    };
    let err = cli::run_buy(a).await.unwrap_err();
    assert!(
        err.to_string().starts_with("unknown content id 0x00"),
        "{err}"
    );

    // `rent --periods 0` is refused before connecting.
    let args = [
        "rent",
        "0x01",
        "--periods",
        "0",
        "--deployment",
        out.to_str().unwrap(),
        "--rpc",
        &rpc,
    ];
    let Cmd::Rent(a) = parse(&args) else {
        unreachable!()
    };
    assert!(cli::run_rent(a).await.is_err());

    // A read-only balance query for an unknown id.
    let args = [
        "royalty",
        "balance",
        "0x02",
        "--account",
        runtime,
        "--deployment",
        out.to_str().unwrap(),
        "--rpc",
        &rpc,
    ];
    let Cmd::Royalty(cmd) = parse(&args) else {
        unreachable!()
    };
    let err = cli::run_royalty(cmd).await.unwrap_err();
    assert!(err.to_string().contains("unknown content id"), "{err}");

    let access = Access::new(dep.contracts.access, &chain.provider);
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
    let args = ["buy", "0x01", "--private-key", key];
    let cmd = parse(&args);
    let Cmd::Buy(a) = cmd else { unreachable!() };
    let shown = format!("{a:?}");
    assert!(!shown.contains(key), "{shown}");
    assert!(shown.contains("<redacted>"));
}

//! Issue 4's journey: a chain, the contracts, a 3-of-5 licence network registered on chain and
//! run as five `ddrm licence node` processes; a creator packages and mints, a buyer buys and gets
//! a licence whose key is the packaged one; a stranger is refused with the reason; a node's
//! audit log verifies.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use contracts_bindings::chain::parse_private_key;
use contracts_bindings::testing::spawn_anvil;
use licence_net_protocol::{key_commitment, measure};
use tests::Journey;

const DDRM: &str = env!("CARGO_BIN_EXE_ddrm");
const NODES: usize = 5;

/// A `ddrm licence node` process, killed when dropped.
struct NodeProcess(Child);

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts node `number` (1-based) and waits (bounded) for its start line.
fn start_node(j: &Journey, number: usize, rpc: &str, port: u16) -> (NodeProcess, String) {
    let mut child = Command::new(DDRM)
        .current_dir(j.dir())
        .args(["licence", "node", "--share"])
        .arg(format!("keys/node-{number}.share"))
        .args(["--rpc", rpc, "--deployment", "deployment.json", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .args(["--confirmations", "0", "--require-registry"])
        .env_remove("DDRM_RPC")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ddrm licence node");
    let stdout = child.stdout.take().unwrap();
    let node = NodeProcess(child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx
        .recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| panic!("node {number} did not start within 60 s"));
    (node, line)
}

fn key_file(j: &Journey, name: &str, hex_key: &str) {
    std::fs::write(j.path(name), format!("{hex_key}\n")).unwrap();
}

#[test]
fn a_buyer_gets_a_licence_from_five_nodes_a_stranger_is_refused_and_the_audit_log_verifies() {
    let j = Journey::new(DDRM);
    let anvil = spawn_anvil();
    let rpc = anvil.endpoint();
    let hex_of = |i: usize| hex::encode(anvil.keys()[i].to_bytes());
    key_file(&j, "deployer.key", &hex_of(0));
    key_file(&j, "creator.key", &hex_of(1));
    key_file(&j, "buyer.key", &hex_of(3));
    key_file(&j, "stranger.key", &hex_of(4));
    let creator = parse_private_key(&hex_of(1)).unwrap().address();
    // The player runtime's attestation key and its capsule.
    let runtime_hex = hex::encode([0x5au8; 32]);
    key_file(&j, "runtime.key", &runtime_hex);
    let runtime = parse_private_key(&runtime_hex).unwrap().address();
    let capsule = b"\0asm journey capsule".to_vec();
    std::fs::write(j.path("capsule.wasm"), &capsule).unwrap();
    let measurement = hex::encode(measure(&capsule));

    j.ddrm([
        "chain",
        "deploy",
        "--rpc",
        &rpc,
        "--private-key-file",
        "deployer.key",
        "--out",
        "deployment.json",
        "--approve-runtime",
        &runtime.to_string(),
        "--register-capsule",
        &measurement,
    ])
    .ok();
    // The default network: five nodes, three shares needed.
    j.ddrm(["licence", "keygen", "--out", "keys"]).ok();

    // Register the network, then start five nodes that require it and match it.
    let ports: Vec<u16> = (0..NODES).map(|_| free_port()).collect();
    let endpoints: Vec<String> = ports
        .iter()
        .map(|p| format!("http://127.0.0.1:{p}"))
        .collect();
    let registered = j
        .ddrm([
            "licence",
            "register",
            "--group",
            "keys/group.pub",
            "--endpoint",
            &endpoints.join(","),
            "--rpc",
            &rpc,
            "--private-key-file",
            "deployer.key",
            "--deployment",
            "deployment.json",
        ])
        .ok()
        .stdout();
    assert!(registered.contains("epoch 1"), "{registered}");
    let mut nodes = Vec::new();
    for (i, port) in ports.iter().enumerate() {
        let (node, line) = start_node(&j, i + 1, &rpc, *port);
        assert!(
            line.contains(&format!("licence node {} of 5", i + 1))
                && line.contains("matches LicenceNetworkRegistry epoch 1"),
            "{line}"
        );
        nodes.push(node);
    }

    // The creator packages a file for the capsule and mints it; the buyer buys it.
    std::fs::write(j.path("report.bin"), vec![0x42u8; 200_000]).unwrap();
    let packaged = j
        .ddrm([
            "package",
            "report.bin",
            "--data",
            "--out",
            "report.ddrm",
            "--creator-account",
            &creator.to_string(),
            "--group-key",
            "keys/group.pub",
            "--renderer",
            &measurement,
            "--export-key",
            "report.key",
            "--json",
        ])
        .ok()
        .json();
    let content_id = packaged["content_id"].as_str().unwrap().to_string();
    j.ddrm([
        "mint",
        "report.ddrm",
        "--cid",
        "bafkreijourneycontent",
        "--price",
        "1",
        "--split",
        &format!("{creator}:10000"),
        "--rpc",
        &rpc,
        "--private-key-file",
        "creator.key",
        "--deployment",
        "deployment.json",
    ])
    .ok();
    j.ddrm([
        "buy",
        &content_id,
        "--rpc",
        &rpc,
        "--private-key-file",
        "buyer.key",
        "--deployment",
        "deployment.json",
    ])
    .ok();

    // The buyer's licence, from the network as registered on chain: its key is the packaged one.
    let request = |wallet: &str| {
        j.ddrm([
            "licence",
            "request",
            "report.ddrm",
            "--rpc",
            &rpc,
            "--deployment",
            "deployment.json",
            "--wallet-key-file",
            wallet,
            "--runtime-key-file",
            "runtime.key",
            "--capsule",
            "capsule.wasm",
        ])
    };
    let granted = request("buyer.key").ok().stdout();
    let exported = std::fs::read_to_string(j.path("report.key")).unwrap();
    let key = hex::decode(exported.trim()).unwrap();
    assert!(
        granted.contains("5 of 5 nodes would grant (threshold 3)"),
        "{granted}"
    );
    assert!(granted.contains("\"access\":\"perpetual\""), "{granted}");
    // A diagnostic only: no content key (nor anything derived from it) leaves the capsule.
    for secret in [hex::encode(&key), hex::encode(key_commitment(&key))] {
        assert!(!granted.contains(&secret), "{granted}");
    }
    assert!(!granted.contains("content key recovered"), "{granted}");

    // Someone who bought nothing: refused by every node, with the reason.
    let refused = request("stranger.key").fails();
    assert!(
        refused.contains("0 of 5 nodes would grant")
            && refused.contains("refused (no_access)")
            && refused.contains("has no access"),
        "{refused}"
    );

    // Every decision is in each node's audit log, which verifies.
    let verified = j
        .ddrm(["licence", "audit", "verify", "keys/node-1.audit.jsonl"])
        .ok()
        .stdout();
    assert!(verified.contains("audit log intact"), "{verified}");
    assert!(verified.contains("refused"), "{verified}");
    drop(nodes);

    // An edited line is caught.
    let path = j.path("keys/node-2.audit.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replacen("no_access", "granted_x", 1)).unwrap();
    let err = j
        .ddrm(["licence", "audit", "verify", "keys/node-2.audit.jsonl"])
        .fails();
    assert!(
        err.contains("audit log keys/node-2.audit.jsonl, line"),
        "{err}"
    );
}

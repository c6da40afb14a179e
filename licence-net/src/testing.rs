//! A licence network for tests (feature `test-utils`, enabled only from `[dev-dependencies]`;
//! `licence-net/tests/it/surface.rs` checks): a real anvil with the contracts deployed, a
//! dealt 3-of-5 group, and five real nodes serving on loopback, all in this process.
//!
//! [`Network::start`] brings it up; its helpers mint and buy on the chain, restart a node with
//! another configuration, and read the nodes' audit logs. What a test sends (raw requests, or a
//! real player) is the test's own: licence-net's tests sign requests by hand, the player's
//! play packaged files.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use alloy::node_bindings::AnvilInstance;
use alloy::primitives::{Address, B256, U256};
use alloy::providers::Provider;
use alloy::signers::local::PrivateKeySigner;
use contracts_bindings::chain::{self, DEFAULT_FEE_BPS};
use contracts_bindings::ops::{self, HeaderFacts, MintRequest, Purchase, TermsInput};
use contracts_bindings::testing::spawn_anvil;
use contracts_bindings::{Chain, DeployOptions, Deployment};
use k256::ecdsa::SigningKey;
use licence_net_client::LicenceClient;
use licence_net_protocol::{GroupKey, LicenceAsk, LicenceResponse};
use rand_core::RngCore;
use tokio::sync::oneshot;

use crate::audit::AuditEntry;
use crate::dealer;
use crate::node::{self, Admission, NodeConfig, NodeState, RateLimit, Refusal, RegistryCheck};
use crate::KeyShareFile;

pub const NODES: usize = 5;
pub const THRESHOLD: usize = 3;
/// The anvil account that deploys the contracts (and owns the registries).
pub const DEPLOYER: usize = 0;
/// The anvil account that registers contents.
pub const CREATOR: usize = 1;
/// An anvil account the tests have buy.
pub const BUYER: usize = 3;
/// An anvil account that has bought nothing.
pub const STRANGER: usize = 4;
/// One unit of the chain's currency (1 ELA), in wei: what [`Network::mint`]'s tests charge.
pub const PRICE: U256 = U256::from_limbs([1_000_000_000_000_000_000, 0, 0, 0]);
/// The rental period of every content [`Network::mint`] registers.
pub const RENT_PERIOD: u32 = 3600;

/// 32 random bytes (nonces, header digests, content keys).
pub fn random32() -> [u8; 32] {
    let mut b = [0u8; 32];
    rand_core::OsRng.fill_bytes(&mut b);
    b
}

/// The wall clock in seconds since the Unix epoch.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs()
}

/// A rate no test reaches: every node and client of a test shares 127.0.0.1.
pub fn test_rate() -> RateLimit {
    RateLimit {
        per_second: 1000.0,
        burst: 1000.0,
    }
}

/// Limits before parsing at [`test_rate`], for the same reason.
pub fn test_admission() -> Admission {
    Admission {
        peer: test_rate(),
        global: test_rate(),
    }
}

/// Hands `ask` to a node as its HTTP body would, bypassing the network.
pub async fn post(state: &NodeState, ask: &LicenceAsk) -> Result<LicenceResponse, Refusal> {
    state
        .handle(&serde_json::to_vec(ask).expect("a request serialises"))
        .await
}

/// A node serving on loopback; stops when dropped.
pub struct RunningNode {
    pub url: String,
    pub state: Arc<NodeState>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for RunningNode {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        self.task.abort();
    }
}

/// Starts a node from a config on 127.0.0.1:0, with [`test_admission`].
pub async fn serve(config: NodeConfig) -> RunningNode {
    serve_with(config, test_admission()).await
}

/// Starts a node from a config and admission limits on 127.0.0.1:0.
pub async fn serve_with(config: NodeConfig, admission: Admission) -> RunningNode {
    let state = NodeState::with_admission(config, admission)
        .await
        .expect("node starts");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let url = format!("http://{}", listener.local_addr().expect("bound address"));
    let (stop, stopped) = oneshot::channel::<()>();
    let s = state.clone();
    let task = tokio::spawn(async move {
        node::serve(listener, s, async {
            let _ = stopped.await;
        })
        .await
        .expect("node serves");
    });
    RunningNode {
        url,
        state,
        stop: Some(stop),
        task,
    }
}

/// What the chain and the nodes of a [`Network`] are set up with, besides the defaults.
#[derive(Debug, Default)]
pub struct NetworkOptions {
    /// Runtime attestation keys approved at deployment.
    pub approve_runtimes: Vec<Address>,
    /// Capsules (measurement, version) registered at deployment, the deployer as publisher.
    pub register_capsules: Vec<(B256, u32)>,
    /// The nodes refuse file-backed runtime keys.
    pub require_hardware_runtime: bool,
}

/// Anvil with the contracts deployed, a dealt 3-of-5 group and its five nodes on loopback.
pub struct Network {
    /// `None` once a test has stopped the chain.
    pub anvil: Option<AnvilInstance>,
    pub rpc: String,
    pub dep: Deployment,
    /// anvil's accounts, by index ([`DEPLOYER`], [`CREATOR`], [`BUYER`], [`STRANGER`], …).
    pub keys: Vec<PrivateKeySigner>,
    /// Holds the key shares and the audit logs.
    pub dir: tempfile::TempDir,
    pub group: GroupKey,
    pub share_paths: Vec<PathBuf>,
    /// `None` where a test stopped the node.
    pub nodes: Vec<Option<RunningNode>>,
    /// What clients are given: a stopped node's URL stays listed.
    pub urls: Vec<String>,
    pub require_hardware_runtime: bool,
}

impl Network {
    /// A network whose files live in a fresh temporary folder.
    pub async fn start(opts: NetworkOptions) -> Self {
        Self::start_in(tempfile::tempdir().expect("a temporary folder"), opts).await
    }

    /// A network whose key shares and audit logs live in `dir`.
    pub async fn start_in(dir: tempfile::TempDir, opts: NetworkOptions) -> Self {
        let anvil = spawn_anvil();
        let rpc = anvil.endpoint();
        let keys = contracts_bindings::testing::anvil_signers(&anvil);
        let deployer = Chain::connect(&rpc, Some(keys[DEPLOYER].clone()))
            .await
            .expect("connect to anvil");
        let deploy = DeployOptions {
            fee_bps: DEFAULT_FEE_BPS,
            approve_runtimes: opts.approve_runtimes,
            register_capsules: opts.register_capsules,
            ..Default::default()
        };
        let dep = chain::deploy(&deployer, &deploy).await.expect("deploy");
        let dealt = dealer::deal(NODES, THRESHOLD, &dir.path().join("keys")).expect("deal");
        let mut net = Self {
            anvil: Some(anvil),
            rpc,
            dep,
            keys,
            dir,
            group: dealt.group,
            share_paths: dealt.share_paths,
            nodes: Vec::new(),
            urls: Vec::new(),
            require_hardware_runtime: opts.require_hardware_runtime,
        };
        for i in 0..NODES {
            let node = serve(net.config(i)).await;
            net.urls.push(node.url.clone());
            net.nodes.push(Some(node));
        }
        net
    }

    pub async fn chain_as(&self, account: usize) -> Chain {
        Chain::connect(&self.rpc, Some(self.keys[account].clone()))
            .await
            .expect("connect to anvil")
    }

    /// `account`'s wallet key.
    pub fn wallet(&self, account: usize) -> SigningKey {
        self.keys[account].credential().clone()
    }

    /// The account that registers contents.
    pub fn creator(&self) -> Address {
        self.keys[CREATOR].address()
    }

    pub fn audit_path(&self, index: usize) -> PathBuf {
        self.dir.path().join(format!("node-{index}.audit.jsonl"))
    }

    /// Node `index`'s configuration: its share, rights read at the head (anvil mines a block
    /// per transaction) and re-read for every request, [`test_rate`].
    pub fn config(&self, index: usize) -> NodeConfig {
        NodeConfig {
            share: KeyShareFile::load(&self.share_paths[index], &self.group)
                .expect("the dealt share loads"),
            group: self.group.clone(),
            deployment: self.dep.clone(),
            rpc: self.rpc.clone(),
            audit_path: self.audit_path(index),
            confirmations: 0,
            chain_timeout: Duration::from_secs(2),
            head_ttl: Duration::ZERO,
            rate_limit: test_rate(),
            registry: RegistryCheck::IfRegistered,
            require_hardware_runtime: self.require_hardware_runtime,
        }
    }

    /// Stops node `index` (its URL stays in the clients' list).
    pub fn stop_node(&mut self, index: usize) {
        self.nodes[index] = None;
    }

    /// Stops node `index` and starts it again from its [`Self::config`] as `edit` changes it;
    /// clients are given its new URL. Returns its state.
    pub async fn restart_node(
        &mut self,
        index: usize,
        edit: impl FnOnce(&mut NodeConfig),
    ) -> Arc<NodeState> {
        self.restart_node_admitting(index, test_admission(), edit)
            .await
    }

    /// [`Self::restart_node`] with other limits before parsing.
    pub async fn restart_node_admitting(
        &mut self,
        index: usize,
        admission: Admission,
        edit: impl FnOnce(&mut NodeConfig),
    ) -> Arc<NodeState> {
        self.stop_node(index);
        let mut config = self.config(index);
        edit(&mut config);
        let node = serve_with(config, admission).await;
        let state = node.state.clone();
        self.urls[index] = node.url.clone();
        self.nodes[index] = Some(node);
        state
    }

    /// The state of running node `index`.
    pub fn state(&self, index: usize) -> &Arc<NodeState> {
        &self.nodes[index].as_ref().expect("the node runs").state
    }

    /// A client of every listed node.
    pub fn client(&self) -> LicenceClient {
        LicenceClient::new(
            self.urls.clone(),
            self.group.clone(),
            Duration::from_secs(5),
        )
        .expect("a client")
    }

    /// `account` registers the content `header` describes, at `price`, rent 0.1 ELA per
    /// [`RENT_PERIOD`], all royalties to itself.
    pub async fn mint(&self, account: usize, header: HeaderFacts, price: U256) {
        let chain = self.chain_as(account).await;
        let req = MintRequest {
            header,
            cid: "bafkreitestcontent".into(),
            payment_token: Address::ZERO,
            terms: TermsInput {
                price,
                rent_price: PRICE / U256::from(10u8),
                rent_period: RENT_PERIOD,
                ..Default::default()
            },
            split: vec![(self.keys[account].address(), 10_000)],
        };
        ops::mint(&chain, &self.dep, &req).await.expect("mint");
    }

    pub async fn purchase(&self, account: usize, id: U256, what: Purchase) {
        let c = self.chain_as(account).await;
        ops::purchase(&c, &self.dep, id, what)
            .await
            .expect("purchase");
    }

    /// Moves the chain's clock forward and mines a block.
    pub async fn travel(&self, seconds: u64) {
        self.anvil_call("evm_increaseTime", (seconds,)).await;
        self.mine().await;
    }

    /// Mines a block.
    pub async fn mine(&self) {
        self.anvil_call("evm_mine", ()).await;
    }

    /// Calls one of anvil's own RPC methods (`evm_*`, `anvil_*`), ignoring its answer.
    pub async fn anvil_call<P>(&self, method: &'static str, params: P)
    where
        P: serde::Serialize + Clone + std::fmt::Debug + Send + Sync + Unpin,
    {
        let c = Chain::connect(&self.rpc, None)
            .await
            .expect("connect to anvil");
        let _: serde_json::Value = c
            .provider
            .raw_request(method.into(), params)
            .await
            .unwrap_or_else(|e| panic!("{method}: {e}"));
    }

    /// Node `index`'s audit log, oldest first.
    pub fn audit_entries(&self, index: usize) -> Vec<AuditEntry> {
        let text = std::fs::read_to_string(self.audit_path(index)).expect("read the audit log");
        text.lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).expect("an audit line");
                serde_json::from_value(v["entry"].clone()).expect("an audit entry")
            })
            .collect()
    }

    pub fn last_audit(&self, index: usize) -> AuditEntry {
        self.audit_entries(index).pop().expect("an audit entry")
    }
}

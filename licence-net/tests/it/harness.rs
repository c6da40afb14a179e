//! A deployed system on a real anvil, registered content, and five licence nodes on loopback.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use alloy::node_bindings::AnvilInstance;
use alloy::providers::Provider;
use alloy::signers::local::PrivateKeySigner;
use contracts_bindings::bindings::CapsuleRegistry;
use contracts_bindings::chain::{self, DEFAULT_FEE_BPS};
use contracts_bindings::ops::{self, HeaderFacts, MintRequest, Purchase, TermsInput};
use contracts_bindings::testing::spawn_anvil;
use contracts_bindings::{Chain, DeployOptions, Deployment};
use k256::ecdsa::SigningKey;
use licence_net::audit::AuditEntry;
use licence_net::dealer;
use licence_net::node::{self, Admission, NodeConfig, NodeState, RateLimit, RegistryCheck};
use licence_net::KeyShareFile;
use licence_net_client::{ClientError, LicenceClient, NodeProblem};
use licence_net_protocol::{
    key_commitment, measure, Attestation, CapsuleSecret, GroupKey, LicenceAsk, OpenShare,
    RequestFields, B256, U256,
};
use rand::RngCore;
use tokio::sync::oneshot;

pub const NODES: usize = 5;
pub const THRESHOLD: usize = 3;
/// anvil accounts: 0 deploys, 1 creator, 3 buyer, 4 has bought nothing.
pub const CREATOR: usize = 1;
pub const BUYER: usize = 3;
pub const STRANGER: usize = 4;
pub const RENT_PERIOD: u32 = 3600;

pub const CAPSULE: &[u8] = b"\0asm player capsule v1 (test bytes)";
pub const OTHER_CAPSULE: &[u8] = b"\0asm player capsule v2 (test bytes)";

/// A registered content: its id (bound to its registrant by the header digest), key and key
/// ciphertext.
pub struct Content {
    pub id: U256,
    pub header_digest: B256,
    pub key: [u8; 32],
    pub ciphertext: Vec<u8>,
}

impl Content {
    /// A content `registrant` can register: a random header digest and the id derived from it.
    pub fn of(registrant: alloy::primitives::Address, key: [u8; 32], ciphertext: Vec<u8>) -> Self {
        let header_digest = B256::from(random32());
        Self {
            id: ops::content_id_for(registrant, header_digest),
            header_digest,
            key,
            ciphertext,
        }
    }
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

pub struct Net {
    pub anvil: Option<AnvilInstance>,
    pub rpc: String,
    pub dep: Deployment,
    pub keys: Vec<PrivateKeySigner>,
    pub dir: tempfile::TempDir,
    pub group: GroupKey,
    pub share_paths: Vec<PathBuf>,
    pub nodes: Vec<Option<RunningNode>>,
    pub urls: Vec<String>,
    pub runtime: SigningKey,
    pub measurement: B256,
    pub content: Content,
}

pub fn random32() -> [u8; 32] {
    let mut b = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut b);
    b
}

pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Node settings for tests: rights read at the head (anvil mines one block per transaction),
/// head re-read for every request, generous rate limit.
pub fn test_rate() -> RateLimit {
    RateLimit {
        per_second: 1000.0,
        burst: 1000.0,
    }
}

impl Net {
    /// Anvil, contracts, a 3-of-5 group, one content (buyable and rentable), five nodes.
    pub async fn start() -> Self {
        let anvil = spawn_anvil();
        let rpc = anvil.endpoint();
        let keys: Vec<PrivateKeySigner> = anvil
            .keys()
            .iter()
            .map(|k| PrivateKeySigner::from(k.clone()))
            .collect();
        let runtime = SigningKey::random(&mut rand::rngs::OsRng);
        let runtime_addr = licence_net_protocol::address_of(runtime.verifying_key());
        let measurement = measure(CAPSULE);
        let deployer = Chain::connect(&rpc, Some(keys[0].clone())).await.unwrap();
        let opts = DeployOptions {
            fee_bps: DEFAULT_FEE_BPS,
            approve_runtimes: vec![runtime_addr],
            register_capsules: vec![(measurement, 1), (measure(OTHER_CAPSULE), 2)],
            ..Default::default()
        };
        let dep = chain::deploy(&deployer, &opts).await.expect("deploy");
        let dir = tempfile::tempdir().unwrap();
        let dealt = dealer::deal(NODES, THRESHOLD, &dir.path().join("keys")).unwrap();
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
            runtime,
            measurement,
            content: Content {
                id: U256::ZERO,
                header_digest: B256::ZERO,
                key: [0; 32],
                ciphertext: Vec::new(),
            },
        };
        net.content = net.register_content(&[measurement]).await;
        for i in 0..NODES {
            let node = net.start_node(i, test_rate()).await;
            net.urls.push(node.url.clone());
            net.nodes.push(Some(node));
        }
        net
    }

    pub async fn chain_as(&self, account: usize) -> Chain {
        Chain::connect(&self.rpc, Some(self.keys[account].clone()))
            .await
            .unwrap()
    }

    /// The account that registers [`Net::register_content`]'s contents (their key label).
    pub fn creator(&self) -> alloy::primitives::Address {
        self.keys[CREATOR].address()
    }

    /// Registers a fresh content (price 1 ELA, rent 0.1 ELA per hour) allowing `renderers`.
    pub async fn register_content(&self, renderers: &[B256]) -> Content {
        let key = random32();
        // A content of CREATOR: its id is derived from CREATOR's address and a random header
        // digest, as the packager derives it, so the registry accepts it from CREATOR only.
        let content = Content::of(
            self.creator(),
            key,
            self.group.encrypt(&self.creator(), &key).unwrap(),
        );
        self.register(CREATOR, &content, renderers, U256::from(10u128.pow(18)))
            .await;
        content
    }

    /// `account` registers `content` (its id, header digest and key ciphertext as given) at
    /// `price`, allowing this network's capsule: for attacks that register what they did not
    /// package.
    pub async fn register_as(&self, account: usize, content: &Content, price: U256) {
        self.register(account, content, &[self.measurement], price)
            .await;
    }

    async fn register(&self, account: usize, content: &Content, renderers: &[B256], price: U256) {
        let chain = self.chain_as(account).await;
        let req = MintRequest {
            header: HeaderFacts {
                content_id: content.id,
                header_digest: content.header_digest,
                key_commitment: key_commitment(&content.ciphertext),
                renderers: renderers.to_vec(),
            },
            cid: "bafkreitestcontent".into(),
            payment_token: alloy::primitives::Address::ZERO,
            terms: TermsInput {
                price,
                rent_price: U256::from(10u128.pow(17)),
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

    pub fn audit_path(&self, index: usize) -> PathBuf {
        self.dir.path().join(format!("node-{index}.audit.jsonl"))
    }

    pub fn config(&self, index: usize, share: KeyShareFile, rate_limit: RateLimit) -> NodeConfig {
        NodeConfig {
            share,
            group: self.group.clone(),
            deployment: self.dep.clone(),
            rpc: self.rpc.clone(),
            audit_path: self.audit_path(index),
            confirmations: 0,
            chain_timeout: Duration::from_secs(2),
            head_ttl: Duration::ZERO,
            rate_limit,
            registry: RegistryCheck::IfRegistered,
            require_hardware_runtime: false,
        }
    }

    pub async fn start_node(&self, index: usize, rate_limit: RateLimit) -> RunningNode {
        let share = KeyShareFile::load(&self.share_paths[index], &self.group).unwrap();
        serve(self.config(index, share, rate_limit)).await
    }

    /// Starts, in place of the stopped node `index`, a corrupted node: it keeps the node's
    /// operator key (so its responses are signed correctly) but holds the share of another
    /// group, so every decryption share it releases is wrong.
    pub async fn corrupt_node(&mut self, index: usize) {
        let other_dir = tempfile::tempdir().unwrap();
        let other = dealer::deal(NODES, THRESHOLD, other_dir.path()).unwrap();
        let other_group =
            GroupKey::from_json(&std::fs::read_to_string(&other.group_path).unwrap()).unwrap();
        let mut bad = KeyShareFile::load(&other.share_paths[index], &other_group).unwrap();
        let honest = KeyShareFile::load(&self.share_paths[index], &self.group).unwrap();
        bad.group_key_id = self.group.id();
        bad.operator = honest.operator;
        let node = serve(self.config(index, bad, test_rate())).await;
        self.urls[index] = node.url.clone();
        self.nodes[index] = Some(node);
    }

    /// Stops node `index` (its URL stays in the client's list).
    pub fn stop_node(&mut self, index: usize) {
        self.nodes[index] = None;
    }

    pub fn client(&self) -> LicenceClient {
        LicenceClient::new(
            self.urls.clone(),
            self.group.clone(),
            Duration::from_secs(5),
        )
        .unwrap()
    }

    /// A correct request for `content` by `account`, with its capsule secret.
    pub fn ask(&self, account: usize, content: &Content) -> (LicenceAsk, CapsuleSecret) {
        self.ask_with(account, content, |_, _| {})
    }

    /// A request built then changed by `edit` (on the fields before signing and on the
    /// attestation inputs), signed by `account`'s wallet.
    pub fn ask_with(
        &self,
        account: usize,
        content: &Content,
        edit: impl FnOnce(&mut RequestFields, &mut AttestationInputs),
    ) -> (LicenceAsk, CapsuleSecret) {
        let wallet = self.keys[account].credential().clone();
        self.ask_signed_by(&wallet, content, edit)
    }

    /// Like [`Self::ask_with`], signed by any wallet key (a fresh account costs nothing).
    pub fn ask_signed_by(
        &self,
        wallet: &SigningKey,
        content: &Content,
        edit: impl FnOnce(&mut RequestFields, &mut AttestationInputs),
    ) -> (LicenceAsk, CapsuleSecret) {
        let capsule = CapsuleSecret::generate();
        let mut att = AttestationInputs {
            measurement: self.measurement,
            runtime: self.runtime.clone(),
            issued_at: now(),
            ciphertext: content.ciphertext.clone(),
        };
        let mut fields = RequestFields {
            chain_id: self.dep.chain_id,
            access_contract: self.dep.contracts.access,
            content_id: content.id,
            key_commitment: B256::ZERO,
            capsule_key: capsule.public_key(),
            attestation_hash: B256::ZERO,
            nonce: B256::from(random32()),
            expiry: now() + 120,
        };
        edit(&mut fields, &mut att);
        let attestation = Attestation::sign(
            &att.runtime,
            att.measurement,
            fields.capsule_key,
            att.issued_at,
        )
        .unwrap();
        fields.attestation_hash = attestation.hash();
        fields.key_commitment = key_commitment(&att.ciphertext);
        let request = fields.sign(wallet).unwrap();
        (
            LicenceAsk {
                request,
                attestation,
                key_ciphertext: att.ciphertext.into(),
            },
            capsule,
        )
    }

    /// Asks the network, expecting every node to refuse with `code`; checks each node's audit
    /// log recorded that refusal. Returns the client's error text.
    /// `account` asks the network for this network's content; the licence's shares must
    /// combine to its content key.
    pub async fn expect_licensed(
        &self,
        account: usize,
    ) -> licence_net_client::host_combine::Licence {
        let (ask, capsule) = self.ask(account, &self.content);
        let licence = self
            .client()
            .request(&ask, &self.creator(), &capsule)
            .await
            .expect("licence");
        assert_eq!(
            licence.content_key(&self.group).unwrap().as_slice(),
            &self.content.key
        );
        licence
    }

    pub async fn expect_refused(
        &self,
        ask: &LicenceAsk,
        capsule: &CapsuleSecret,
        code: &str,
    ) -> String {
        let err = self
            .client()
            .request(ask, &self.creator(), capsule)
            .await
            .expect_err("the licence must be refused");
        let text = err.to_string();
        let ClientError::NotEnough {
            valid,
            answered,
            failures,
            ..
        } = &err
        else {
            panic!("unexpected error: {err}");
        };
        assert_eq!(*valid, 0, "{text}");
        assert_eq!(*answered, NODES, "{text}");
        for f in failures {
            match &f.problem {
                NodeProblem::Refused { code: c, .. } => assert_eq!(c, code, "{text}"),
                other => panic!("node {:?} did not refuse: {other}", f.node_index),
            }
        }
        assert!(text.contains(code), "{text}");
        for i in 0..NODES {
            let last = self.last_audit(i);
            assert_eq!(
                last.facts.reason.as_deref(),
                Some(code),
                "node {i}: {last:?}"
            );
            assert_eq!(last.decision, licence_net::audit::Decision::Refused);
        }
        text
    }

    pub fn audit_entries(&self, index: usize) -> Vec<AuditEntry> {
        let text = std::fs::read_to_string(self.audit_path(index)).unwrap();
        text.lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                serde_json::from_value(v["entry"].clone()).unwrap()
            })
            .collect()
    }

    pub fn last_audit(&self, index: usize) -> AuditEntry {
        self.audit_entries(index).pop().expect("an audit entry")
    }

    pub async fn revoke_capsule(&self, measurement: B256) {
        let c = self.chain_as(0).await;
        CapsuleRegistry::new(self.dep.contracts.capsule_registry, &c.provider)
            .revokeCapsule(measurement)
            .send()
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap();
    }

    pub async fn revoke_runtime(&self) {
        let c = self.chain_as(0).await;
        let addr = licence_net_protocol::address_of(self.runtime.verifying_key());
        CapsuleRegistry::new(self.dep.contracts.capsule_registry, &c.provider)
            .revokeRuntime(addr)
            .send()
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap();
    }

    /// Moves the chain's clock forward and mines a block.
    pub async fn travel(&self, seconds: u64) {
        let c = Chain::connect(&self.rpc, None).await.unwrap();
        let _: serde_json::Value = c
            .provider
            .raw_request("evm_increaseTime".into(), (seconds,))
            .await
            .unwrap();
        let _: serde_json::Value = c.provider.raw_request("evm_mine".into(), ()).await.unwrap();
    }

    /// Crafts chain state the registry never writes: `ContentRegistry.contentOfCommitment(creator,
    /// commitment)` answers `content` (anvil_setStorageAt on the mapping's slot, then a block).
    pub async fn forge_commitment_owner(
        &self,
        creator: alloy::primitives::Address,
        commitment: B256,
        content: U256,
    ) {
        use alloy::primitives::keccak256;
        use alloy::sol_types::SolValue;
        // `_contentOfCommitment` is storage slot 6 (`forge inspect ContentRegistry storageLayout`).
        let inner = keccak256((creator, U256::from(6u8)).abi_encode());
        let slot = keccak256((commitment, inner).abi_encode());
        let c = Chain::connect(&self.rpc, None).await.unwrap();
        let _: serde_json::Value = c
            .provider
            .raw_request(
                "anvil_setStorageAt".into(),
                (
                    self.dep.contracts.content_registry,
                    slot,
                    B256::from(content.to_be_bytes::<32>()),
                ),
            )
            .await
            .unwrap();
        let _: serde_json::Value = c.provider.raw_request("evm_mine".into(), ()).await.unwrap();
    }
}

/// What the attestation and ciphertext of a test request are made of.
pub struct AttestationInputs {
    pub measurement: B256,
    pub runtime: SigningKey,
    pub issued_at: u64,
    pub ciphertext: Vec<u8>,
}

/// Limits before parsing for tests: every node and client of a test shares 127.0.0.1.
pub fn test_admission() -> Admission {
    Admission {
        peer: test_rate(),
        global: test_rate(),
    }
}

/// Starts a node from a config on 127.0.0.1:0.
pub async fn serve(config: NodeConfig) -> RunningNode {
    serve_with(config, test_admission()).await
}

/// Starts a node from a config and admission limits on 127.0.0.1:0.
pub async fn serve_with(config: NodeConfig, admission: Admission) -> RunningNode {
    let state = NodeState::with_admission(config, admission)
        .await
        .expect("node starts");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    let s = state.clone();
    let task = tokio::spawn(async move {
        node::serve(listener, s, async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    RunningNode {
        url,
        state,
        stop: Some(stop),
        task,
    }
}

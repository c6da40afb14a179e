//! A local stack for player tests: anvil + contracts, the dev publisher allowed and the bundled
//! capsule registered, an approved runtime key, a 3-of-5 licence network, and packaged media.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use alloy::node_bindings::AnvilInstance;
use alloy::signers::local::PrivateKeySigner;
use contracts_bindings::bindings::CapsuleRegistry;
use contracts_bindings::chain::{self, DEFAULT_FEE_BPS};
use contracts_bindings::ops::{self, HeaderFacts, MintRequest, Purchase, TermsInput};
use contracts_bindings::testing::spawn_anvil;
use contracts_bindings::{Chain, DeployOptions, Deployment};
use licence_net::dealer;
use licence_net::node::{self, NodeConfig, NodeState, RateLimit};
use licence_net::KeyShareFile;
use licence_net_protocol::{GroupKey, B256, U256};
use player::runtime::RuntimeKey;
use player::{
    bundled_capsule, CapsulePackage, Host, PlayError, PlayOptions, PlayReport, RunLimits,
};
use tokio::sync::oneshot;

pub const NODES: usize = 5;
pub const THRESHOLD: usize = 3;
/// anvil accounts: 0 deploys, 1 creator, 3 buyer, 4 has bought nothing, 5 rents, 9 is the
/// DEV capsule publisher.
pub const CREATOR: usize = 1;
pub const BUYER: usize = 3;
pub const STRANGER: usize = 4;
pub const RENTER: usize = 5;
pub const PUBLISHER: usize = 9;

/// A node serving on loopback; stops when dropped.
pub struct RunningNode {
    pub url: String,
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

pub struct Stack {
    _anvil: AnvilInstance,
    pub rpc: String,
    pub dep: Deployment,
    pub keys: Vec<PrivateKeySigner>,
    pub dir: tempfile::TempDir,
    pub group: GroupKey,
    pub nodes: Vec<Option<RunningNode>>,
    pub urls: Vec<String>,
    pub runtime: Arc<RuntimeKey>,
    pub host: Host,
    pub require_hardware_runtime: bool,
}

/// Makes a test clip: `secs` seconds of a sine, stereo 48 kHz, FLAC.
pub fn make_audio(dir: &Path, secs: u32) -> PathBuf {
    tests::media::stereo_flac(&dir.join(format!("tone-{secs}s.flac")), secs)
}

/// How a [`Stack`] differs from the default one.
pub struct StackOptions {
    /// The runtime key plays use (approved on chain).
    pub runtime: RuntimeKey,
    /// More runtime ids to approve on chain.
    pub also_approve: Vec<alloy::primitives::Address>,
    /// Nodes refuse file-backed runtime keys.
    pub require_hardware_runtime: bool,
}

impl Stack {
    /// A stack whose runtime key is a file key in its folder.
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let runtime = RuntimeKey::load_or_create(&dir.path().join("runtime.key")).unwrap();
        Self::start_in(
            dir,
            StackOptions {
                runtime,
                also_approve: Vec::new(),
                require_hardware_runtime: false,
            },
        )
        .await
    }

    /// A stack in `dir` as `opts` says.
    pub async fn start_in(dir: tempfile::TempDir, opts: StackOptions) -> Self {
        let anvil = spawn_anvil();
        let rpc = anvil.endpoint();
        let keys: Vec<PrivateKeySigner> = anvil
            .keys()
            .iter()
            .map(|k| PrivateKeySigner::from(k.clone()))
            .collect();
        assert_eq!(
            keys[PUBLISHER].address().to_string().to_lowercase(),
            player::DEV_PUBLISHER_ADDRESS.to_lowercase(),
            "the DEV publisher is anvil account #9"
        );
        let StackOptions {
            runtime,
            also_approve,
            require_hardware_runtime,
        } = opts;
        let mut approve_runtimes = vec![runtime.address()];
        approve_runtimes.extend(also_approve);
        let deployer = Chain::connect(&rpc, Some(keys[0].clone())).await.unwrap();
        let opts = DeployOptions {
            fee_bps: DEFAULT_FEE_BPS,
            approve_runtimes,
            ..Default::default()
        };
        let dep = chain::deploy(&deployer, &opts).await.expect("deploy");
        let capsule = bundled_capsule();
        let registry = CapsuleRegistry::new(dep.contracts.capsule_registry, &deployer.provider);
        chain::confirm(
            "setPublisher",
            registry
                .setPublisher(capsule.publisher(), true)
                .send()
                .await,
        )
        .await
        .expect("setPublisher");
        let publisher = Chain::connect(&rpc, Some(keys[PUBLISHER].clone()))
            .await
            .unwrap();
        chain::confirm(
            "registerCapsule",
            CapsuleRegistry::new(dep.contracts.capsule_registry, &publisher.provider)
                .registerCapsule(capsule.measurement(), capsule.version())
                .send()
                .await,
        )
        .await
        .expect("registerCapsule");

        let dealt = dealer::deal(NODES, THRESHOLD, &dir.path().join("keys")).unwrap();
        let mut stack = Self {
            _anvil: anvil,
            rpc,
            dep,
            keys,
            dir,
            group: dealt.group,
            nodes: Vec::new(),
            urls: Vec::new(),
            runtime: Arc::new(runtime),
            host: Host::new().unwrap(),
            require_hardware_runtime,
        };
        for (i, share_path) in dealt.share_paths.iter().enumerate() {
            let share = KeyShareFile::load(share_path, &stack.group).unwrap();
            let node = stack.serve(i, share).await;
            stack.urls.push(node.url.clone());
            stack.nodes.push(Some(node));
        }
        stack
    }

    async fn serve(&self, index: usize, share: KeyShareFile) -> RunningNode {
        let config = NodeConfig {
            share,
            group: self.group.clone(),
            deployment: self.dep.clone(),
            rpc: self.rpc.clone(),
            audit_path: self.dir.path().join(format!("node-{index}.audit.jsonl")),
            confirmations: 0,
            chain_timeout: Duration::from_secs(2),
            head_ttl: Duration::ZERO,
            rate_limit: RateLimit {
                per_second: 1000.0,
                burst: 1000.0,
            },
            registry: node::RegistryCheck::IfRegistered,
            require_hardware_runtime: self.require_hardware_runtime,
        };
        let state = NodeState::new(config).await.expect("node starts");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            node::serve(listener, state, async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
        RunningNode {
            url,
            stop: Some(stop),
            task,
        }
    }

    pub fn stop_node(&mut self, index: usize) {
        self.nodes[index] = None;
    }

    pub async fn chain_as(&self, account: usize) -> Chain {
        Chain::connect(&self.rpc, Some(self.keys[account].clone()))
            .await
            .unwrap()
    }

    /// Packages `input` with the real packager (lossless: FLAC stays FLAC) for this network,
    /// allowing `renderers`.
    pub fn package(&self, input: &Path, renderers: Vec<[u8; 32]>) -> PathBuf {
        let output = input.with_extension("ddrm");
        let opts = packager::PackageOptions {
            input: input.to_path_buf(),
            output: output.clone(),
            group_key: self.group.clone(),
            renderers,
            title: Some("test tone".into()),
            creator: "player tests".into(),
            creator_account: self.keys[CREATOR].address(),
            as_data: false,
            lossless: true,
            export_key: None,
        };
        packager::package(&opts, &mut |_| {}).expect("package");
        output
    }

    /// Mints the packaged file (price 1 ELA, rent 0.1 ELA per hour), allowing `renderers` on
    /// chain. Returns the content id.
    pub async fn mint(&self, ddrm: &Path, renderers: Vec<B256>) -> U256 {
        let facts = ops::read_ddrm_header(ddrm).unwrap();
        let creator = self.chain_as(CREATOR).await;
        let req = MintRequest {
            header: HeaderFacts { renderers, ..facts },
            cid: "bafkreiplayertestcontent".into(),
            payment_token: alloy::primitives::Address::ZERO,
            terms: TermsInput {
                price: U256::from(10u128.pow(18)),
                rent_price: U256::from(10u128.pow(17)),
                rent_period: 3600,
                ..Default::default()
            },
            split: vec![(self.keys[CREATOR].address(), 10_000)],
        };
        let content = req.header.content_id;
        ops::mint(&creator, &self.dep, &req).await.expect("mint");
        content
    }

    pub async fn buy(&self, account: usize, content: U256) {
        let c = self.chain_as(account).await;
        ops::purchase(&c, &self.dep, content, Purchase::Buy)
            .await
            .expect("purchase");
    }

    fn wallet(&self, account: usize) -> k256::ecdsa::SigningKey {
        k256::ecdsa::SigningKey::from_slice(self.keys[account].to_bytes().as_slice()).unwrap()
    }

    /// Options to play `ddrm` as `account` with `capsule`, writing audio to `audio_out`.
    pub fn options(
        &self,
        ddrm: &Path,
        account: usize,
        capsule: CapsulePackage,
        audio_out: Option<PathBuf>,
        start: Duration,
    ) -> PlayOptions {
        PlayOptions {
            source: Box::new(std::fs::File::open(ddrm).unwrap()),
            wallet: self.wallet(account),
            runtime: self.runtime.clone(),
            rpc: self.rpc.clone(),
            deployment: self.dep.clone(),
            group_key: self.group.clone(),
            licence_nodes: self.urls.clone(),
            audio_out,
            video_out: None,
            start,
            capsule,
            limits: RunLimits {
                memory_bytes: 256 << 20,
                timeout: Duration::from_secs(120),
                ..RunLimits::default()
            },
            on_first_output: None,
        }
    }

    pub async fn play(&self, opts: PlayOptions) -> Result<PlayReport, PlayError> {
        player::play(&self.host, opts).await
    }
}

/// A clip packaged, minted (allowing the bundled capsule) and bought by [`BUYER`].
pub struct Bought {
    pub stack: Stack,
    pub source: PathBuf,
    pub ddrm: PathBuf,
    pub content: U256,
}

pub async fn bought_clip(secs: u32) -> Bought {
    bought_clip_on(Stack::start().await, secs).await
}

/// [`bought_clip`] on a given stack.
pub async fn bought_clip_on(stack: Stack, secs: u32) -> Bought {
    let capsule = bundled_capsule();
    let source = make_audio(stack.dir.path(), secs);
    let ddrm = stack.package(&source, vec![capsule.measurement().0]);
    let content = stack.mint(&ddrm, vec![capsule.measurement()]).await;
    stack.buy(BUYER, content).await;
    Bought {
        stack,
        source,
        ddrm,
        content,
    }
}

//! What `ddrm licence node|register|request` do, from plain options: the node's configuration
//! from its files, registering the network, and the licence diagnostic. The `ddrm` binary owns
//! the command line and prints what these return.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use contracts_bindings::Deployment;
use licence_net_protocol::GroupKey;

use crate::node::{self, NodeConfig, NodeError, NodeState, RateLimit, RegistryCheck};
use crate::{KeyShareFile, ShareError};

/// Default listen address of a node.
pub const DEFAULT_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 7400);
/// Default confirmations: the rights are read at `head - 1`.
pub const DEFAULT_CONFIRMATIONS: u64 = 1;
/// Default timeout of each chain call.
pub const DEFAULT_CHAIN_TIMEOUT: Duration = Duration::from_secs(3);
/// Default reuse of a fetched chain head.
pub const DEFAULT_HEAD_TTL: Duration = Duration::from_millis(500);
/// Default sustained licence requests per second per account.
pub const DEFAULT_RATE_PER_SECOND: f64 = 2.0;
/// Default burst of licence requests per account.
pub const DEFAULT_RATE_BURST: f64 = 20.0;
/// Default time allowed to each node by the licence diagnostic.
pub const DEFAULT_NODE_TIMEOUT: Duration = Duration::from_secs(5);

/// A licence node's options ([`NodeOptions::new`] gives the defaults).
#[derive(Debug, Clone)]
pub struct NodeOptions {
    /// This node's key share file (from `ddrm licence keygen` or distributed key generation).
    pub share: PathBuf,
    /// The group public key; default: `group.pub` beside the share file.
    pub group: Option<PathBuf>,
    /// Chain RPC endpoint: an HTTP(S) URL or `esc`, `esc-testnet`, `local`.
    pub rpc: String,
    /// The deployment file written by `ddrm chain deploy`.
    pub deployment: PathBuf,
    /// Address to listen on.
    pub listen: SocketAddr,
    /// The audit log (JSON lines); default: the share file's path with `.audit.jsonl`.
    pub audit: Option<PathBuf>,
    /// Rights are read at the block `confirmations` below the chain head.
    pub confirmations: u64,
    /// Timeout of every chain call.
    pub chain_timeout: Duration,
    /// How long a fetched chain head is reused (zero: every request reads the head).
    pub head_ttl: Duration,
    /// Sustained licence requests per second allowed per account.
    pub rate_per_second: f64,
    /// Licence requests an account may make in a burst.
    pub rate_burst: f64,
    /// Sustained licence requests per second allowed per peer IP (IPv6: per /64), checked
    /// before a request is parsed.
    pub peer_rate_per_second: f64,
    /// Licence requests a peer may make in a burst.
    pub peer_rate_burst: f64,
    /// Sustained licence requests per second over all peers, checked before parsing.
    pub global_rate_per_second: f64,
    /// Licence requests over all peers in a burst.
    pub global_rate_burst: f64,
    /// Refuse to start unless a licence network is registered in LicenceNetworkRegistry (a
    /// registered network must match this node's group key in any case).
    pub require_registry: bool,
    /// Refuse runtime attestations made with a file key (file-secp256k1, local development
    /// only): only TPM-held runtime keys (tpm2-p256) get a share.
    pub require_hardware_runtime: bool,
}

impl NodeOptions {
    /// A node on its share, chain and deployment, with every other option at its default.
    pub fn new(share: PathBuf, rpc: String, deployment: PathBuf) -> Self {
        Self {
            share,
            group: None,
            rpc,
            deployment,
            listen: DEFAULT_LISTEN,
            audit: None,
            confirmations: DEFAULT_CONFIRMATIONS,
            chain_timeout: DEFAULT_CHAIN_TIMEOUT,
            head_ttl: DEFAULT_HEAD_TTL,
            rate_per_second: DEFAULT_RATE_PER_SECOND,
            rate_burst: DEFAULT_RATE_BURST,
            peer_rate_per_second: node::DEFAULT_PEER_RATE.per_second,
            peer_rate_burst: node::DEFAULT_PEER_RATE.burst,
            global_rate_per_second: node::DEFAULT_GLOBAL_RATE.per_second,
            global_rate_burst: node::DEFAULT_GLOBAL_RATE.burst,
            require_registry: false,
            require_hardware_runtime: false,
        }
    }
}

/// The licence diagnostic's options (`ddrm licence request`).
#[derive(Debug, Clone)]
pub struct RequestOptions {
    /// Chain RPC endpoint (for the registered network; also checks the chain id).
    pub rpc: String,
    /// The deployment file written by `ddrm chain deploy`.
    pub deployment: PathBuf,
    /// The buyer wallet's private key.
    pub wallet: contracts_bindings::commands::SignerSource,
    /// File holding the runtime attestation key (hex, first line; approved on chain).
    pub runtime_key_file: PathBuf,
    /// The capsule whose measurement (SHA-256 of its bytes) is attested.
    pub capsule: PathBuf,
    /// Node base URLs with their group key; `None`: the network registered in
    /// LicenceNetworkRegistry.
    pub network: Option<(Vec<String>, PathBuf)>,
    /// Time allowed to each node.
    pub node_timeout: Duration,
}

/// Errors of the licence commands.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("cannot read the group key {path}: {why}")]
    Group { path: String, why: String },
    #[error(transparent)]
    Share(#[from] ShareError),
    #[error(transparent)]
    Deployment(#[from] contracts_bindings::ChainError),
    #[error(transparent)]
    Node(#[from] NodeError),
    #[error("the node stopped: {0}")]
    Serve(std::io::Error),
    #[error(transparent)]
    Connect(#[from] contracts_bindings::commands::CommandError),
    #[error("cannot read {path}: {why}")]
    KeyFile { path: String, why: String },
    #[error(transparent)]
    Client(#[from] licence_net_client::ClientError),
    #[error(transparent)]
    Protocol(#[from] licence_net_protocol::ProtocolError),
    #[error(transparent)]
    Registry(#[from] licence_net_client::registry::RegistryError),
    /// Fewer than the threshold would grant; the diagnosis says who refused and why.
    #[error("{0}")]
    NotGranted(Box<Diagnosis>),
}

fn load_group(path: &std::path::Path) -> Result<GroupKey, CommandError> {
    let bad = |why: String| CommandError::Group {
        path: path.display().to_string(),
        why,
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    GroupKey::from_json(&text).map_err(|e| bad(e.to_string()))
}

fn wallet_key(
    wallet: &contracts_bindings::commands::SignerSource,
) -> Result<k256::ecdsa::SigningKey, CommandError> {
    let signer = wallet
        .signer()?
        .ok_or(contracts_bindings::ChainError::NoKey)?;
    Ok(signer.credential().clone())
}

fn key_from_file(path: &std::path::Path) -> Result<k256::ecdsa::SigningKey, CommandError> {
    let text = zeroize::Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
        CommandError::KeyFile {
            path: path.display().to_string(),
            why: e.to_string(),
        }
    })?);
    let signer = contracts_bindings::chain::parse_private_key(
        text.lines().next().unwrap_or_default().trim(),
    )?;
    Ok(signer.credential().clone())
}

/// `ddrm licence request`: a diagnostic. Asks every node for a licence for the content of
/// `key_ciphertext` and reports, node by node, whether it would grant (with the policy it
/// signed) or why it refused. No share is ever opened: the request names a capsule key whose
/// secret is dropped before anything is sent, so what the nodes seal can be opened by nobody.
/// Content keys are recovered only inside the player capsule (`ddrm play`).
pub async fn run_request(
    options: &RequestOptions,
    content_id: licence_net_protocol::U256,
    key_ciphertext: Vec<u8>,
) -> Result<Diagnosis, CommandError> {
    let deployment = Deployment::load(&options.deployment)?;
    let timeout = options.node_timeout;
    let chain = contracts_bindings::Chain::connect(&options.rpc, None).await?;
    if chain.chain_id != deployment.chain_id {
        return Err(NodeError::WrongChain {
            deployment: deployment.chain_id,
            rpc: chain.chain_id,
        }
        .into());
    }
    let client = match &options.network {
        Some((endpoints, group)) => {
            licence_net_client::LicenceClient::new(endpoints.clone(), load_group(group)?, timeout)?
        }
        _ => {
            licence_net_client::LicenceClient::from_registry(&chain.provider, &deployment, timeout)
                .await?
        }
    };
    let capsule_bytes = std::fs::read(&options.capsule).map_err(|e| CommandError::KeyFile {
        path: options.capsule.display().to_string(),
        why: e.to_string(),
    })?;
    let (ask, capsule) = licence_net_client::sign_ask(
        &wallet_key(&options.wallet)?,
        &key_from_file(&options.runtime_key_file)?,
        licence_net_protocol::measure(&capsule_bytes),
        &deployment,
        content_id,
        key_ciphertext,
    )?;
    drop(capsule);
    let diagnosis = diagnose(&client, &ask).await?;
    if diagnosis.would_issue {
        Ok(diagnosis)
    } else {
        Err(CommandError::NotGranted(Box::new(diagnosis)))
    }
}

/// What `ddrm licence request` found: which nodes would grant and why the others did not. The
/// shares were sealed to a discarded capsule key and never opened: a diagnosis, not a licence.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Diagnosis {
    /// Nodes asked.
    pub asked: usize,
    /// Shares a licence needs.
    pub threshold: usize,
    /// Whether at least `threshold` nodes would grant.
    pub would_issue: bool,
    /// The nodes that would grant, by share index, with the policy each signed.
    pub granting: Vec<Grant>,
    /// Each node that refused or failed, as the client described it.
    pub refusals: Vec<String>,
}

/// One node's grant in a [`Diagnosis`].
#[derive(Debug, Clone, serde::Serialize)]
pub struct Grant {
    pub node: u32,
    pub policy: licence_net_protocol::LicencePolicy,
}

impl std::fmt::Display for Diagnosis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} of {} nodes would grant (threshold {}): {}\n(diagnostic: the shares were sealed to a discarded capsule key and not opened; content keys are recovered only inside the player capsule)",
            self.granting.len(),
            self.asked,
            self.threshold,
            if self.would_issue { "a licence would be issued" } else { "no licence" },
        )?;
        for g in &self.granting {
            let policy = serde_json::to_string(&g.policy).map_err(|_| std::fmt::Error)?;
            write!(f, "\n  node {}: grants, policy {policy}", g.node)?;
        }
        for r in &self.refusals {
            write!(f, "\n  {r}")?;
        }
        Ok(())
    }
}

/// Asks every node and describes each answer (envelope checked, sealed share unopened).
async fn diagnose(
    client: &licence_net_client::LicenceClient,
    ask: &licence_net_protocol::LicenceAsk,
) -> Result<Diagnosis, CommandError> {
    let (responses, failures) = match client.gather(ask).await {
        Ok(mut g) => {
            g.rest().await;
            (
                std::mem::take(&mut g.responses),
                std::mem::take(&mut g.failures),
            )
        }
        Err(licence_net_client::ClientError::NotEnough { failures, .. }) => (Vec::new(), failures),
        Err(e) => return Err(e.into()),
    };
    let mut granting: Vec<Grant> = responses
        .into_iter()
        .map(|r| Grant {
            node: r.node_index,
            policy: r.policy,
        })
        .collect();
    granting.sort_by_key(|g| g.node);
    let threshold = client.group().threshold();
    Ok(Diagnosis {
        asked: client.endpoints().len(),
        threshold,
        would_issue: granting.len() >= threshold,
        granting,
        refusals: failures.iter().map(ToString::to_string).collect(),
    })
}

/// A licence network registered in LicenceNetworkRegistry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Registered {
    /// The registry's epoch that starts with this network.
    pub epoch: u64,
    pub threshold: usize,
    pub nodes: usize,
    /// The group key's id (hex).
    pub group_key_id: String,
}

impl std::fmt::Display for Registered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "licence network {}-of-{} (group key {}) registered: epoch {}",
            self.threshold, self.nodes, self.group_key_id, self.epoch
        )
    }
}

/// `ddrm licence register`: registers the group key and the nodes' `endpoints` (in share order)
/// with the deployment's owner key.
pub async fn run_register(
    target: &contracts_bindings::commands::Target,
    group: &Path,
    endpoints: &[String],
) -> Result<Registered, CommandError> {
    let group = load_group(group)?;
    let deployment = Deployment::load(&target.deployment)?;
    let chain = target.connect.connect(true).await?;
    let epoch =
        licence_net_client::registry::register(&chain, &deployment, &group, endpoints).await?;
    Ok(Registered {
        epoch,
        threshold: group.threshold(),
        nodes: group.nodes(),
        group_key_id: hex::encode(group.id()),
    })
}

impl NodeOptions {
    /// The limits checked before a request is parsed.
    pub fn admission(&self) -> node::Admission {
        node::Admission {
            peer: RateLimit {
                per_second: self.peer_rate_per_second,
                burst: self.peer_rate_burst,
            },
            global: RateLimit {
                per_second: self.global_rate_per_second,
                burst: self.global_rate_burst,
            },
        }
    }

    /// Loads the files and builds the node's configuration.
    pub fn config(&self) -> Result<NodeConfig, CommandError> {
        let group_path = self.group.clone().unwrap_or_else(|| {
            self.share
                .parent()
                .unwrap_or(std::path::Path::new("."))
                .join("group.pub")
        });
        let group = load_group(&group_path)?;
        let share = KeyShareFile::load(&self.share, &group)?;
        let deployment = Deployment::load(&self.deployment)?;
        let audit_path = self
            .audit
            .clone()
            .unwrap_or_else(|| self.share.with_extension("audit.jsonl"));
        Ok(NodeConfig {
            share,
            group,
            deployment,
            rpc: self.rpc.clone(),
            audit_path,
            confirmations: self.confirmations,
            chain_timeout: self.chain_timeout,
            head_ttl: self.head_ttl,
            rate_limit: RateLimit {
                per_second: self.rate_per_second,
                burst: self.rate_burst,
            },
            registry: if self.require_registry {
                RegistryCheck::Required
            } else {
                RegistryCheck::IfRegistered
            },
            require_hardware_runtime: self.require_hardware_runtime,
        })
    }
}

/// `ddrm licence node`: starts the node, hands `announce` the line saying what it serves, and
/// runs until Ctrl-C.
pub async fn run_node(
    options: NodeOptions,
    announce: impl FnOnce(String),
) -> Result<(), CommandError> {
    let state = NodeState::with_admission(options.config()?, options.admission()).await?;
    let listener = node::bind(options.listen).await?;
    let info = state.info();
    let addr = listener.local_addr().map_err(CommandError::Serve)?;
    announce(format!(
        "licence node {} of {} (threshold {}) on http://{addr}, chain {}, {} confirmations, audit log with {} entries, {}",
        info.node_index + 1,
        info.nodes,
        info.threshold,
        info.chain_id,
        info.confirmations,
        info.audit_entries,
        match info.registry_epoch {
            0 => "no network registered on chain yet".to_string(),
            e => format!("group key matches LicenceNetworkRegistry epoch {e}"),
        }
    ));
    node::serve(listener, state, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
    .map_err(CommandError::Serve)
}

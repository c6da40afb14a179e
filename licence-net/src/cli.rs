//! The `ddrm licence node` and `ddrm licence audit` command-line surface: clap argument structs
//! and the functions the binary calls.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use contracts_bindings::Deployment;
use licence_net_protocol::GroupKey;

use crate::audit::{verify_file, AuditError, AuditSummary};
use crate::node::{self, NodeConfig, NodeError, NodeState, RateLimit, RegistryCheck};
use crate::{KeyShareFile, ShareError};

/// Default listen address of a node.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7400";
/// Default confirmations: the rights are read at `head - 1`.
pub const DEFAULT_CONFIRMATIONS: u64 = 1;
/// Default timeout of each chain call, in milliseconds.
pub const DEFAULT_CHAIN_TIMEOUT_MS: u64 = 3000;
/// Default reuse of a fetched chain head, in milliseconds.
pub const DEFAULT_HEAD_TTL_MS: u64 = 500;
/// Default sustained licence requests per second per account.
pub const DEFAULT_RATE_PER_SECOND: f64 = 2.0;
/// Default burst of licence requests per account.
pub const DEFAULT_RATE_BURST: f64 = 20.0;

/// Run a licence node.
#[derive(Debug, Clone, clap::Args)]
pub struct NodeArgs {
    /// This node's key share file (from `ddrm licence keygen` or distributed key generation).
    #[arg(long)]
    pub share: PathBuf,
    /// The group public key; default: `group.pub` beside the share file.
    #[arg(long)]
    pub group: Option<PathBuf>,
    /// Chain RPC endpoint: an HTTP(S) URL or `esc`, `esc-testnet`, `local`.
    #[arg(long, env = "DDRM_RPC")]
    pub rpc: String,
    /// The deployment file written by `ddrm chain deploy`.
    #[arg(long)]
    pub deployment: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// The audit log (JSON lines); default: the share file's path with `.audit.jsonl`.
    #[arg(long)]
    pub audit: Option<PathBuf>,
    /// Rights are read at the block `confirmations` below the chain head.
    #[arg(long, default_value_t = DEFAULT_CONFIRMATIONS)]
    pub confirmations: u64,
    /// Timeout of every chain call, in milliseconds.
    #[arg(long, default_value_t = DEFAULT_CHAIN_TIMEOUT_MS)]
    pub chain_timeout_ms: u64,
    /// How long a fetched chain head is reused, in milliseconds (0: every request).
    #[arg(long, default_value_t = DEFAULT_HEAD_TTL_MS)]
    pub head_ttl_ms: u64,
    /// Sustained licence requests per second allowed per account.
    #[arg(long, default_value_t = DEFAULT_RATE_PER_SECOND)]
    pub rate_per_second: f64,
    /// Licence requests an account may make in a burst.
    #[arg(long, default_value_t = DEFAULT_RATE_BURST)]
    pub rate_burst: f64,
    /// Sustained licence requests per second allowed per peer IP (IPv6: per /64), checked
    /// before a request is parsed.
    #[arg(long, default_value_t = node::DEFAULT_PEER_RATE.per_second)]
    pub peer_rate_per_second: f64,
    /// Licence requests a peer may make in a burst.
    #[arg(long, default_value_t = node::DEFAULT_PEER_RATE.burst)]
    pub peer_rate_burst: f64,
    /// Sustained licence requests per second over all peers, checked before parsing.
    #[arg(long, default_value_t = node::DEFAULT_GLOBAL_RATE.per_second)]
    pub global_rate_per_second: f64,
    /// Licence requests over all peers in a burst.
    #[arg(long, default_value_t = node::DEFAULT_GLOBAL_RATE.burst)]
    pub global_rate_burst: f64,
    /// Refuse to start unless a licence network is registered in LicenceNetworkRegistry (a
    /// registered network must match this node's group key in any case).
    #[arg(long)]
    pub require_registry: bool,
    /// Refuse runtime attestations made with a file key (file-secp256k1, local development
    /// only): only TPM-held runtime keys (tpm2-p256) get a share.
    #[arg(long)]
    pub require_hardware_runtime: bool,
}

/// Register the licence network in LicenceNetworkRegistry (starts a new epoch).
#[derive(Debug, Clone, clap::Args)]
pub struct RegisterArgs {
    #[command(flatten)]
    pub connect: contracts_bindings::cli::ConnectArgs,
    #[command(flatten)]
    pub deployment: contracts_bindings::cli::DeploymentArgs,
    /// The group public key (group.pub from `ddrm licence keygen`).
    #[arg(long)]
    pub group: Option<PathBuf>,
    /// Each node's base URL, in share order (node-1 first); repeat the flag or separate by
    /// commas. Required (or given by `--stack`).
    #[arg(long = "endpoint", value_delimiter = ',')]
    pub endpoints: Vec<String>,
}

/// Diagnose licensing: ask every node as a player runtime would (the wallet signs the request, the
/// runtime key attests the capsule) and report which nodes grant and why others refuse. The
/// shares are sealed to a capsule key that is discarded unopened: no key is recovered here.
#[derive(Debug, Clone, clap::Args)]
pub struct RequestArgs {
    /// The packaged .ddrm file (its header gives the content id and the key ciphertext).
    pub file: PathBuf,
    /// Chain RPC endpoint (for the registered network; also checks the chain id). Required (or
    /// given by `--stack`).
    #[arg(long, env = "DDRM_RPC")]
    pub rpc: Option<String>,
    /// The deployment file written by `ddrm chain deploy`. Required (or given by `--stack`).
    #[arg(long)]
    pub deployment: Option<PathBuf>,
    /// File holding the buyer wallet's hex private key (first line).
    #[arg(long)]
    pub wallet_key_file: PathBuf,
    /// File holding the runtime attestation key (hex, first line; approved on chain).
    #[arg(long)]
    pub runtime_key_file: PathBuf,
    /// The capsule whose measurement (SHA-256 of its bytes) is attested.
    #[arg(long)]
    pub capsule: PathBuf,
    /// Node base URLs (repeat or separate by commas); default: the network registered in
    /// LicenceNetworkRegistry. Needs --group.
    #[arg(long = "endpoint", value_delimiter = ',', requires = "group")]
    pub endpoints: Vec<String>,
    /// The group public key, with --endpoint.
    #[arg(long)]
    pub group: Option<PathBuf>,
    /// Time allowed to each node, in milliseconds.
    #[arg(long, default_value_t = 5000)]
    pub node_timeout_ms: u64,
}

/// Audit log commands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum AuditCommand {
    /// Checks a node's audit log: detects any edited, dropped or reordered line.
    Verify {
        /// The audit log file.
        file: PathBuf,
    },
}

/// Errors of the licence commands.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("cannot read the group key {path}: {why}")]
    Group { path: String, why: String },
    #[error(transparent)]
    Share(#[from] ShareError),
    #[error(transparent)]
    Deployment(#[from] contracts_bindings::ChainError),
    #[error(transparent)]
    Node(#[from] NodeError),
    #[error(transparent)]
    Audit(#[from] AuditError),
    #[error("the node stopped: {0}")]
    Serve(std::io::Error),
    #[error(transparent)]
    Connect(#[from] contracts_bindings::cli::CliError),
    #[error("cannot read {path}: {why}")]
    KeyFile { path: String, why: String },
    #[error(transparent)]
    Client(#[from] licence_net_client::ClientError),
    #[error(transparent)]
    Protocol(#[from] licence_net_protocol::ProtocolError),
    #[error(transparent)]
    Registry(#[from] licence_net_client::registry::RegistryError),
    #[error("{0} is required (or --stack PATH/stack.json)")]
    Missing(&'static str),
    #[error("{0}")]
    NotGranted(String),
}

fn required<T>(value: Option<T>, flag: &'static str) -> Result<T, CliError> {
    value.ok_or(CliError::Missing(flag))
}

fn load_group(path: &std::path::Path) -> Result<GroupKey, CliError> {
    let bad = |why: String| CliError::Group {
        path: path.display().to_string(),
        why,
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    GroupKey::from_json(&text).map_err(|e| bad(e.to_string()))
}

fn key_from_file(path: &std::path::Path) -> Result<k256::ecdsa::SigningKey, CliError> {
    let text =
        zeroize::Zeroizing::new(
            std::fs::read_to_string(path).map_err(|e| CliError::KeyFile {
                path: path.display().to_string(),
                why: e.to_string(),
            })?,
        );
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
    args: RequestArgs,
    content_id: licence_net_protocol::U256,
    key_ciphertext: Vec<u8>,
) -> Result<String, CliError> {
    let deployment = Deployment::load(&required(args.deployment.clone(), "--deployment")?)?;
    let timeout = Duration::from_millis(args.node_timeout_ms);
    let rpc = required(args.rpc.clone(), "--rpc")?;
    let chain = contracts_bindings::Chain::connect(&rpc, None).await?;
    if chain.chain_id != deployment.chain_id {
        return Err(NodeError::WrongChain {
            deployment: deployment.chain_id,
            rpc: chain.chain_id,
        }
        .into());
    }
    let client = match &args.group {
        Some(group) if !args.endpoints.is_empty() => licence_net_client::LicenceClient::new(
            args.endpoints.clone(),
            load_group(group)?,
            timeout,
        )?,
        _ => {
            licence_net_client::LicenceClient::from_registry(&chain.provider, &deployment, timeout)
                .await?
        }
    };
    let capsule_bytes = std::fs::read(&args.capsule).map_err(|e| CliError::KeyFile {
        path: args.capsule.display().to_string(),
        why: e.to_string(),
    })?;
    let (ask, capsule) = licence_net_client::sign_ask(
        &key_from_file(&args.wallet_key_file)?,
        &key_from_file(&args.runtime_key_file)?,
        licence_net_protocol::measure(&capsule_bytes),
        &deployment,
        content_id,
        key_ciphertext,
    )?;
    drop(capsule);
    let (text, granted) = diagnose(&client, &ask).await;
    if granted {
        Ok(text)
    } else {
        Err(CliError::NotGranted(text))
    }
}

/// Asks every node and describes each answer (envelope checked, sealed share unopened).
async fn diagnose(
    client: &licence_net_client::LicenceClient,
    ask: &licence_net_protocol::LicenceAsk,
) -> (String, bool) {
    let needed = client.group().threshold();
    let asked = client.endpoints().len();
    let (responses, failures) = match client.gather(ask).await {
        Ok(mut g) => {
            g.rest().await;
            (
                std::mem::take(&mut g.responses),
                std::mem::take(&mut g.failures),
            )
        }
        Err(licence_net_client::ClientError::NotEnough { failures, .. }) => (Vec::new(), failures),
        Err(e) => return (format!("licence request failed: {e}"), false),
    };
    let mut granting: Vec<u32> = responses.iter().map(|r| r.node_index).collect();
    granting.sort();
    let mut text = format!(
        "{} of {asked} nodes would grant (threshold {needed}): {}\n(diagnostic: the shares were sealed to a discarded capsule key and not opened; content keys are recovered only inside the player capsule)",
        granting.len(),
        if granting.len() >= needed { "a licence would be issued" } else { "no licence" },
    );
    for r in &responses {
        text.push_str(&format!(
            "\n  node {}: grants, policy {}",
            r.node_index,
            serde_json::to_string(&r.policy).expect("policy serializes")
        ));
    }
    for f in &failures {
        text.push_str(&format!("\n  {f}"));
    }
    (text, granting.len() >= needed)
}

/// `ddrm licence register`: returns the line the binary prints.
pub async fn run_register(args: RegisterArgs) -> Result<String, CliError> {
    let group = load_group(&required(args.group, "--group")?)?;
    if args.endpoints.is_empty() {
        return Err(CliError::Missing("--endpoint (once per node)"));
    }
    let deployment = Deployment::load(&args.deployment.deployment)?;
    let chain = args.connect.connect(true).await?;
    let epoch =
        licence_net_client::registry::register(&chain, &deployment, &group, &args.endpoints)
            .await?;
    Ok(format!(
        "licence network {}-of-{} (group key {}) registered: epoch {epoch}",
        group.threshold(),
        group.nodes(),
        hex::encode(group.id())
    ))
}

impl NodeArgs {
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
    pub fn config(&self) -> Result<NodeConfig, CliError> {
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
            chain_timeout: Duration::from_millis(self.chain_timeout_ms),
            head_ttl: Duration::from_millis(self.head_ttl_ms),
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

/// `ddrm licence node`: runs until Ctrl-C.
pub async fn run_node(args: NodeArgs) -> Result<(), CliError> {
    let state = NodeState::with_admission(args.config()?, args.admission()).await?;
    let listener = node::bind(args.listen).await?;
    let info = state.info();
    let addr = listener.local_addr().map_err(CliError::Serve)?;
    println!(
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
    );
    node::serve(listener, state, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
    .map_err(CliError::Serve)
}

/// `ddrm licence audit verify FILE`: returns the summary the binary prints, or the first broken
/// line.
pub fn run_audit(cmd: AuditCommand) -> Result<AuditSummary, CliError> {
    match cmd {
        AuditCommand::Verify { file } => Ok(verify_file(&file)?),
    }
}

impl std::fmt::Display for AuditSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "audit log intact: {} entries ({} granted, {} refused), head {}",
            self.entries, self.granted, self.refused, self.head
        )
    }
}

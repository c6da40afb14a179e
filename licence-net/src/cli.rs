//! The `ddrm licence node` and `ddrm licence audit` command-line surface: clap argument structs
//! and the functions the binary calls.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use contracts_bindings::Deployment;
use licence_net_protocol::GroupKey;

use crate::audit::{verify_file, AuditError, AuditSummary};
use crate::node::{self, NodeConfig, NodeError, NodeState, RateLimit};
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
}

impl NodeArgs {
    /// Loads the files and builds the node's configuration.
    pub fn config(&self) -> Result<NodeConfig, CliError> {
        let group_path = self.group.clone().unwrap_or_else(|| {
            self.share
                .parent()
                .unwrap_or(std::path::Path::new("."))
                .join("group.pub")
        });
        let text = std::fs::read_to_string(&group_path).map_err(|e| CliError::Group {
            path: group_path.display().to_string(),
            why: e.to_string(),
        })?;
        let group = GroupKey::from_json(&text).map_err(|e| CliError::Group {
            path: group_path.display().to_string(),
            why: e.to_string(),
        })?;
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
        })
    }
}

/// `ddrm licence node`: runs until Ctrl-C.
pub async fn run_node(args: NodeArgs) -> Result<(), CliError> {
    let state = NodeState::new(args.config()?).await?;
    let listener = node::bind(args.listen).await?;
    let info = state.info();
    let addr = listener.local_addr().map_err(CliError::Serve)?;
    println!(
        "licence node {} of {} (threshold {}) on http://{addr}, chain {}, {} confirmations, audit log with {} entries",
        info.node_index + 1,
        info.nodes,
        info.threshold,
        info.chain_id,
        info.confirmations,
        info.audit_entries
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

//! `ddrm indexer`: follow a deployment's events into SQL.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use indexer::follow::{FollowConfig, Follower, Step, DEFAULT_CONFIRMATIONS};
use indexer::Db;

use super::args::{ChainArgs, Resolve};

/// Default seconds to wait for one RPC answer.
const DEFAULT_RPC_TIMEOUT_SECS: u64 = 15;

#[derive(Debug, clap::Args)]
pub struct IndexerArgs {
    /// The chain to follow (both required).
    #[command(flatten)]
    pub chain: ChainArgs,
    /// `sqlite://PATH?mode=rwc` or `postgres://USER@HOST/DB`
    /// [default: SQLite at <data dir>/index.sqlite]
    #[arg(long, env = "DDRM_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Where the default SQLite index lives [default: the stack's data directory with --stack,
    /// else $XDG_DATA_HOME/ddrm or ~/.local/share/ddrm]
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Blocks a block must be buried under before it is indexed.
    #[arg(long, default_value_t = DEFAULT_CONFIRMATIONS)]
    pub confirmations: u64,
    /// Seconds to wait for any one RPC answer.
    #[arg(long, default_value_t = DEFAULT_RPC_TIMEOUT_SECS)]
    pub rpc_timeout: u64,
    /// Exit once caught up with the confirmed chain tip instead of following it.
    #[arg(long)]
    pub once: bool,
}

impl Resolve for IndexerArgs {
    /// With --stack, the index lives under the stack's data directory.
    fn resolve(&mut self, stack: Option<&stack::StackFile>) -> anyhow::Result<()> {
        self.chain.resolve(stack)?;
        if let (None, Some(stack)) = (&self.data_dir, stack) {
            self.data_dir = Some(stack.data_dir.clone());
        }
        Ok(())
    }
}

pub async fn run(args: IndexerArgs) -> anyhow::Result<()> {
    let rpc = args.chain.rpc.required()?;
    let deployment = contracts_bindings::Deployment::load(&args.chain.deployment.required()?)?;
    let url = match args.database_url {
        Some(url) => url,
        None => {
            let dir = args.data_dir.unwrap_or_else(store::default_data_dir);
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("create the data directory {}", dir.display()))?;
            indexer::db::default_sqlite_url(&dir)
        }
    };
    let shown = indexer::db::redact(&url);
    let db = Db::open(&url)
        .await
        .with_context(|| format!("open the index {shown}"))?;
    let cfg = FollowConfig {
        confirmations: args.confirmations,
        rpc_timeout: Duration::from_secs(args.rpc_timeout.max(1)),
        ..FollowConfig::default()
    };
    let mut follower = Follower::new(db, &rpc, deployment, cfg).await?;
    tracing::info!(database = %shown, "indexing");
    let report = |s: &Step| match s {
        Step::Applied { from, to, events } => {
            tracing::info!(from, to, events, "blocks applied")
        }
        Step::RolledBack {
            ancestor,
            dropped_events,
        } => tracing::warn!(
            ancestor = ?ancestor,
            dropped_events,
            "reorganisation: rolled back"
        ),
        Step::Retry { reason } => tracing::warn!(%reason, "retrying"),
        Step::CaughtUp { .. } => {}
    };
    if args.once {
        for s in follower.catch_up(10).await? {
            report(&s);
        }
    } else {
        follower.run(super::shutdown_signal(), report).await?;
    }
    follower.close().await;
    Ok(())
}

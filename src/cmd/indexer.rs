//! `ddrm indexer`: follow a deployment's events into SQL.

use std::time::Duration;

use anyhow::Context;
use indexer::follow::{FollowConfig, Follower, Step, DEFAULT_CONFIRMATIONS, DEFAULT_RPC_TIMEOUT};
use indexer::Db;

use super::args::{ChainArgs, DataDirArgs, DurationArg, Resolve};

#[derive(Debug, clap::Args)]
pub struct IndexerArgs {
    /// The chain to follow (both required).
    #[command(flatten)]
    pub chain: ChainArgs,
    /// `sqlite://PATH?mode=rwc` or `postgres://USER@HOST/DB`
    /// [default: SQLite at <data dir>/index.sqlite]
    #[arg(long, env = "DDRM_DATABASE_URL")]
    pub database_url: Option<String>,
    /// The default SQLite index lives in the data directory.
    #[command(flatten)]
    pub data: DataDirArgs,
    /// Blocks a block must be buried under before it is indexed [default: 12; with --stack:
    /// the stack's chain's own depth, 0 on its anvil].
    #[arg(long)]
    pub confirmations: Option<u64>,
    /// How long to wait for any one RPC answer (e.g. 10s).
    #[arg(long, default_value_t = DurationArg(DEFAULT_RPC_TIMEOUT))]
    pub rpc_timeout: DurationArg,
    /// Exit once caught up with the confirmed chain tip instead of following it.
    #[arg(long)]
    pub once: bool,
}

impl Resolve for IndexerArgs {
    /// With --stack, the index lives in the stack's data directory.
    fn resolve(&mut self, stack: Option<&stack::StackFile>) -> anyhow::Result<()> {
        self.chain.resolve(stack)?;
        if self.confirmations.is_none() {
            self.confirmations = stack.and_then(|s| s.chain.confirmations);
        }
        self.data.resolve(stack)
    }
}

pub async fn run(args: IndexerArgs) -> anyhow::Result<()> {
    let rpc = args.chain.rpc.required()?;
    let deployment = contracts_bindings::Deployment::load(&args.chain.deployment.required()?)?;
    let url = match args.database_url {
        Some(url) => url,
        None => {
            let dir = args.data.dir();
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
        confirmations: args.confirmations.unwrap_or(DEFAULT_CONFIRMATIONS),
        rpc_timeout: args.rpc_timeout.0.max(Duration::from_millis(1)),
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

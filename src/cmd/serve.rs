//! `ddrm serve`: the market API over an index.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use contracts_bindings::{Chain, Deployment};
use licence_net_protocol::GroupKey;
use market_api::{ApiConfig, AppState, RateLimit};
use stack::StackFile;

use super::args::{ChainArgs, GroupKeyArgs, Resolve};

/// Default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// Default largest upload, MiB.
pub const DEFAULT_MAX_UPLOAD_MIB: u64 = 512;
/// Default sustained requests per second per client IP.
pub const DEFAULT_RATE_PER_SECOND: f64 = 50.0;
/// Default burst of requests per client IP.
pub const DEFAULT_RATE_BURST: f64 = 100.0;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The index: sqlite://PATH?mode=rwc or postgres://USER@HOST/DB (as `ddrm indexer` writes it)
    /// [default: the SQLite index `ddrm indexer` writes under the data directory]
    #[arg(long, env = "DDRM_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// The chain, for registration checks (both required).
    #[command(flatten)]
    pub chain: ChainArgs,
    /// Address to listen on.
    #[arg(long, default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// The host[:port] clients reach this API at (SIWE messages must name it) [default: --listen].
    #[arg(long)]
    pub domain: Option<String>,
    /// The licence network's group key: enables uploads.
    #[command(flatten)]
    pub group_key: GroupKeyArgs,
    /// Where uploads are spooled and packaged [default: a folder under the system temp dir].
    #[arg(long, value_name = "DIR")]
    pub work_dir: Option<PathBuf>,
    /// Largest upload, in MiB.
    #[arg(long, default_value_t = DEFAULT_MAX_UPLOAD_MIB)]
    pub max_upload_mib: u64,
    /// The web app's built files (`npm run build` in web/), served at / when the folder exists.
    #[arg(long, value_name = "DIR", default_value = "web/dist")]
    pub web_dir: PathBuf,
    /// The chain's RPC URL given to browsers' wallets by /v1/config [default with --stack: the
    /// stack's RPC; otherwise none, so a private RPC URL is never published].
    #[arg(long, value_name = "URL")]
    pub public_rpc: Option<String>,
    /// Sustained requests per second allowed per client IP.
    #[arg(long, default_value_t = DEFAULT_RATE_PER_SECOND)]
    pub rate_per_second: f64,
    /// Requests allowed at once per client IP.
    #[arg(long, default_value_t = DEFAULT_RATE_BURST)]
    pub rate_burst: f64,
    /// A proxy (e.g. your load balancer) whose X-Forwarded-For names the client for rate limits
    /// and stream caps; repeatable. Without one, each TCP peer is a client.
    #[arg(long = "trusted-proxy", value_name = "IP")]
    pub trusted_proxies: Vec<std::net::IpAddr>,
    #[command(flatten)]
    pub store: super::store::StoreArgs,
}

impl Resolve for ServeArgs {
    /// With --stack, the index is the one `ddrm indexer --stack` writes in the stack's data
    /// directory (unless --database-url names another).
    fn resolve(&mut self, stack: Option<&StackFile>) -> anyhow::Result<()> {
        self.chain.resolve(stack)?;
        self.group_key.resolve(stack)?;
        if let (None, Some(stack)) = (&self.public_rpc, stack) {
            self.public_rpc = Some(stack.chain.rpc.clone());
        }
        self.store.resolve(stack)
    }
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    if !(args.rate_per_second > 0.0 && args.rate_burst >= 1.0) {
        anyhow::bail!("--rate-per-second must be positive and --rate-burst at least 1");
    }
    let rpc = args.chain.rpc.required()?;
    let deployment = Deployment::load(&args.chain.deployment.required()?)?;
    let chain = Chain::connect(&rpc, None).await?;
    deployment.check_chain(&chain)?;
    let database_url = args
        .database_url
        .unwrap_or_else(|| indexer::db::default_sqlite_url(&args.store.config().data_dir));
    let db = indexer::Db::open(&database_url)
        .await
        .with_context(|| format!("open the index {}", indexer::db::redact(&database_url)))?;
    market_api::migrate(&db)
        .await
        .context("create the market API's tables")?;
    let store = store::open_store(&args.store.config()).await?;
    let group_key = match &args.group_key.group_key {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read group key {}", path.display()))?;
            Some(
                GroupKey::from_json(&text)
                    .with_context(|| format!("invalid group key {}", path.display()))?,
            )
        }
        None => None,
    };
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let local = listener.local_addr()?;
    let mut config = ApiConfig::new(
        db,
        chain,
        deployment,
        args.domain.unwrap_or_else(|| local.to_string()),
        store,
        args.work_dir
            .unwrap_or_else(|| std::env::temp_dir().join("ddrm-uploads")),
    );
    config.group_key = group_key;
    config.max_upload_bytes = args.max_upload_mib.saturating_mul(1024 * 1024);
    if !args.web_dir.is_dir() {
        tracing::warn!(web_dir = %args.web_dir.display(), "no web app there: / answers 404 (run `npm run build` in web/)");
    }
    config.web_dir = Some(args.web_dir);
    config.public_rpc_url = args.public_rpc;
    config.rate_limit = RateLimit {
        per_second: args.rate_per_second,
        burst: args.rate_burst,
    };
    config.events_poll = Duration::from_millis(500);
    config.trusted_proxies = args.trusted_proxies;
    tracing::info!(address = %format!("http://{local}"), "market API listening (OpenAPI at /openapi.json)");
    market_api::serve(AppState::new(config), listener, super::shutdown_signal()).await?;
    Ok(())
}

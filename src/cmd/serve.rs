//! `ddrm serve`: the web app and its API in two roles — the public market over an index, and
//! the owner-only pc2 that packages uploads on the owner's own machine (`market_api::pc2`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, ValueEnum};
use contracts_bindings::{Chain, Deployment};
use licence_net_protocol::Address;
use licence_net_protocol::GroupKey;
use market_api::{ApiConfig, AppState, ChildLimits, PackagerCommand, Pc2Config, Quota, RateLimit};
use stack::StackFile;

use super::args::{ChainArgs, DurationArg, GroupKeyArgs, Resolve};

/// Default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// Default largest upload, MiB.
pub const DEFAULT_MAX_UPLOAD_MIB: u64 = 512;
/// Default bytes one account may upload to a PC2 per day, GiB.
pub const DEFAULT_QUOTA_GIB_PER_DAY: u64 = 64;
/// Default uploads one account may have in progress at once.
pub const DEFAULT_UPLOADS_AT_ONCE: usize = 2;
/// Default address space of a packaging child, MiB.
pub const DEFAULT_PACKAGER_MEMORY_MIB: u64 = 4096;
/// Default CPU time of a packaging child.
pub const DEFAULT_PACKAGER_CPU_TIME: Duration = Duration::from_secs(1800);

/// What a server instance does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Role {
    /// Public: catalogue, contents, order books, earnings, events, token metadata. Holds no key
    /// and no plaintext, accepts no upload.
    Market,
    /// The owner's own PC2: uploads packaged on this machine, for the owners only (SIWE).
    Pc2,
}

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
    /// Where clients reach this server, scheme included (absolute URLs in token metadata, e.g.
    /// thumbnails) [default: http://DOMAIN].
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    /// The roles to run, comma-separated [default with --stack: market,pc2; otherwise market].
    #[arg(long = "role", value_enum, value_delimiter = ',')]
    pub roles: Vec<Role>,
    /// An account the pc2 role serves; repeatable [default with --stack: the stack's dev
    /// accounts]. Required for the pc2 role otherwise.
    #[arg(long = "owner", value_name = "ADDRESS")]
    pub owners: Vec<Address>,
    /// The licence network's group key (the pc2 role wraps content keys to it).
    #[command(flatten)]
    pub group_key: GroupKeyArgs,
    /// Where uploads are spooled and packaged [default: a folder under the system temp dir].
    #[arg(long, value_name = "DIR")]
    pub work_dir: Option<PathBuf>,
    /// Largest upload, in MiB.
    #[arg(long, default_value_t = DEFAULT_MAX_UPLOAD_MIB)]
    pub max_upload_mib: u64,
    /// Bytes one account may upload per day, in GiB.
    #[arg(long, default_value_t = DEFAULT_QUOTA_GIB_PER_DAY)]
    pub quota_gib_per_day: u64,
    /// Uploads one account may have in progress at once.
    #[arg(long, default_value_t = DEFAULT_UPLOADS_AT_ONCE)]
    pub uploads_at_once: usize,
    /// Address space of each packaging child, in MiB.
    #[arg(long, default_value_t = DEFAULT_PACKAGER_MEMORY_MIB)]
    pub packager_memory_mib: u64,
    /// CPU time of each packaging child (e.g. 30m).
    #[arg(long, default_value_t = DurationArg(DEFAULT_PACKAGER_CPU_TIME))]
    pub packager_cpu_time: DurationArg,
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
        if self.roles.is_empty() {
            self.roles = match stack {
                Some(_) => vec![Role::Market, Role::Pc2],
                None => vec![Role::Market],
            };
        }
        if let (true, Some(stack)) = (self.owners.is_empty(), stack) {
            self.owners = stack
                .dev_accounts
                .accounts
                .iter()
                .map(|a| a.address)
                .collect();
        }
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
    // The roles' own settings first: a misconfigured pc2 fails before anything is opened.
    let pc2 = if args.roles.contains(&Role::Pc2) {
        Some(pc2_config(&args)?)
    } else {
        None
    };
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
    );
    config.market = args.roles.contains(&Role::Market);
    config.public_url = args.public_url;
    if let Some(pc2) = &pc2 {
        tracing::info!(owners = ?pc2.owners, "pc2 role: uploads from these accounts only");
    }
    config.pc2 = pc2;
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

/// The pc2 role's configuration: owners, group key, limits, and this very binary as the
/// packaging child (`ddrm package-job`).
fn pc2_config(args: &ServeArgs) -> anyhow::Result<Pc2Config> {
    if args.owners.is_empty() {
        anyhow::bail!("the pc2 role serves its owners only: name them with --owner ADDRESS");
    }
    let path = args.group_key.group_key.as_ref().context(
        "the pc2 role wraps content keys to the licence network's group key: give --group-key",
    )?;
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read group key {}", path.display()))?;
    let group_key = GroupKey::from_json(&text)
        .with_context(|| format!("invalid group key {}", path.display()))?;
    let program = std::env::current_exe().context("cannot find this program to package with")?;
    Ok(Pc2Config {
        owners: args.owners.clone(),
        group_key,
        work_dir: args
            .work_dir
            .clone()
            .unwrap_or_else(|| std::env::temp_dir().join("ddrm-uploads")),
        max_upload_bytes: args.max_upload_mib.saturating_mul(1024 * 1024),
        quota: Quota {
            bytes_per_day: args.quota_gib_per_day.saturating_mul(1 << 30),
            uploads_at_once: args.uploads_at_once,
        },
        packager: PackagerCommand {
            program,
            args: vec!["package-job".into()],
            limits: ChildLimits {
                memory_bytes: args.packager_memory_mib.saturating_mul(1024 * 1024),
                cpu_seconds: args.packager_cpu_time.0.as_secs().max(1),
                ..ChildLimits::default()
            },
        },
    })
}

//! `ddrm serve`'s two roles over HTTP: the public **market** (reads over the index) and the
//! owner-only **pc2** (creator uploads packaged on the owner's own machine, [`pc2`]).
//!
//! [`app`] builds the whole axum [`Router`] from an [`AppState`] (made by [`AppState::new`] from
//! an [`ApiConfig`]); [`serve`] runs it on a listener. Tests drive the router in-process on a
//! real loopback socket.
//!
//! - Reads ([`reads`]): catalogue, one content, an account's library and earnings, a content's
//!   royalty order book, trades, price and yield history — all through the indexer's typed reads
//!   ([`indexer::read`], methods of [`indexer::Db`]), never by SQL over its tables; earnings
//!   come from [`indexer::Db::earnings`], which mirrors `RoyaltyShares.claimable` to the wei.
//! - ERC-1155 token metadata ([`reads::metadata`]): what the access and royalty contracts'
//!   `uri(id)` resolves to.
//! - Live events ([`events`]): server-sent events of new sales and trades as the indexer
//!   writes them (the database is polled; each stream is bounded).
//! - Sign-In with Ethereum ([`siwe`], [`auth`]): nonces and sessions live in the database,
//!   hashed, so any API instance can verify any session.
//! - The API's own tables ([`migrations`]): created by [`migrate`], which `ddrm serve` runs
//!   before serving.
//! - Roles: [`ApiConfig::market`] mounts the reads, events and metadata; [`ApiConfig::pc2`]
//!   mounts the uploads. A market-only instance holds no key and no plaintext and has no upload
//!   route at all; `/v1/config` says which roles answer (`uploads` is null without pc2).
//! - Uploads ([`pc2::upload`], owner-only): streamed to a temporary file under a size limit and
//!   the account's quota, packaged by a child process under resource limits, pinned, and
//!   answered with the unsigned registration transaction for the creator's own wallet.
//! - Catalogue facts ([`facts`]): title, kind and MIME type from `.ddrm` headers, recorded by
//!   uploads and, for every other registered content, by the header backfill
//!   ([`facts::backfill`]), a background task [`serve`] runs while it serves.
//! - Every error is an [`error::ApiError`]: a status code and `{ "error": { code, message } }`.
//! - `/openapi.json` ([`openapi`]) is generated from the same types the handlers return.
//! - `/v1/config` ([`config`]): the chain and contracts, for web clients; the web app's files
//!   ([`web`]) answer every other path.

pub mod auth;
pub mod cache;
pub mod config;
pub mod error;
pub mod events;
pub mod facts;
pub mod limits;
pub mod migrations;
pub mod openapi;
pub mod pc2;
pub mod reads;
pub mod siwe;
pub mod web;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use contracts_bindings::{Chain, Deployment};
use store::ContentStore;

pub use crate::limits::RateLimit;
pub use error::ApiError;
pub use facts::backfill::BackfillConfig;
pub use migrations::migrate;
pub use pc2::{ChildLimits, PackagerCommand, Pc2Config, Quota};

/// Largest JSON request body accepted (SIWE messages are the biggest).
pub const MAX_JSON_BODY_BYTES: usize = 16 * 1024;
/// Default largest upload.
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 512 * 1024 * 1024;
/// Default deadline of a non-streaming request.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Default deadline of one chain read.
pub const DEFAULT_CHAIN_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest page of any list.
pub const MAX_PAGE_SIZE: u32 = 100;
/// Page size when none is asked.
pub const DEFAULT_PAGE_SIZE: u32 = 20;

/// Default of [`ApiConfig::catalogue_cache_pages`] (all of the current indexed head).
pub const CATALOGUE_CACHE_PAGES: usize = 1024;
/// Longest a cached catalogue page is served: bounds how late another instance's upload
/// metadata (title, kind) can show; chain data is exact at every request's head.
pub const CATALOGUE_CACHE_TTL: Duration = Duration::from_secs(1);

/// Everything the API needs, built by `ddrm serve` (or a test).
#[derive(Clone)]
pub struct ApiConfig {
    /// The indexer's database (opened, so migrated by the indexer), with the API's own tables
    /// added by [`migrate`].
    pub db: indexer::Db,
    /// A read-only chain connection (registration checks), reads bounded by `chain_timeout`.
    pub chain: Chain,
    pub deployment: Deployment,
    /// The host (and port) clients reach this API at: SIWE messages must name it as their
    /// domain and their URI must be on it.
    pub siwe_domain: String,
    /// Where packaged uploads are pinned and headers are read from.
    pub store: Arc<dyn ContentStore>,
    /// The market role: catalogue, contents, accounts, order books, events, token metadata.
    pub market: bool,
    /// The pc2 role (owner-only uploads); `None`: this instance accepts no upload.
    pub pc2: Option<Pc2Config>,
    /// The web UI's built files, served at `/` when the folder exists ([`web`]).
    pub web_dir: Option<PathBuf>,
    /// The chain's RPC URL as browsers' wallets should use it (`/v1/config`); `None` keeps the
    /// server's own RPC URL private.
    pub public_rpc_url: Option<String>,
    pub rate_limit: RateLimit,
    pub request_timeout: Duration,
    pub chain_timeout: Duration,
    /// Lifetime of a SIWE session token.
    pub session_ttl: Duration,
    /// How often live-event streams poll the database.
    pub events_poll: Duration,
    /// Most concurrent live-event streams.
    pub max_event_streams: usize,
    /// Most concurrent live-event streams of one client key (`limits::client_key`).
    pub max_event_streams_per_client: usize,
    /// Where clients reach this server, scheme included (absolute URLs in token metadata);
    /// `None`: `http://` + `siwe_domain`.
    pub public_url: Option<String>,
    /// Proxies (e.g. the load balancer) whose `X-Forwarded-For` is believed for rate limits.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Most catalogue pages cached (0: no cache; see [`cache`]).
    pub catalogue_cache_pages: usize,
    /// The header backfill [`serve`] runs beside the server; `None`: none (facts come from
    /// uploads only).
    pub header_backfill: Option<BackfillConfig>,
}

impl std::fmt::Debug for ApiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiConfig")
            .field("siwe_domain", &self.siwe_domain)
            .field("chain_id", &self.deployment.chain_id)
            .field("market", &self.market)
            .field("pc2", &self.pc2)
            .field("web_dir", &self.web_dir)
            .finish_non_exhaustive()
    }
}

impl ApiConfig {
    /// The market role alone, with the default limits.
    pub fn new(
        db: indexer::Db,
        chain: Chain,
        deployment: Deployment,
        siwe_domain: String,
        store: Arc<dyn ContentStore>,
    ) -> Self {
        Self {
            db,
            chain,
            deployment,
            siwe_domain,
            store,
            market: true,
            pc2: None,
            web_dir: None,
            public_rpc_url: None,
            rate_limit: RateLimit::default(),
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            chain_timeout: DEFAULT_CHAIN_TIMEOUT,
            session_ttl: Duration::from_secs(12 * 3600),
            events_poll: Duration::from_millis(500),
            max_event_streams: 256,
            max_event_streams_per_client: 4,
            trusted_proxies: Vec::new(),
            public_url: None,
            catalogue_cache_pages: CATALOGUE_CACHE_PAGES,
            header_backfill: Some(BackfillConfig::default()),
        }
    }
}

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) config: ApiConfig,
    pub(crate) rate: limits::RateLimiter,
    pub(crate) uploads: pc2::upload::Uploads,
    pub(crate) quotas: Arc<pc2::quota::Ledger>,
    pub(crate) event_streams: Arc<tokio::sync::Semaphore>,
    pub(crate) streams_per_client: events::PerClient,
    pub(crate) catalogue_cache: reads::CatalogueCache,
}

impl AppState {
    pub fn new(config: ApiConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                rate: limits::rate_limiter(config.rate_limit),
                uploads: pc2::upload::Uploads::default(),
                quotas: Arc::default(),
                event_streams: Arc::new(tokio::sync::Semaphore::new(config.max_event_streams)),
                streams_per_client: events::PerClient::default(),
                catalogue_cache: cache::PageCache::new(
                    config.catalogue_cache_pages,
                    CATALOGUE_CACHE_TTL,
                ),
                config,
            }),
        }
    }

    pub(crate) fn config(&self) -> &ApiConfig {
        &self.inner.config
    }

    pub(crate) fn pool(&self) -> &sqlx::AnyPool {
        self.inner.config.db.pool()
    }

    /// The pc2 role's configuration; 404 on an instance without it (its routes are not
    /// mounted there, so this answers only a misrouted call).
    pub(crate) fn pc2(&self) -> Result<&Pc2Config, ApiError> {
        self.inner
            .config
            .pc2
            .as_ref()
            .ok_or_else(|| ApiError::NotFound("this server has no pc2 role".into()))
    }
}

/// The whole API: the routes of the configured roles.
pub fn app(state: AppState) -> Router {
    let config = state.config();
    // Bounded by the request deadline: every plain request.
    let mut timed = Router::new()
        .route("/v1/health", get(reads::health))
        .route("/v1/config", get(config::config))
        .route("/v1/auth/nonce", post(auth::nonce))
        .route("/v1/auth/verify", post(auth::verify))
        .route("/v1/auth/session", get(auth::session))
        .route("/openapi.json", get(openapi::document));
    // Streams: their own limits.
    let mut streams = Router::new();
    if config.market {
        timed = timed
            .route("/v1/contents", get(reads::contents::catalogue))
            .route("/v1/contents/{content_id}", get(reads::contents::content))
            .route(
                "/v1/contents/{content_id}/thumbnail",
                get(reads::contents::thumbnail),
            )
            .route(
                "/v1/contents/{content_id}/preview",
                get(reads::contents::preview),
            )
            .route(
                "/v1/contents/{content_id}/orderbook",
                get(reads::market::order_book),
            )
            .route(
                "/v1/contents/{content_id}/trades",
                get(reads::market::trades),
            )
            .route(
                "/v1/contents/{content_id}/price-history",
                get(reads::market::price_history),
            )
            .route(
                "/v1/contents/{content_id}/yield-history",
                get(reads::market::yield_history),
            )
            .route(
                "/v1/accounts/{account}/library",
                get(reads::accounts::library),
            )
            .route(
                "/v1/accounts/{account}/earnings",
                get(reads::accounts::earnings),
            )
            .route(
                "/v1/accounts/{account}/claims",
                get(reads::accounts::claims),
            )
            .route("/v1/metadata/access/{id}", get(reads::metadata::access))
            .route("/v1/metadata/royalty/{id}", get(reads::metadata::royalty));
        streams = streams.route("/v1/events", get(events::stream));
    }
    if let Some(pc2) = &config.pc2 {
        timed = timed.route("/v1/uploads/{upload_id}", get(pc2::upload::progress));
        let upload_limit = usize::try_from(pc2.max_upload_bytes)
            .unwrap_or(usize::MAX)
            .saturating_add(pc2::upload::MULTIPART_OVERHEAD_BYTES);
        streams = streams.route(
            "/v1/uploads",
            post(pc2::upload::start).layer(DefaultBodyLimit::max(upload_limit)),
        );
    }
    let timed = timed
        .layer(DefaultBodyLimit::max(MAX_JSON_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            limits::deadline,
        ));
    timed
        .merge(streams)
        .fallback(web::fallback)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            limits::rate_limit,
        ))
        // One span per request (method, path, version) and one event per response (status,
        // latency), at INFO: the operator's request log. Headers are not recorded.
        .layer(
            tower_http::trace::TraceLayer::new_for_http()
                .make_span_with(
                    tower_http::trace::DefaultMakeSpan::new().level(tracing::Level::INFO),
                )
                .on_response(
                    tower_http::trace::DefaultOnResponse::new().level(tracing::Level::INFO),
                ),
        )
        .with_state(state)
}

/// Serves the API on `listener` until `shutdown` resolves, with the header backfill
/// ([`facts::backfill`]) running beside it for exactly as long.
pub async fn serve(
    state: AppState,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let config = state.config();
    let _backfill = config
        .header_backfill
        .filter(|_| config.market)
        .map(|config| AbortOnDrop(tokio::spawn(facts::backfill::run(state.clone(), config))));
    axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// A background task that stops when its owner is dropped: when [`serve`] returns, or when its
/// future is dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Unix seconds now.
pub(crate) fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

//! A served, indexed scripted market: anvil + the indexer's scripted market, indexed into a
//! real SQLite file or a throwaway PostgreSQL, and the API on a loopback socket.

use std::net::SocketAddr;

use alloy::signers::{local::PrivateKeySigner, SignerSync};
use contracts_bindings::Chain;
use indexer::follow::{FollowConfig, Follower};
use indexer::testing::{ScriptedMarket, TestPostgres};
use indexer::Db;
use market_api::{ApiConfig, AppState, ChildLimits, PackagerCommand, Pc2Config, Quota};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct Served {
    pub db: Db,
    pub base: String,
    pub addr: SocketAddr,
    pub http: reqwest::Client,
    pub dir: tempfile::TempDir,
    /// The content store the API reads and pins to.
    pub store: std::sync::Arc<dyn store::ContentStore>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    _pg: Option<TestPostgres>,
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Opens a fresh database of `backend`.
pub async fn fresh_db(backend: Backend, dir: &std::path::Path) -> (Db, Option<TestPostgres>) {
    match backend {
        Backend::Sqlite => {
            let url = format!("sqlite://{}?mode=rwc", dir.join("index.db").display());
            (Db::open(&url).await.expect("open sqlite"), None)
        }
        Backend::Postgres => {
            let pg = TestPostgres::start().await;
            let url = pg.fresh_database().await;
            (Db::open(&url).await.expect("open postgres"), Some(pg))
        }
    }
}

/// Indexes everything the market's chain holds now.
pub async fn index(market: &ScriptedMarket, db: &Db) {
    let cfg = FollowConfig {
        confirmations: 0,
        ..FollowConfig::default()
    };
    let mut f = Follower::new(db.clone(), &market.rpc(), market.deployment.clone(), cfg)
        .await
        .expect("follower");
    f.catch_up(5).await.expect("index the scripted market");
    // Dropping the follower releases its writer lock; `close` would close the shared pool.
    drop(f);
}

pub fn group_key(dir: &std::path::Path) -> licence_net_protocol::GroupKey {
    licence_net::dealer::deal(4, 2, &dir.join("keys"))
        .expect("deal a licence group key")
        .group
}

/// Both roles, as on a local stack: every scripted account owns the PC2, and the packaging
/// child is this crate's `ddrm-package-job` (the `ddrm package-job` of the real binary).
pub fn pc2(market: &ScriptedMarket, dir: &std::path::Path) -> Pc2Config {
    Pc2Config {
        owners: market.keys.iter().map(|k| k.address()).collect(),
        group_key: group_key(dir),
        work_dir: dir.join("work"),
        max_upload_bytes: market_api::DEFAULT_MAX_UPLOAD_BYTES,
        quota: Quota::default(),
        packager: PackagerCommand {
            program: env!("CARGO_BIN_EXE_ddrm-package-job").into(),
            args: Vec::new(),
            limits: ChildLimits::default(),
        },
    }
}

/// Indexes `market` into `backend` and serves the API; `tweak` adjusts the configuration.
pub async fn serve(
    market: &ScriptedMarket,
    backend: Backend,
    tweak: impl FnOnce(&mut ApiConfig),
) -> Served {
    let dir = tempfile::tempdir().expect("tempdir");
    let (db, pg) = fresh_db(backend, dir.path()).await;
    index(market, &db).await;
    start_api(market, db, dir, pg, tweak).await
}

/// A second API instance over `served`'s database, as another `ddrm serve` would be.
pub async fn another_instance(
    market: &ScriptedMarket,
    served: &Served,
    tweak: impl FnOnce(&mut ApiConfig),
) -> Served {
    let dir = tempfile::tempdir().expect("tempdir");
    start_api(market, served.db.clone(), dir, None, tweak).await
}

async fn start_api(
    market: &ScriptedMarket,
    db: Db,
    dir: tempfile::TempDir,
    pg: Option<TestPostgres>,
    tweak: impl FnOnce(&mut ApiConfig),
) -> Served {
    market_api::migrate(&db)
        .await
        .expect("create the market API's tables");
    let chain = Chain::connect(&market.rpc(), None).await.expect("connect");
    let store = store::open_store(&store::StoreConfig {
        data_dir: dir.path().join("store"),
        ipfs_api: None,
    })
    .await
    .expect("embedded store");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut config = ApiConfig::new(
        db.clone(),
        chain,
        market.deployment.clone(),
        addr.to_string(),
        store.clone(),
    );
    config.pc2 = Some(pc2(market, dir.path()));
    config.rate_limit = market_api::RateLimit {
        per_second: 10_000.0,
        burst: 10_000.0,
    };
    tweak(&mut config);
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(market_api::serve(AppState::new(config), listener, async {
        let _ = rx.await;
    }));
    Served {
        db,
        base: format!("http://{addr}"),
        addr,
        http: reqwest::Client::new(),
        dir,
        store,
        shutdown: Some(tx),
        _pg: pg,
    }
}

impl Served {
    pub async fn get(&self, path: &str) -> (u16, serde_json::Value) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("GET");
        let status = r.status().as_u16();
        let body = r.json().await.unwrap_or(serde_json::Value::Null);
        (status, body)
    }

    pub async fn get_ok(&self, path: &str) -> serde_json::Value {
        let (status, body) = self.get(path).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    /// `POST /v1/uploads` of `form`, in the session `token` when one is given.
    pub async fn upload(
        &self,
        token: Option<&str>,
        form: reqwest::multipart::Form,
    ) -> reqwest::Response {
        self.upload_with(&self.http, token, form)
            .await
            .expect("POST /v1/uploads")
    }

    /// [`Served::upload`] through `client`, with the transport's error kept: a server refusing
    /// a body mid-stream may close the connection before the client reads its answer.
    pub async fn upload_with(
        &self,
        client: &reqwest::Client,
        token: Option<&str>,
        form: reqwest::multipart::Form,
    ) -> reqwest::Result<reqwest::Response> {
        let mut request = client
            .post(format!("{}/v1/uploads", self.base))
            .multipart(form);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await
    }

    /// Signs in as `key` through nonce + SIWE verify; returns the bearer token.
    /// Follows an accepted upload (`POST /v1/uploads`' answer) until it is `ready` or
    /// `failed`; returns its last status.
    pub async fn finished_upload(
        &self,
        token: &str,
        accepted: &serde_json::Value,
    ) -> serde_json::Value {
        let url = format!(
            "{}{}",
            self.base,
            accepted["status_url"].as_str().expect("a status_url")
        );
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(120);
        loop {
            let status: serde_json::Value = self
                .http
                .get(&url)
                .bearer_auth(token)
                .send()
                .await
                .expect("GET the upload")
                .json()
                .await
                .expect("an upload status");
            if matches!(status["state"].as_str(), Some("ready" | "failed")) {
                return status;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the upload never finished: {status}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    pub async fn sign_in(&self, key: &PrivateKeySigner) -> String {
        let nonce = self.nonce().await;
        let msg = self.siwe_message(key, &nonce, 600);
        let (status, body) = self.verify(key, &msg).await;
        assert_eq!(status, 200, "{body}");
        body["token"].as_str().unwrap().to_owned()
    }

    pub async fn nonce(&self) -> String {
        let r = self
            .http
            .post(format!("{}/v1/auth/nonce", self.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let v: serde_json::Value = r.json().await.unwrap();
        v["nonce"].as_str().unwrap().to_owned()
    }

    /// A SIWE message for this server valid for `ttl` seconds (negative: already expired).
    pub fn siwe_message(&self, key: &PrivateKeySigner, nonce: &str, ttl: i64) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        market_api::siwe::render(&market_api::siwe::SiweMessage {
            scheme: Some("http".into()),
            domain: self.addr.to_string(),
            address: key.address(),
            statement: Some("Sign in to the ddrm market.".into()),
            uri: format!("{}/v1/auth/verify", self.base),
            chain_id: indexer_chain_id(),
            nonce: nonce.to_owned(),
            issued_at: now - 5 - ttl.min(0).abs(),
            expiration_time: Some(now + ttl),
            not_before: None,
            request_id: None,
            resources: vec![],
        })
    }

    pub async fn verify(&self, key: &PrivateKeySigner, message: &str) -> (u16, serde_json::Value) {
        let sig = key.sign_message_sync(message.as_bytes()).unwrap();
        let r = self
            .http
            .post(format!("{}/v1/auth/verify", self.base))
            .json(&serde_json::json!({
                "message": message,
                "signature": format!("0x{}", hex::encode(sig.as_bytes())),
            }))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(serde_json::Value::Null))
    }
}

fn indexer_chain_id() -> u64 {
    contracts_bindings::testing::TEST_CHAIN_ID
}

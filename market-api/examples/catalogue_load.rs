//! Catalogue reads under load: serves an indexed scripted market (anvil + the indexer's
//! scripted market, indexed into SQLite or PostgreSQL) and runs `wrk` from a second process
//! against `GET /v1/contents?limit=20`, printing throughput and latency percentiles.
//!
//! `cargo run --release -p market-api --example catalogue_load -- [sqlite|postgres] [seconds] [connections]`

use std::time::Duration;

use anyhow::Context;
use contracts_bindings::Chain;
use indexer::follow::{FollowConfig, Follower};
use indexer::testing::{ScriptedMarket, TestPostgres};
use indexer::Db;
use market_api::{ApiConfig, AppState, RateLimit};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let backend = args.next().unwrap_or_else(|| "sqlite".into());
    let seconds: u64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(15);
    let connections: u64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(32);
    let dir = tempfile::tempdir()?;
    eprintln!("starting anvil and playing the scripted market…");
    let market = ScriptedMarket::start().await;
    let mut _pg = None;
    let url = match backend.as_str() {
        "sqlite" => format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("index.db").display()
        ),
        "postgres" => {
            let pg = TestPostgres::start_with(true).await;
            let url = pg.fresh_database().await;
            _pg = Some(pg);
            url
        }
        other => anyhow::bail!("backend is sqlite or postgres, not {other}"),
    };
    let db = Db::open(&url).await?;
    let cfg = FollowConfig {
        confirmations: 0,
        ..FollowConfig::default()
    };
    let mut f = Follower::new(db.clone(), &market.rpc(), market.deployment.clone(), cfg).await?;
    f.catch_up(5).await?;
    drop(f);
    let chain = Chain::connect(&market.rpc(), None).await?;
    let store = packager_store::open_store(&packager_store::StoreConfig {
        data_dir: dir.path().join("store"),
        ipfs_api: None,
    })
    .await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let mut config = ApiConfig::new(
        db,
        chain,
        market.deployment.clone(),
        addr.to_string(),
        store,
        dir.path().join("work"),
    );
    // One client IP makes every request here: the per-IP limit would measure itself.
    config.rate_limit = RateLimit {
        per_second: 1e9,
        burst: 1e9,
    };
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(market_api::serve(AppState::new(config), listener, async {
        let _ = rx.await;
    }));
    let target = format!("http://{addr}/v1/contents?limit=20");
    let probe = reqwest::get(&target).await?;
    anyhow::ensure!(
        probe.status() == 200,
        "catalogue answered {}",
        probe.status()
    );
    let items = probe.json::<serde_json::Value>().await?["items"]
        .as_array()
        .map(Vec::len)
        .unwrap_or(0);
    eprintln!(
        "serving {items} contents at {target}; wrk for {seconds} s with {connections} connections"
    );
    let out = tokio::process::Command::new("wrk")
        .args([
            "-t2",
            &format!("-c{connections}"),
            &format!("-d{seconds}s"),
            "--latency",
        ])
        .arg(&target)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(seconds + 30), out)
        .await
        .context("wrk did not finish")?
        .context("cannot run wrk (apt-get install wrk, or scripts/setup.sh)")?;
    let text = String::from_utf8_lossy(&out.stdout);
    println!("backend {backend}\n{text}");
    anyhow::ensure!(
        out.status.success(),
        "wrk failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    anyhow::ensure!(!text.contains("Non-2xx"), "some answers were not 200");
    let _ = tx.send(());
    let _ = server.await;
    Ok(())
}

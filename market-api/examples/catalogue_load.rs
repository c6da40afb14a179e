//! Catalogue reads under load: serves an indexed scripted market (anvil + the indexer's
//! scripted market, indexed into SQLite or PostgreSQL) and runs `wrk` from a second process
//! against `GET /v1/contents?limit=20` (a full page: the scripted market's contents and 200
//! more), once with the catalogue page cache off and once with it
//! on (same data, same process, one after the other), printing throughput and latency
//! percentiles of each and their ratio.
//!
//! ```text
//! cargo run --release -p market-api --example catalogue_load -- \
//!     [sqlite|postgres] [seconds] [connections] [wrk threads] [server worker threads]
//! ```
//!
//! Defaults: sqlite, 15 s, 32 connections, 1 wrk thread, 1 server worker thread (the two
//! processes then use one core each of the two).

use std::time::Duration;

use alloy::primitives::{keccak256, Address, B256};
use anyhow::Context;
use contracts_bindings::bindings::ContentRegistry::{self, Registration, Terms};
use contracts_bindings::Chain;
use indexer::follow::{FollowConfig, Follower};
use indexer::testing::{ScriptedMarket, TestPostgres};
use indexer::Db;
use market_api::{ApiConfig, AppState, RateLimit};

/// Contents registered on top of the scripted market's three, so that a page is full.
const EXTRA_CONTENTS: u64 = 200;

struct Args {
    backend: String,
    seconds: u64,
    connections: u64,
    wrk_threads: u64,
    workers: usize,
}

fn args() -> anyhow::Result<Args> {
    let mut a = std::env::args().skip(1);
    let backend = a.next().unwrap_or_else(|| "sqlite".into());
    let mut num = |default: u64| -> anyhow::Result<u64> {
        Ok(a.next().map(|s| s.parse()).transpose()?.unwrap_or(default))
    };
    Ok(Args {
        backend,
        seconds: num(15)?,
        connections: num(32)?,
        wrk_threads: num(1)?,
        workers: usize::try_from(num(1)?)?,
    })
}

fn main() -> anyhow::Result<()> {
    let args = args()?;
    anyhow::ensure!(args.workers >= 1, "server worker threads: at least 1");
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.workers)
        .enable_all()
        .build()?
        .block_on(run(args))
}

/// One wrk run's summary.
struct Figures {
    requests_per_sec: f64,
    p50: String,
    p90: String,
    p99: String,
    max: String,
}

async fn run(args: Args) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    eprintln!("starting anvil and playing the scripted market…");
    let market = ScriptedMarket::start().await;
    register_more(&market, EXTRA_CONTENTS).await?;
    let mut _pg = None;
    let url = match args.backend.as_str() {
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
    market_api::migrate(&db).await?;
    let cfg = FollowConfig {
        confirmations: 0,
        ..FollowConfig::default()
    };
    let mut f = Follower::new(db.clone(), &market.rpc(), market.deployment.clone(), cfg).await?;
    f.catch_up(5).await?;
    drop(f);
    let chain = Chain::connect(&market.rpc(), None).await?;
    let store = store::open_store(&store::StoreConfig {
        data_dir: dir.path().join("store"),
        ipfs_api: None,
    })
    .await?;
    let mut results = Vec::new();
    for cache_pages in [0, market_api::CATALOGUE_CACHE_PAGES] {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let mut config = ApiConfig::new(
            db.clone(),
            chain.clone(),
            market.deployment.clone(),
            addr.to_string(),
            store.clone(),
        );
        // One client IP makes every request here: the per-IP limit would measure itself.
        config.rate_limit = RateLimit {
            per_second: 1e9,
            burst: 1e9,
        };
        config.catalogue_cache_pages = cache_pages;
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
            "cache {}: serving {items} contents at {target}; wrk -t{} -c{} -d{}s, server on {} worker thread(s)",
            if cache_pages == 0 { "off" } else { "on" },
            args.wrk_threads,
            args.connections,
            args.seconds,
            args.workers
        );
        let text = wrk(&target, &args).await?;
        println!(
            "backend {} cache {}\n{text}",
            args.backend,
            if cache_pages == 0 { "off" } else { "on" }
        );
        results.push(figures(&text)?);
        let _ = tx.send(());
        let _ = server.await;
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "| {} | wrk -t{} -c{}, {} s, server {} worker(s) | load {} |",
        args.backend,
        args.wrk_threads,
        args.connections,
        args.seconds,
        args.workers,
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!("| cache | requests/s | p50 | p90 | p99 | max |");
    for (name, r) in ["off", "on"].iter().zip(&results) {
        println!(
            "| {name} | {:.0} | {} | {} | {} | {} |",
            r.requests_per_sec, r.p50, r.p90, r.p99, r.max
        );
    }
    if let [off, on] = &results[..] {
        println!(
            "throughput on/off: {:.2}x",
            on.requests_per_sec / off.requests_per_sec
        );
    }
    Ok(())
}

/// Registers `n` more contents (creators 1 to 3, various terms), sent without waiting for each
/// receipt (anvil mines each on arrival), then waits for the last.
async fn register_more(m: &ScriptedMarket, n: u64) -> anyhow::Result<()> {
    let mut last = None;
    for i in 0..n {
        let creator = 1 + (i % 3) as usize;
        let p = m.as_account(creator);
        let registry = ContentRegistry::new(m.deployment.contracts.content_registry, &p);
        let seed = keccak256(i.to_be_bytes());
        let price = 1_000_000_000_000_000u128 * u128::from(1 + i % 50);
        let registration = Registration {
            contentId: contracts_bindings::ops::content_id_for(m.addr(creator), seed),
            headerDigest: seed,
            cid: format!("bafkreiloadtest{i}"),
            keyCommitment: keccak256(seed),
            renderers: vec![B256::repeat_byte(7)],
            paymentToken: Address::ZERO,
            terms: Terms {
                price,
                rentPrice: if i % 2 == 0 { price / 10 } else { 0 },
                rentPeriod: if i % 2 == 0 { 86_400 } else { 0 },
                subscriptionPrice: 0,
                subscriptionPeriod: 0,
                maxEditions: 0,
                resaleRoyaltyBps: 500,
            },
        };
        let pending = registry
            .register(registration, vec![m.addr(creator)], vec![10_000])
            .send()
            .await?;
        last = Some(pending);
    }
    if let Some(pending) = last {
        let receipt = pending.get_receipt().await?;
        anyhow::ensure!(receipt.status(), "the last registration reverted");
    }
    Ok(())
}

async fn wrk(target: &str, args: &Args) -> anyhow::Result<String> {
    let out = tokio::process::Command::new("wrk")
        .args([
            &format!("-t{}", args.wrk_threads),
            &format!("-c{}", args.connections),
            &format!("-d{}s", args.seconds),
            "--latency",
        ])
        .arg(target)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(args.seconds + 30), out)
        .await
        .context("wrk did not finish")?
        .context("cannot run wrk (apt-get install wrk, or scripts/setup.sh)")?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    anyhow::ensure!(
        out.status.success(),
        "wrk failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    anyhow::ensure!(!text.contains("Non-2xx"), "some answers were not 200");
    anyhow::ensure!(
        !text.contains("Socket errors"),
        "wrk saw socket errors:\n{text}"
    );
    Ok(text)
}

/// Requests/s and latency percentiles from wrk's `--latency` report.
fn figures(text: &str) -> anyhow::Result<Figures> {
    let field = |prefix: &str| -> anyhow::Result<String> {
        text.lines()
            .map(str::trim)
            .find_map(|l| l.strip_prefix(prefix))
            .and_then(|rest| rest.split_whitespace().next())
            .map(str::to_owned)
            .with_context(|| format!("no `{prefix}` in wrk's report:\n{text}"))
    };
    let max = text
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("Latency") && !l.starts_with("Latency Distribution"))
        .and_then(|l| l.split_whitespace().nth(3))
        .unwrap_or("?")
        .to_owned();
    Ok(Figures {
        requests_per_sec: field("Requests/sec:")?.parse()?,
        p50: field("50%")?,
        p90: field("90%")?,
        p99: field("99%")?,
        max,
    })
}

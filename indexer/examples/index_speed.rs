//! Indexing speed: events per second through the apply path into SQLite and into PostgreSQL.
//!
//! Plays the scripted market on anvil, then generates load (perpetual buys, rentals and royalty
//! share transfers among holders; about 3.3 events per iteration), reads every log of the
//! deployment once, and times `apply::apply_range` over them in ranges of `RANGE` blocks, each
//! range in its own transaction — the follower's write path — into a fresh SQLite file and a
//! fresh PostgreSQL database (a throwaway server with PostgreSQL's default durability). The
//! follower end to end (RPC reads included) is timed too, for comparison.
//!
//! cargo run --release -p indexer --example index_speed -- [ITERATIONS] [RUNS]   (default 1500 3)
//!
//! The apply is timed RUNS times per database (each into a fresh one) and the median printed.

use std::time::{Duration, Instant};

use alloy::primitives::U256;
use alloy::providers::Provider;
use alloy::rpc::types::Filter;
use contracts_bindings::bindings::{Access, ContentRegistry, RoyaltyShares};
use futures::{StreamExt, TryStreamExt};
use indexer::apply::{apply_range, BlockHeader, ChainLog};
use indexer::follow::{FollowConfig, Follower};
use indexer::testing::{ScriptedMarket, TestPostgres};
use indexer::Db;

/// Blocks per transaction in the timed apply (anvil mines one transaction per block).
const RANGE: u64 = 500;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let iterations: u64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(1_500);
    let runs: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(3);
    anyhow::ensure!(runs >= 1, "runs: at least 1");
    let m = ScriptedMarket::start().await;
    let started = Instant::now();
    generate(&m, iterations).await?;
    eprintln!(
        "generated {iterations} iterations on anvil in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let (blocks, logs) = read_all(&m).await?;
    println!("events: {} in {} blocks", logs.len(), blocks.len());

    let dir = tempfile::tempdir()?;
    let pg = TestPostgres::start_with(true).await;
    let rate = |t: Duration| logs.len() as f64 / t.as_secs_f64();
    let mut summary = Vec::new();
    // Each run into a fresh database; the backends alternate so that a burst of load from
    // elsewhere on the machine hits both.
    let mut apply: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    for run in 0..runs {
        for (k, name) in ["SQLite", "PostgreSQL"].iter().enumerate() {
            let url = if k == 0 {
                format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join(format!("bench{run}.db")).display()
                )
            } else {
                pg.fresh_database().await
            };
            let db = Db::open(&url).await?;
            let t = time_apply(&m, &db, &blocks, &logs).await?;
            db.close().await;
            println!(
                "apply  {name:<10} run {}: {:>6} events in {:>6.2} s = {:>7.0} events/s",
                run + 1,
                logs.len(),
                t.as_secs_f64(),
                rate(t)
            );
            apply[k].push(rate(t));
        }
    }
    for (k, name) in ["SQLite", "PostgreSQL"].iter().enumerate() {
        summary.push(format!(
            "apply  {name:<10}: median {:>7.0} events/s of {runs} runs",
            median(&mut apply[k])
        ));
    }
    for (name, url) in [
        (
            "SQLite",
            format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("follow.db").display()
            ),
        ),
        ("PostgreSQL", pg.fresh_database().await),
    ] {
        let cfg = FollowConfig {
            confirmations: 0,
            initial_range: 2_000,
            ..FollowConfig::default()
        };
        let mut f =
            Follower::new(Db::open(&url).await?, &m.rpc(), m.deployment.clone(), cfg).await?;
        let t = Instant::now();
        f.catch_up(10).await?;
        let t = t.elapsed();
        summary.push(format!(
            "follow {name:<10}: {:>6} events in {:>6.2} s = {:>7.0} events/s (RPC reads included, one run)",
            logs.len(),
            t.as_secs_f64(),
            rate(t)
        ));
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "load average at the end: {}",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    for line in summary {
        println!("{line}");
    }
    Ok(())
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Buys, rentals and share transfers, sent without waiting for receipts (anvil mines each on
/// arrival).
async fn generate(m: &ScriptedMarket, iterations: u64) -> anyhow::Result<()> {
    let c = &m.deployment.contracts;
    let reader = m.reader();
    let registry = ContentRegistry::new(c.content_registry, &reader);
    let mut prices = Vec::new();
    for id in &m.contents {
        let t = registry.termsOf(*id).call().await?;
        prices.push((U256::from(t.price), U256::from(t.rentPrice), t.rentPeriod));
    }
    let buyers: Vec<_> = (4..=8).map(|i| m.as_account(i)).collect();
    // Accounts 1 (creator) and 3 (producer), who buy nothing here, hold shares of the first content from the script on.
    let holders = [m.as_account(1), m.as_account(3)];
    for i in 0..iterations {
        let k = (i % m.contents.len() as u64) as usize;
        let p = &buyers[(i % 5) as usize];
        let access = Access::new(c.access, p);
        // Sent, not awaited: anvil's automine has mined it when the call returns.
        let _sent = access
            .buy(m.contents[k], prices[k].0)
            .value(prices[k].0)
            .send()
            .await?;
        if !prices[0].1.is_zero() && i % 3 == 0 {
            let _sent = access
                .rent(m.contents[0], 1, prices[0].1, prices[0].2)
                .value(prices[0].1)
                .send()
                .await?;
        }
        // A share moves between holders on every iteration, settling both.
        let (from, to) = if i % 2 == 0 { (0, 1) } else { (1, 0) };
        let shares = RoyaltyShares::new(c.royalty_shares, &holders[from]);
        let _sent = shares
            .safeTransferFrom(
                m.addr(if from == 0 { 1 } else { 3 }),
                m.addr(if to == 0 { 1 } else { 3 }),
                m.contents[0],
                U256::from(1u64),
                Default::default(),
            )
            .send()
            .await?;
    }
    Ok(())
}

/// Every log of the deployment, with its block's header.
async fn read_all(m: &ScriptedMarket) -> anyhow::Result<(Vec<BlockHeader>, Vec<ChainLog>)> {
    let p = m.reader();
    let c = &m.deployment.contracts;
    let head = p.get_block_number().await?;
    let filter = Filter::new()
        .address(vec![
            c.content_registry,
            c.royalty_shares,
            c.access,
            c.market,
            c.capsule_registry,
            c.licence_network_registry,
        ])
        .from_block(m.deployment.deployment_block)
        .to_block(head);
    let raw = p.get_logs(&filter).await?;
    let mut numbers: Vec<u64> = raw.iter().filter_map(|l| l.block_number).collect();
    numbers.dedup();
    let headers: Vec<BlockHeader> = futures::stream::iter(numbers)
        .map(|n| {
            let p = p.clone();
            async move {
                let b = p
                    .get_block_by_number(n.into())
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("block {n} missing"))?;
                anyhow::Ok(BlockHeader {
                    number: n,
                    hash: b.header.hash,
                    parent_hash: b.header.parent_hash,
                    time: b.header.timestamp,
                })
            }
        })
        .buffered(16)
        .try_collect()
        .await?;
    let time: std::collections::HashMap<u64, u64> =
        headers.iter().map(|h| (h.number, h.time)).collect();
    let logs = raw
        .into_iter()
        .map(|l| ChainLog {
            block_number: l.block_number.unwrap_or_default(),
            block_hash: l.block_hash.unwrap_or_default(),
            block_time: time[&l.block_number.unwrap_or_default()],
            log_index: l.log_index.unwrap_or_default(),
            tx_hash: l.transaction_hash.unwrap_or_default(),
            address: l.inner.address,
            topics: l.inner.data.topics().to_vec(),
            data: l.inner.data.data.clone(),
        })
        .collect();
    Ok((headers, logs))
}

/// The follower's write path over every range: one transaction per `RANGE` blocks.
async fn time_apply(
    m: &ScriptedMarket,
    db: &Db,
    blocks: &[BlockHeader],
    logs: &[ChainLog],
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let (mut b, mut l) = (0, 0);
    while b < blocks.len() {
        let end = blocks[b].number + RANGE;
        let b_end = blocks[b..]
            .iter()
            .position(|h| h.number >= end)
            .map_or(blocks.len(), |i| b + i);
        let l_end = logs[l..]
            .iter()
            .position(|x| x.block_number >= end)
            .map_or(logs.len(), |i| l + i);
        let mut tx = db.pool().begin().await?;
        apply_range(
            &mut tx,
            &m.deployment.contracts,
            &blocks[b..b_end],
            &logs[l..l_end],
        )
        .await?;
        tx.commit().await?;
        b = b_end;
        l = l_end;
    }
    Ok(started.elapsed())
}

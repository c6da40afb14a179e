//! Licence latency and single-node throughput on loopback, against a real anvil.
//!
//! `cargo bench -p licence-net --bench licence_latency` (set `LICENCE_BENCH_REQUESTS` to change the
//! number of sequential licences, default 1000).
//!
//! 1. Five nodes (3 of 5), each in this process on 127.0.0.1; p50/p99 of end-to-end licences
//!    through `LicenceClient::request` (parallel POSTs, envelope checks, opening, the combined
//!    share check) plus combining the shares into the content key. The wallet and runtime signatures are made before the clock
//!    starts (a wallet signs once per playback).
//!    Then, for comparison, 50 licences each through a fresh client (nothing cached on the
//!    client: the ciphertext is prepared and the combined share check is a pairing check).
//! 2. One node served by a single-threaded tokio runtime on its own OS thread (its audit writer
//!    is a second thread that mostly waits for fsync), chain head reused for 1 s so rights come
//!    from the per-block cache and the ciphertext check from the per-content cache; pre-signed
//!    requests posted by 32 concurrent connections; licences per second. Its limits before
//!    parsing are lifted (every request comes from 127.0.0.1).
//! 3. Memory under a flood: the process's resident set (VmRSS) before and after one node with the
//!    default limits takes 10,000 malformed 30 KiB bodies from 100 addresses, then signed
//!    requests from `LICENCE_BENCH_WALLETS` fresh wallets (default 20,000) from 1,000 addresses;
//!    with the replay store's size.

#[path = "../tests/it/harness.rs"]
#[allow(dead_code)]
mod harness;

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt};
use harness::*;
use licence_net::node::{self, Admission, NodeState, RateLimit};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

async fn latency(net: &Net, n: usize) {
    let client = net.client();
    for _ in 0..20 {
        let (ask, capsule) = net.ask(BUYER, &net.content);
        client
            .request(&ask, &net.creator(), &capsule)
            .await
            .expect("warm-up licence");
    }
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let (ask, capsule) = net.ask(BUYER, &net.content);
        let t = Instant::now();
        let licence = client
            .request(&ask, &net.creator(), &capsule)
            .await
            .expect("licence");
        let key = licence.content_key(&net.group).expect("combine");
        times.push(t.elapsed());
        assert_eq!(key.as_slice(), &net.content.key);
    }
    report(
        &format!("licence latency, 5 nodes (3 needed), loopback, {n} sequential licences"),
        times,
    );
    let mut cold = Vec::with_capacity(50);
    for _ in 0..50 {
        let (ask, capsule) = net.ask(BUYER, &net.content);
        let t = Instant::now();
        let licence = net
            .client()
            .request(&ask, &net.creator(), &capsule)
            .await
            .expect("licence");
        let key = licence.content_key(&net.group).expect("combine");
        cold.push(t.elapsed());
        assert_eq!(key.as_slice(), &net.content.key);
    }
    report("same, a fresh client for each of 50 licences", cold);
}

fn report(what: &str, mut times: Vec<Duration>) {
    times.sort();
    let mean = times.iter().sum::<Duration>() / times.len() as u32;
    println!(
        "{what}: p50 {}  p99 {}  mean {}  max {}",
        ms(percentile(&times, 0.50)),
        ms(percentile(&times, 0.99)),
        ms(mean),
        ms(*times.last().unwrap())
    );
}

fn throughput(net: &Net, requests: usize) {
    let mut config = net.config(0);
    config.audit_path = net.dir.path().join("throughput.audit.jsonl");
    config.head_ttl = Duration::from_secs(1);
    config.rate_limit.per_second = 1e9;
    config.rate_limit.burst = 1e9;
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let unlimited = RateLimit {
                per_second: 1e9,
                burst: 1e9,
            };
            let admission = Admission {
                peer: unlimited,
                global: unlimited,
            };
            let state: Arc<NodeState> = NodeState::with_admission(config, admission).await.unwrap();
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            addr_tx.send(listener.local_addr().unwrap()).unwrap();
            node::serve(listener, state, async {
                let _ = stop_rx.await;
            })
            .await
            .unwrap();
        });
    });
    let addr = addr_rx.recv().unwrap();
    let url = format!("http://{addr}/v1/licence");
    let asks: Vec<bytes::Bytes> = (0..requests + 200)
        .map(|_| {
            serde_json::to_vec(&net.ask(BUYER, &net.content).0)
                .unwrap()
                .into()
        })
        .collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (warm, timed) = asks.split_at(200);
    rt.block_on(async {
        let http = reqwest::Client::new();
        let post = |body: bytes::Bytes| {
            let http = http.clone();
            let url = url.clone();
            async move {
                let r = http.post(url).body(body).send().await.expect("post");
                assert!(r.status().is_success(), "{}", r.text().await.unwrap());
                r.bytes().await.expect("body");
            }
        };
        stream::iter(warm.iter().cloned())
            .for_each_concurrent(32, &post)
            .await;
        let t = Instant::now();
        stream::iter(timed.iter().cloned())
            .for_each_concurrent(32, &post)
            .await;
        let elapsed = t.elapsed();
        println!(
            "one node on one runtime thread, {requests} licences, 32 concurrent: {:.0} licences/s ({} per licence)",
            requests as f64 / elapsed.as_secs_f64(),
            ms(elapsed / requests as u32)
        );
    });
    let _ = stop_tx.send(());
    server.join().unwrap();
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

async fn flood(net: &Net, wallets: usize) {
    let mut config = net.config(1);
    config.audit_path = net.dir.path().join("flood.audit.jsonl");
    let state = NodeState::new(config).await.unwrap();
    let before = rss_kib();
    let junk: Vec<u8> = format!("{{\"{}\":1}}", "a".repeat(30 * 1024 - 8)).into_bytes();
    let t = Instant::now();
    let codes = std::sync::Mutex::new(std::collections::BTreeMap::<&'static str, usize>::new());
    let count = |r: Result<licence_net_protocol::LicenceResponse, node::Refusal>| {
        let code = r.map_or_else(|e| e.code(), |_| "granted");
        *codes.lock().unwrap().entry(code).or_default() += 1;
    };
    stream::iter(0..10_000usize)
        .for_each_concurrent(64, |i| {
            let state = state.clone();
            let junk = &junk;
            let count = &count;
            async move {
                let peer = std::net::IpAddr::from([10, 0, 0, (i % 100) as u8]);
                count(state.handle_from(peer, junk).await);
            }
        })
        .await;
    let junk_time = t.elapsed();
    let after_junk = rss_kib();
    let junk_info = state.info();
    let junk_log = std::fs::metadata(net.dir.path().join("flood.audit.jsonl"))
        .unwrap()
        .len();
    let junk_codes = codes.lock().unwrap().clone();
    let (template, _) = net.ask(BUYER, &net.content);
    let bodies: Vec<Vec<u8>> = (0..wallets)
        .map(|_| {
            let wallet = k256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);
            let (mut ask, _) = net.ask_signed_by(&wallet, &net.content, |_, _| {});
            ask.key_ciphertext = template.key_ciphertext[..16].to_vec().into();
            serde_json::to_vec(&ask).unwrap()
        })
        .collect();
    let before_wallets = rss_kib();
    let t = Instant::now();
    stream::iter(bodies.iter().enumerate())
        .for_each_concurrent(64, |(i, body)| {
            let state = state.clone();
            let count = &count;
            async move {
                let peer = std::net::IpAddr::from([10, 1, (i / 250 % 4) as u8, (i % 250) as u8]);
                count(state.handle_from(peer, body).await);
            }
        })
        .await;
    let wallet_time = t.elapsed();
    let after = rss_kib();
    let stats = state.replay_stats();
    println!(
        "flood, one node with default limits: 10,000 malformed 30 KiB bodies from 100 addresses in {:.2} s: VmRSS {} → {} KiB, audit log {} KiB in {} lines, answers {:?}",
        junk_time.as_secs_f64(),
        before,
        after_junk,
        junk_log / 1024,
        junk_info.audit_entries,
        junk_codes
    );
    println!(
        "then {wallets} fresh wallets' signed requests from 1,000 addresses in {:.2} s: VmRSS {} → {} KiB (requests held by the bench: {} KiB before), replay store {} nonces in {} buckets, answers in all {:?}",
        wallet_time.as_secs_f64(),
        before_wallets,
        after,
        bodies.iter().map(|b| b.len()).sum::<usize>() / 1024,
        stats.entries,
        stats.bucket_sizes.len(),
        codes.lock().unwrap()
    );
}

fn main() {
    let n: usize = std::env::var("LICENCE_BENCH_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let net = rt.block_on(async {
        let net = Net::bought().await;
        latency(&net, n).await;
        net
    });
    throughput(&net, n.max(2000));
    let wallets: usize = std::env::var("LICENCE_BENCH_WALLETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    rt.block_on(flood(&net, wallets));
    drop(rt);
}

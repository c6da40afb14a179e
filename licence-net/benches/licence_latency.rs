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

#[path = "../tests/it/harness.rs"]
#[allow(dead_code)]
mod harness;

use std::sync::Arc;
use std::time::{Duration, Instant};

use contracts_bindings::ops::Purchase;
use futures::stream::{self, StreamExt};
use harness::*;
use licence_net::node::{self, Admission, NodeState, RateLimit};
use licence_net::KeyShareFile;

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
            .request(&ask, &capsule)
            .await
            .expect("warm-up licence");
    }
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let (ask, capsule) = net.ask(BUYER, &net.content);
        let t = Instant::now();
        let licence = client.request(&ask, &capsule).await.expect("licence");
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
        let licence = net.client().request(&ask, &capsule).await.expect("licence");
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
    let share = KeyShareFile::load(&net.share_paths[0], &net.group).unwrap();
    let mut config = net.config(0, share, test_rate());
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
        let net = Net::start().await;
        net.purchase(BUYER, net.content.id, Purchase::Buy).await;
        latency(&net, n).await;
        net
    });
    throughput(&net, n.max(2000));
    drop(rt);
}

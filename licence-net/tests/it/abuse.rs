//! Attacks on a node's availability (security review ac16717, findings 4, 5, 9 and 13): each test
//! plays the attack against real nodes on a real anvil, then checks that a real buyer is still
//! served.

use std::net::IpAddr;
use std::process::Command;

use futures::stream::{self, StreamExt};
use k256::ecdsa::SigningKey;
use licence_net::audit::verify_file;
use licence_net::node::{Admission, RateLimit, Refusal};
use licence_net::replay::MAX_BUCKETS;
use licence_net_client::{ClientError, LicenceClient, NodeProblem};
use licence_net_protocol::B256;

use crate::harness::*;

/// The review's flood body: a 30 KiB JSON object whose only key is attacker text (`z`, which
/// no hex hash in a log line contains).
fn junk_body(i: usize) -> Vec<u8> {
    let filler = "z".repeat(30 * 1024 - 32);
    format!("{{\"{filler}{i:010}\":1}}").into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_malformed_bodies_leaves_the_log_small_and_the_buyer_served() {
    let mut net = Net::bought().await;
    // Node 0 with the default limits before parsing.
    let state = net
        .restart_node_admitting(0, Admission::default(), |_| {})
        .await;

    // 10,000 malformed 30 KiB bodies from 20 addresses (an IPv6 /64 counts as one).
    let peers: Vec<IpAddr> = (0..10u8)
        .map(|i| IpAddr::from([10, 0, 0, i]))
        .chain((0..10u16).map(|i| IpAddr::from([0x2001, 0xdb8, 0, i, 0, 0, 0, 1])))
        .collect();
    let outcomes: Vec<Refusal> = stream::iter(0..10_000usize)
        .map(|i| {
            let state = state.clone();
            let mut peer = peers[i % peers.len()];
            if let IpAddr::V6(v6) = peer {
                // Another address in the same /64.
                let mut s = v6.segments();
                s[7] = i as u16;
                peer = IpAddr::from(s);
            }
            async move {
                state
                    .handle_from(peer, &junk_body(i))
                    .await
                    .expect_err("junk is refused")
            }
        })
        .buffer_unordered(64)
        .collect()
        .await;
    let malformed = outcomes.iter().filter(|r| r.code() == "malformed").count();
    let throttled = outcomes
        .iter()
        .filter(|r| r.code() == "peer_rate_limited")
        .count();
    assert_eq!(malformed + throttled, 10_000, "only malformed or throttled");
    assert!(throttled > 0 && malformed > 0, "{malformed} malformed");
    for r in &outcomes {
        assert!(!r.to_string().contains("zzzz"), "echoes the body: {r}");
    }
    assert_eq!(state.info().throttled, throttled as u64);

    let log = std::fs::read_to_string(net.audit_path(0)).unwrap();
    assert!(log.len() < 5 << 20, "audit log is {} bytes", log.len());
    assert!(!log.contains("zzzz"), "the log holds attacker bytes");
    let summary = verify_file(&net.audit_path(0)).unwrap();
    assert_eq!(summary.refused, malformed as u64);

    // A real buyer, from its own address, is served by every node.
    net.expect_licensed_by_all(BUYER).await;
    assert_eq!(
        net.last_audit(0).decision,
        licence_net::audit::Decision::Granted
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_torn_last_line_does_not_stop_a_restart() {
    let mut net = Net::bought().await;
    net.expect_licensed_by_all(BUYER).await;
    let before = verify_file(&net.audit_path(0)).unwrap();
    net.stop_node(0);
    // The disk filled in the middle of a batch: half a line, never acknowledged.
    let mut text = std::fs::read(net.audit_path(0)).unwrap();
    let clean_len = text.len();
    text.extend_from_slice(br#"{"entry":{"seq":1,"prev":"0xab"#);
    std::fs::write(net.audit_path(0), &text).unwrap();

    let state = net.restart_node(0, |_| {}).await;
    assert_eq!(state.info().audit_entries, before.entries);
    assert_eq!(state.info().audit_head, before.head);
    assert_eq!(
        std::fs::metadata(net.audit_path(0)).unwrap().len(),
        clean_len as u64
    );
    net.expect_licensed_by_all(BUYER).await;
    let after = verify_file(&net.audit_path(0)).unwrap();
    assert_eq!(after.entries, before.entries + 1);
}

/// A tmpfs of a given size, unmounted when dropped.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let status = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size}"),
                "ddrm-audit-test",
            ])
            .arg(dir.path())
            .status()
            .expect("run mount");
        assert!(
            status.success(),
            "this test needs `mount -t tmpfs` (root): {status}"
        );
        Self { dir }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazy: a node's audit writer thread may still hold its file open for a moment.
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// Fills the file system holding `path` until a write fails (ENOSPC).
fn fill(path: &std::path::Path) {
    use std::io::Write;
    let mut f = std::fs::File::create(path).unwrap();
    let chunk = vec![0u8; 4096];
    loop {
        if f.write_all(&chunk).and_then(|()| f.sync_data()).is_err() {
            return;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_then_the_node_recovers_without_restart() {
    let mut net = Net::bought().await;
    let fs = Tmpfs::mount("1m");
    let audit = fs.dir.path().join("node-0.audit.jsonl");
    let state = net.restart_node(0, |c| c.audit_path = audit.clone()).await;

    post(&state, &net.ask(BUYER, &net.content).0)
        .await
        .expect("granted while there is space");
    let filler = fs.dir.path().join("filler");
    fill(&filler);
    // The log file's last page may still hold a few lines; then writes fail.
    let mut granted = 1;
    loop {
        match post(&state, &net.ask(BUYER, &net.content).0).await {
            Ok(_) => granted += 1,
            Err(Refusal::AuditUnavailable) => break,
            Err(other) => panic!("{other}"),
        }
        assert!(granted < 100, "the disk never filled");
    }
    for _ in 0..3 {
        let refusal = post(&state, &net.ask(BUYER, &net.content).0)
            .await
            .expect_err("nothing is released unlogged");
        assert!(matches!(refusal, Refusal::AuditUnavailable), "{refusal}");
    }
    std::fs::remove_file(&filler).unwrap();
    post(&state, &net.ask(BUYER, &net.content).0)
        .await
        .expect("granted again once there is space, without a restart");
    // Nothing of the failed writes is left in the chain.
    let summary = verify_file(&audit).unwrap();
    assert_eq!(
        (summary.entries, summary.granted),
        (granted + 1, granted + 1)
    );

    // And the node restarts on that log.
    net.stop_node(0);
    drop(state);
    let state = net.restart_node(0, |c| c.audit_path = audit.clone()).await;
    assert_eq!(state.info().audit_entries, granted + 1);
    // Stopped before the tmpfs under its log is unmounted.
    net.stop_node(0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_forwards_the_request_first_cannot_burn_the_nonce() {
    let net = Net::bought().await;
    let (ask, capsule) = net.ask(BUYER, &net.content);
    // Node 0 (malicious, or anyone on the path) posts the buyer's request to the others first.
    for i in 1..NODES {
        post(net.state(i), &ask)
            .await
            .expect("the forwarded copy is granted (sealed to the buyer's capsule)");
    }
    let licence = net
        .client()
        .request_all(&ask, &net.creator(), &capsule)
        .await
        .expect("the buyer's own request still yields its licence");
    net.assert_opens(&licence);
    // One grant per node in the log: the resend was answered from the kept response.
    for i in 1..NODES {
        assert_eq!(
            verify_file(&net.audit_path(i)).unwrap().granted,
            1,
            "node {i}"
        );
    }

    // Another request under the same nonce is still a replay.
    let nonce = ask.request.fields.nonce;
    let (other, _) = net.ask_with(BUYER, &net.content, |f, _| f.nonce = nonce);
    for i in 0..NODES {
        let refusal = post(net.state(i), &other).await.expect_err("replay");
        assert!(matches!(refusal, Refusal::Replayed(_)), "{refusal}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_streaming_an_endless_chunked_reply_is_cut_off() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    const CHUNK: usize = 16 * 1024;
    const TOTAL: usize = 256 * 1024 * 1024;
    let mut net = Net::bought().await;
    let produced = Arc::new(AtomicUsize::new(0));
    let counter = produced.clone();
    let evil = axum::Router::new().route(
        "/v1/licence",
        axum::routing::post(move || {
            let counter = counter.clone();
            async move {
                let chunks = stream::iter(0..TOTAL / CHUNK).map(move |_| {
                    counter.fetch_add(CHUNK, Ordering::Relaxed);
                    Ok::<_, std::convert::Infallible>(bytes::Bytes::from(vec![b' '; CHUNK]))
                });
                axum::body::Body::from_stream(chunks)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let evil_url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, evil).await.unwrap() });
    net.stop_node(4);
    net.urls[4] = evil_url.clone();

    net.expect_licensed_by_all(BUYER).await;
    let (ask, capsule) = net.ask(BUYER, &net.content);
    let Err(ClientError::NotEnough { failures, .. }) = LicenceClient::new(
        vec![evil_url.clone()],
        net.group.clone(),
        std::time::Duration::from_secs(5),
    )
    .unwrap()
    .request(&ask, &net.creator(), &capsule)
    .await
    else {
        panic!("one evil node cannot yield a licence");
    };
    assert_eq!(
        failures[0].problem,
        NodeProblem::BadReply("reply too large".into())
    );
    let sent = produced.load(Ordering::Relaxed);
    assert!(sent < 32 << 20, "the client read on: {sent} bytes produced");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_thousand_free_accounts_keep_the_replay_store_bounded() {
    let mut net = Net::bought().await;
    // Node 0 with no global limit (each address sends one or two requests).
    let admission = Admission {
        global: RateLimit {
            per_second: 1e9,
            burst: 1e9,
        },
        ..Admission::default()
    };
    let state = net.restart_node_admitting(0, admission, |_| {}).await;
    // Signed requests from 100,000 fresh wallets, each with a key ciphertext that does not
    // match its signed commitment: refused after the nonce is recorded, with no chain read.
    let (template, _) = net.ask(BUYER, &net.content);
    let calls = state.rights().contract_calls();
    // Each request is signed just before it is sent, so none expires however slow the machine.
    let codes: Vec<&'static str> = stream::iter(0..100_000usize)
        .map(|i| {
            let wallet = SigningKey::random(&mut rand::rngs::OsRng);
            let (mut ask, _) = net.ask_signed_by(&wallet, &net.content, |_, _| {});
            ask.key_ciphertext = template.key_ciphertext[..16].to_vec().into();
            let body = serde_json::to_vec(&ask).unwrap();
            let state = state.clone();
            async move {
                let peer = IpAddr::from([10, 1, (i / 256 % 256) as u8, (i % 256) as u8]);
                state.handle_from(peer, &body).await.unwrap_err().code()
            }
        })
        .buffer_unordered(64)
        .collect()
        .await;
    let other = codes.iter().find(|c| **c != "ciphertext_not_signed");
    assert_eq!(other, None);
    assert_eq!(state.rights().contract_calls(), calls, "no chain read");
    let stats = state.replay_stats();
    // The stated bound: one entry per live nonce, in at most MAX_BUCKETS buckets.
    assert_eq!(stats.entries, 100_000);
    assert!(stats.entries <= licence_net::node::MAX_REPLAY_ENTRIES);
    assert!(stats.bucket_sizes.len() <= MAX_BUCKETS, "{stats:?}");
    assert_eq!(stats.bucket_sizes.iter().sum::<usize>(), stats.entries);

    net.expect_licensed_by_all(BUYER).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_runtime_keys_and_measurements_cost_one_chain_call_each_per_block() {
    let net = Net::bought().await;
    let state = net.state(0);
    // The buyer first: its answers are cached for this block.
    net.post_to(0, BUYER).await.expect("granted");
    let calls = state.rights().contract_calls();
    let (cached_positive, cached_negative) = state.rights().cached_answers();

    // 300 fresh wallets with random runtime keys, then 300 with random measurements.
    let runtimes: Vec<SigningKey> = (0..300)
        .map(|_| SigningKey::random(&mut rand::rngs::OsRng))
        .collect();
    let measurements: Vec<B256> = (0..300)
        .map(|_| B256::from(rand::random::<[u8; 32]>()))
        .collect();
    let flood = || {
        let mut bodies = Vec::new();
        for runtime in &runtimes {
            let wallet = SigningKey::random(&mut rand::rngs::OsRng);
            let (ask, _) = net.ask_signed_by(&wallet, &net.content, |_, a| {
                a.runtime = runtime.clone();
            });
            bodies.push((ask, "runtime_not_approved"));
        }
        for m in &measurements {
            let wallet = SigningKey::random(&mut rand::rngs::OsRng);
            let (ask, _) = net.ask_signed_by(&wallet, &net.content, |_, a| a.measurement = *m);
            bodies.push((ask, "capsule_not_allowed"));
        }
        bodies
    };
    for (ask, code) in flood() {
        let refusal = post(state, &ask).await.unwrap_err();
        assert_eq!(refusal.code(), code);
    }
    // One call per distinct value; none for the fresh wallets.
    assert_eq!(state.rights().contract_calls(), calls + 600);
    // The same values again, from other fresh wallets: all answered from the cache.
    for (ask, code) in flood() {
        let refusal = post(state, &ask).await.unwrap_err();
        assert_eq!(refusal.code(), code);
    }
    assert_eq!(state.rights().contract_calls(), calls + 600);
    let (positive, negative) = state.rights().cached_answers();
    assert_eq!(
        positive, cached_positive,
        "no positive answer was evicted or added"
    );
    assert_eq!(negative, cached_negative + 600);
    // The buyer still costs no chain call.
    net.post_to(0, BUYER).await.expect("granted");
    assert_eq!(state.rights().contract_calls(), calls + 600);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_http_a_peer_over_its_rate_is_refused_before_parsing() {
    let mut net = Net::start().await;
    let admission = Admission {
        peer: RateLimit {
            per_second: 0.001,
            burst: 2.0,
        },
        ..Admission::default()
    };
    net.restart_node_admitting(0, admission, |_| {}).await;
    let url = &net.urls[0];
    let http = reqwest::Client::new();
    let mut answers = Vec::new();
    for i in 0..3 {
        let reply = http
            .post(format!("{url}/v1/licence"))
            .header("content-type", "application/json")
            .body(junk_body(i))
            .send()
            .await
            .unwrap();
        let status = reply.status().as_u16();
        let body: licence_net_protocol::RefusalBody =
            serde_json::from_slice(&reply.bytes().await.unwrap()).unwrap();
        assert!(!body.message.contains("zzzz"), "{}", body.message);
        answers.push((status, body.code));
    }
    assert_eq!(
        answers,
        [
            (400, "malformed".to_string()),
            (400, "malformed".to_string()),
            (429, "peer_rate_limited".to_string())
        ]
    );
    let info = info_over_http(url).await;
    assert_eq!(info.throttled, 1);
    assert_eq!(info.audit_entries, 2, "the throttled request is not logged");
}

//! The node's options: defaults, files load (group key beside the share by default), and the
//! node serves its health and info endpoints. (Parsing `ddrm licence node` is tested in the
//! binary.)

use licence_net::commands::NodeOptions;
use licence_net::node::NodeState;

use crate::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_arguments_load_and_the_node_reports_health_and_info() {
    let net = Net::start().await;
    let dep_path = net.dir.path().join("deployment.json");
    net.dep.save(&dep_path).unwrap();
    let mut options = NodeOptions::new(net.share_paths[2].clone(), net.rpc.clone(), dep_path);
    options.confirmations = 2;
    assert_eq!(options.listen.to_string(), "127.0.0.1:7400");
    let config = options.config().unwrap();
    assert_eq!(
        config.audit_path,
        net.share_paths[2].with_extension("audit.jsonl")
    );
    assert_eq!(config.share.index, 2);

    let node = serve(config).await;
    let http = reqwest::Client::new();
    let health = http
        .get(format!("{}/health", node.url))
        .send()
        .await
        .unwrap();
    assert!(health.status().is_success());
    assert_eq!(health.text().await.unwrap(), "ok");
    let info = info_over_http(&node.url).await;
    assert_eq!(info.node_index, 2);
    assert_eq!((info.nodes, info.threshold), (NODES, THRESHOLD));
    assert_eq!(info.chain_id, net.dep.chain_id);
    assert_eq!(info.access_contract, net.dep.contracts.access);
    assert_eq!(info.confirmations, 2);
    assert_eq!(info.group_key_id.0, net.group.id());

    // A body over the limit is refused before it is parsed.
    let big = vec![b'x'; 64 * 1024];
    let r = http
        .post(format!("{}/v1/licence", node.url))
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);

    // A deployment for another chain is refused at start.
    let mut other = net.dep.clone();
    other.chain_id = 1;
    let mut config = net.config(1);
    config.deployment = other;
    let err = NodeState::new(config).await.unwrap_err().to_string();
    assert!(err.contains("chain 1"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_purchase_counts_only_after_the_configured_confirmations() {
    let mut net = Net::start().await;
    let audit_path = net.dir.path().join("confirmations.jsonl");
    net.restart_node(0, |c| {
        c.confirmations = 2;
        c.audit_path = audit_path;
    })
    .await;
    // The registration itself is not yet confirmed.
    let refusal = net
        .post_to(0, BUYER)
        .await
        .expect_err("registration not confirmed");
    assert_eq!(refusal.code(), "unknown_content");
    net.travel(1).await;
    net.travel(1).await;
    net.purchase(
        BUYER,
        net.content.id,
        contracts_bindings::ops::Purchase::Buy,
    )
    .await;
    let refusal = net
        .post_to(0, BUYER)
        .await
        .expect_err("the purchase block has no confirmations yet");
    assert_eq!(refusal.code(), "no_access");
    net.travel(1).await;
    net.travel(1).await;
    let granted = net.post_to(0, BUYER).await.expect("two blocks later");
    assert_eq!(granted.node_index, 0);
}

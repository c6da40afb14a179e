//! Nodes down, a node sending a bad share, an unreadable chain, the rate limit.

use contracts_bindings::ops::Purchase;
use licence_net::node::{RateLimit, Refusal};
use licence_net_client::{ClientError, NodeProblem};
use licence_net_protocol::{
    recover_content_key, Expected, PreparedCiphertext, ResponseFault, ShareFault,
};

use crate::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_down_still_succeeds_three_down_fails_closed() {
    let mut net = Net::bought().await;
    net.stop_node(1);
    net.stop_node(3);
    let licence = net.expect_licensed_by_all(BUYER).await;
    let down: Vec<&str> = licence
        .failures
        .iter()
        .filter(|f| matches!(f.problem, NodeProblem::Unreachable(_)))
        .map(|f| f.endpoint.as_str())
        .collect();
    assert_eq!(down.len(), 2, "{:?}", licence.failures);
    assert!(down.contains(&net.urls[1].as_str()) && down.contains(&net.urls[3].as_str()));

    net.stop_node(4);
    let (ask, capsule) = net.ask(BUYER, &net.content);
    let err = net
        .client()
        .request(&ask, &net.creator(), &capsule)
        .await
        .expect_err("fails closed");
    let text = err.to_string();
    let ClientError::NotEnough {
        needed,
        valid,
        answered,
        failures,
        ..
    } = &err
    else {
        panic!("{err}")
    };
    assert_eq!((*needed, *valid, *answered), (3, 2, 2), "{text}");
    assert_eq!(failures.len(), 3, "{text}");
    assert!(
        text.contains("2 valid shares of 3 needed; 2 of 5 nodes answered"),
        "{text}"
    );
    assert!(text.contains("unreachable"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_with_a_bad_share_is_detected_and_named_and_three_others_succeed() {
    let mut net = Net::bought().await;
    // Node 4 keeps its operator key (its responses are signed correctly) but holds a share of
    // another group: a corrupted or malicious node. Node 2 is down, so the client must use
    // exactly the other three.
    net.stop_node(2);
    net.corrupt_node(4).await;

    let licence = net.expect_licensed_by_all(BUYER).await;
    let mut used: Vec<usize> = licence.shares.iter().map(|s| s.0).collect();
    used.sort();
    assert_eq!(used, vec![0, 1, 3]);
    let named: Vec<_> = licence
        .failures
        .iter()
        .filter(|f| matches!(f.problem, NodeProblem::Invalid(_)))
        .collect();
    assert_eq!(named.len(), 1, "{:?}", licence.failures);
    assert_eq!(named[0].node_index, Some(4));
    assert_eq!(named[0].endpoint, net.urls[4]);
    assert_eq!(
        named[0].problem,
        NodeProblem::Invalid(ResponseFault::InvalidShare)
    );
    assert!(named[0].to_string().starts_with("node 4 ("), "{}", named[0]);

    // With the early-returning request the licence also succeeds.
    net.expect_licensed(BUYER).await;

    // Two honest nodes and the bad one: refused, naming the bad node.
    net.stop_node(3);
    let (ask, capsule) = net.ask(BUYER, &net.content);
    let err = net
        .client()
        .request(&ask, &net.creator(), &capsule)
        .await
        .expect_err("not enough");
    let text = err.to_string();
    assert!(
        text.contains("node 4 (") && text.contains("decryption share does not verify"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gather_returns_sealed_responses_and_the_capsule_names_a_corrupted_node() {
    let mut net = Net::bought().await;
    net.corrupt_node(4).await;
    let (ask, capsule) = net.ask(BUYER, &net.content);
    let client = net.client();

    // The host: no capsule secret; it waits for every node here so the corrupted one is among
    // the responses, which it cannot tell apart (its envelope is valid).
    let mut gathered = client.gather(&ask).await.expect("three envelopes");
    assert!(gathered.responses.len() >= THRESHOLD);
    gathered.rest().await;
    assert_eq!(gathered.outstanding(), 0);
    assert_eq!(gathered.responses.len(), NODES, "{:?}", gathered.failures);
    assert!(gathered.failures.is_empty(), "{:?}", gathered.failures);
    assert_eq!(gathered.endpoint_of(4), Some(net.urls[4].as_str()));

    // The capsule: opens, verifies, combines; the corrupted share is named, not used.
    let ct = PreparedCiphertext::decode(&ask.key_ciphertext, &net.creator()).unwrap();
    let expected = Expected::of(&ask);
    let mut responses = gathered.responses.clone();
    // Put the corrupted node first so that it is certainly checked.
    responses.sort_by_key(|r| std::cmp::Reverse(r.node_index));
    let recovered = recover_content_key(&net.group, &ct, &expected, &responses, &capsule)
        .expect("four honest shares");
    assert_eq!(recovered.key.as_slice(), &net.content.key);
    assert_eq!(
        recovered.faults,
        vec![ShareFault {
            node_index: 4,
            fault: ResponseFault::InvalidShare
        }]
    );
    assert!(recovered.shares.iter().all(|(i, _)| *i != 4));

    // Only two honest responses and the corrupted one: the capsule fails closed, naming node 4;
    // the host records that against the node's endpoint and drops its response.
    let three: Vec<_> = responses
        .iter()
        .filter(|r| [4, 3, 2].contains(&r.node_index))
        .cloned()
        .collect();
    let err = recover_content_key(&net.group, &ct, &expected, &three, &capsule).unwrap_err();
    assert_eq!((err.valid, err.needed), (2, THRESHOLD));
    assert!(err.to_string().contains("node 4:"), "{err}");
    gathered.report(&err.faults);
    assert_eq!(gathered.failures.len(), 1, "{:?}", gathered.failures);
    let named = &gathered.failures[0];
    assert_eq!(named.node_index, Some(4));
    assert_eq!(named.endpoint, net.urls[4]);
    assert_eq!(
        named.problem,
        NodeProblem::Invalid(ResponseFault::InvalidShare)
    );
    assert!(gathered.responses.iter().all(|r| r.node_index != 4));
    assert_eq!(gathered.responses.len(), NODES - 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chain_that_cannot_be_read_releases_nothing() {
    let mut net = Net::bought().await;
    net.expect_licensed(BUYER).await;
    net.anvil = None; // stops anvil
    let text = net.expect_account_refused(BUYER, "chain_unavailable").await;
    assert!(text.contains("eth_blockNumber"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_over_its_rate_limit_is_refused() {
    let mut net = Net::bought().await;
    net.restart_node(0, |c| {
        c.rate_limit = RateLimit {
            per_second: 0.001,
            burst: 2.0,
        }
    })
    .await;
    for _ in 0..2 {
        net.post_to(0, BUYER).await.expect("within the burst");
    }
    let refusal = net.post_to(0, BUYER).await.expect_err("over the limit");
    assert!(matches!(refusal, Refusal::RateLimited(_)), "{refusal}");
    // Another account is not affected.
    net.purchase(STRANGER, net.content.id, Purchase::Buy).await;
    net.post_to(0, STRANGER).await.expect("another account");
    assert_eq!(
        net.audit_entries(0).last().unwrap().facts.account,
        Some(net.keys[STRANGER].address())
    );
}

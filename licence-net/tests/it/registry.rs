//! LicenceNetworkRegistry: nodes check their group key against it at start; a client takes its
//! endpoints and group key from it.

use std::time::Duration;

use contracts_bindings::Chain;
use licence_net::dealer;
use licence_net::node::{NodeError, NodeState, RegistryCheck};
use licence_net::KeyShareFile;
use licence_net_client::registry::{self, RegisteredNetwork, RegistryError};
use licence_net_client::LicenceClient;

use crate::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registered_network_serves_a_client_built_from_the_chain_and_a_node_refuses_another_key()
{
    let net = Net::bought().await;
    let reader = Chain::connect(&net.rpc, None).await.unwrap();

    // Nothing registered yet: a node that requires a registration refuses to start.
    let mut config = net.config(0);
    config.registry = RegistryCheck::Required;
    let err = NodeState::new(config).await.unwrap_err();
    assert!(
        matches!(err, NodeError::Registry(RegistryError::NotRegistered(_))),
        "{err}"
    );
    assert!(err.to_string().contains("ddrm licence register"), "{err}");

    // Only the owner (the deployer) may register.
    let stranger = net.chain_as(STRANGER).await;
    assert!(
        registry::register(&stranger, &net.dep, &net.group, &net.urls)
            .await
            .is_err()
    );
    let owner = net.chain_as(DEPLOYER).await;
    let epoch = registry::register(&owner, &net.dep, &net.group, &net.urls)
        .await
        .expect("register");
    assert_eq!(epoch, 1);
    let on_chain = RegisteredNetwork::read(&reader.provider, &net.dep, Duration::from_secs(2))
        .await
        .unwrap();
    assert_eq!(on_chain.endpoints(), net.urls);
    assert_eq!(on_chain.group_key().unwrap(), net.group);
    on_chain.check(&net.group).unwrap();

    // A client built from the chain alone gets a licence.
    let client = LicenceClient::from_registry(&reader.provider, &net.dep, Duration::from_secs(5))
        .await
        .expect("client from the registry");
    assert_eq!(client.endpoints(), net.urls.as_slice());
    let (ask, capsule) = net.ask(BUYER, &net.content);
    let licence = client
        .request(&ask, &net.creator(), &capsule)
        .await
        .expect("licence");
    net.assert_opens(&licence);

    // A node whose group key matches starts and reports the epoch.
    let mut config = net.config(1);
    config.audit_path = net.dir.path().join("again.audit.jsonl");
    config.registry = RegistryCheck::Required;
    let node = NodeState::new(config).await.expect("matching node starts");
    assert_eq!(node.info().registry_epoch, 1);

    // A node of another group refuses to start, saying why.
    let other_dir = tempfile::tempdir().unwrap();
    let other = dealer::deal(NODES, THRESHOLD, other_dir.path()).unwrap();
    let mut config = net.config(2);
    config.share = KeyShareFile::load(&other.share_paths[2], &other.group).unwrap();
    config.group = other.group.clone();
    config.audit_path = net.dir.path().join("other.audit.jsonl");
    let err = NodeState::new(config).await.unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(
            err,
            NodeError::Registry(RegistryError::Mismatch { epoch: 1, .. })
        ),
        "{text}"
    );
    assert!(
        text.contains("does not match the network registered on chain")
            && text.contains("public key set differs"),
        "{text}"
    );

    // Same key set, another operator for node 3: refused too.
    let mut ops = net.group.operators().to_vec();
    ops[3] = licence_net_protocol::Address::repeat_byte(0x33);
    let moved = licence_net_protocol::GroupKey::from_parts(
        &net.group.public_key_set_bytes(),
        THRESHOLD,
        ops,
    )
    .unwrap();
    let err = on_chain.check(&moved).unwrap_err();
    assert!(err.to_string().contains("node 3's operator"), "{err}");
}

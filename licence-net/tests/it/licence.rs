//! A buyer gets a licence; every reason to refuse one is refused, by every node, with the reason
//! in the client's error and in each node's audit log.

use contracts_bindings::ops::Purchase;
use licence_net::audit::Decision;
use licence_net_protocol::{measure, AccessKind, Address, RuntimeKind, U256};

use crate::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_buyer_gets_three_valid_shares_that_decrypt_the_content_key() {
    let net = Net::bought().await;
    let (ask, capsule) = net.ask(BUYER, &net.content);
    let licence = net
        .client()
        .request(&ask, &net.creator(), &capsule)
        .await
        .expect("licence");
    assert_eq!(licence.shares.len(), THRESHOLD);
    net.assert_opens(&licence);
    assert_eq!(licence.policy.access, AccessKind::Perpetual);
    assert_eq!(licence.policy.play_until, None);
    assert_eq!(licence.policy.account, net.keys[BUYER].address());
    assert!(licence.policy.renew_after > now());
    // Each granting node logged it.
    for (i, _) in &licence.shares {
        let e = net.last_audit(*i);
        assert_eq!(e.decision, Decision::Granted);
        assert_eq!(e.facts.account, Some(net.keys[BUYER].address()));
        assert_eq!(e.facts.nonce, Some(ask.request.fields.nonce));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rental_is_licensed_until_it_ends_then_refused() {
    let net = Net::start().await;
    net.purchase(BUYER, net.content.id, Purchase::Rent(1)).await;
    let licence = net.expect_licensed(BUYER).await;
    assert_eq!(licence.policy.access, AccessKind::Timed);
    let until = licence.policy.play_until.expect("a rental has an end");
    assert!(
        until > licence.policy.issued_at && until <= licence.policy.issued_at + RENT_PERIOD as u64
    );
    assert!(licence.policy.renew_after <= until);

    net.travel(RENT_PERIOD as u64 + 1).await;
    let text = net.expect_account_refused(BUYER, "no_access").await;
    assert!(text.contains("has no access"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_purchase_is_refused() {
    let net = Net::start().await;
    net.expect_account_refused(STRANGER, "no_access").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_request_is_refused_and_an_identical_resend_gets_the_same_answer() {
    let net = Net::bought().await;
    let (ask, capsule) = net.ask(BUYER, &net.content);
    for node in net.nodes.iter().flatten() {
        let first = post(&node.state, &ask).await.expect("granted");
        // The same signed request again (a retry): the very same sealed answer.
        let again = post(&node.state, &ask).await.expect("an identical resend");
        assert_eq!(again, first);
    }
    let licence = net
        .client()
        .request(&ask, &net.creator(), &capsule)
        .await
        .expect("resent");
    net.assert_opens(&licence);
    // Another request under the same nonce is a replay.
    let nonce = ask.request.fields.nonce;
    let text = net
        .expect_edit_refused(BUYER, |f, _| f.nonce = nonce, "replayed")
        .await;
    assert!(text.contains("already used"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_or_too_long_request_is_refused() {
    let net = Net::bought().await;
    net.expect_edit_refused(BUYER, |f, _| f.expiry = now() - 1, "expired")
        .await;
    net.expect_edit_refused(BUYER, |f, _| f.expiry = now() + 3600, "expiry_too_far")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_signed_for_another_chain_or_contract_is_refused() {
    let net = Net::bought().await;
    net.expect_edit_refused(BUYER, |f, _| f.chain_id = 1, "wrong_chain")
        .await;
    let market = net.dep.contracts.market;
    net.expect_edit_refused(BUYER, |f, _| f.access_contract = market, "wrong_contract")
        .await;
    // A signature over other fields than those sent does not recover to the account.
    let (mut ask, capsule) = net.ask(BUYER, &net.content);
    ask.request.account = Address::repeat_byte(7);
    net.expect_refused(&ask, &capsule, "bad_signature").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_or_revoked_capsule_is_refused() {
    let net = Net::bought().await;
    // A tampered capsule (its measurement is not registered at all), and a registered capsule
    // the creator did not list for this content.
    for capsule in [&b"\0asm tampered capsule"[..], OTHER_CAPSULE] {
        let m = measure(capsule);
        net.expect_edit_refused(BUYER, |_, a| a.measurement = m, "capsule_not_allowed")
            .await;
    }
    // The allowed capsule, revoked.
    net.expect_licensed(BUYER).await;
    net.revoke_capsule(net.measurement).await;
    net.expect_account_refused(BUYER, "capsule_not_allowed")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_or_unknown_runtime_key_is_refused() {
    let net = Net::bought().await;
    let stranger = k256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);
    net.expect_edit_refused(BUYER, |_, a| a.runtime = stranger, "runtime_not_approved")
        .await;
    net.revoke_runtime().await;
    let text = net
        .expect_account_refused(BUYER, "runtime_not_approved")
        .await;
    assert!(text.contains("revoked"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_key_ciphertext_of_another_content_is_refused() {
    let net = Net::start().await;
    // The buyer owns content A and tries to have A's licence decrypt content B's key.
    let b = net.register_content(&[net.measurement]).await;
    net.purchase(BUYER, net.content.id, Purchase::Buy).await;
    let text = net
        .expect_edit_refused(
            BUYER,
            |_, a| a.ciphertext = b.ciphertext.clone(),
            "commitment_mismatch",
        )
        .await;
    assert!(text.contains("not the one committed on chain"), "{text}");
    // A ciphertext other than the one the wallet signed for.
    let (mut ask, capsule) = net.ask(BUYER, &net.content);
    ask.key_ciphertext = b.ciphertext.clone().into();
    net.expect_refused(&ask, &capsule, "ciphertext_not_signed")
        .await;
    // An unregistered content id.
    let ghost = Content {
        id: U256::from(12345u64),
        header_digest: Default::default(),
        key: [0; 32],
        ciphertext: net.content.ciphertext.clone(),
    };
    let (ask, capsule) = net.ask(BUYER, &ghost);
    net.expect_refused(&ask, &capsule, "unknown_content").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attestation_for_another_capsule_key_or_too_old_is_refused() {
    let net = Net::bought().await;
    let (mut ask, capsule) = net.ask(BUYER, &net.content);
    let (other, _) = net.ask(BUYER, &net.content);
    ask.attestation = other.attestation;
    net.expect_refused(&ask, &capsule, "attestation_mismatch")
        .await;
    net.expect_edit_refused(
        BUYER,
        |_, a| a.issued_at = now() - 2 * 3600,
        "attestation_invalid",
    )
    .await;
}

/// Security review (ac16717) finding 1: a stranger registers a new content id carrying the key
/// commitment of someone else's content (both are public), buys it from itself for 1 wei and
/// asks for a licence with the other content's key ciphertext. Before key ciphertexts were
/// labelled with their creator, every node released its share of that ciphertext: the content
/// key of a content the stranger never bought. Now the nodes check the ciphertext's label
/// against the alias's registered creator (the stranger) and refuse.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alias_registration_of_another_creators_key_gets_nothing() {
    let net = Net::start().await;
    // Allowed by the registry: each account may register a commitment once; the stranger's
    // alias id is its own (derived from its address), so only the label can stop it.
    let alias = Content::of(
        net.keys[STRANGER].address(),
        [0; 32],
        net.content.ciphertext.clone(),
    );
    net.register_as(STRANGER, &alias, U256::from(1u8)).await;
    net.purchase(STRANGER, alias.id, Purchase::Buy).await;
    let (ask, capsule) = net.ask(STRANGER, &alias);
    let text = net
        .expect_refused(&ask, &capsule, "key_not_from_creator")
        .await;
    assert!(text.contains("registered creator"), "{text}");
    // The real content still licenses its real buyers.
    net.purchase(BUYER, net.content.id, Purchase::Buy).await;
    net.expect_licensed(BUYER).await;
}

/// The reverse direction, with chain state the registry never writes: were the registry to map
/// the creator's commitment to another content (a bug, or another deployment), the nodes refuse
/// rather than trust the forward mapping alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commitment_registered_under_another_content_is_refused() {
    let net = Net::bought().await;
    let commitment = licence_net_protocol::key_commitment(&net.content.ciphertext);
    // Untouched, the registry's mapping points back at the content: granted.
    net.expect_licensed(BUYER).await;
    net.forge_commitment_owner(net.creator(), commitment, U256::from(777u64))
        .await;
    let text = net
        .expect_account_refused(BUYER, "commitment_elsewhere")
        .await;
    assert!(text.contains("one commitment, one content"), "{text}");
}

/// Issue 11: "the file key stays for local dev stacks only, named as such in the node's audit
/// log, and nodes can be configured to refuse file-backed runtime keys". An approved file key
/// is granted by a default node, and its kind is recorded; a node started with
/// `require_hardware_runtime` refuses it before reading the chain. (That a TPM-held key is
/// granted by such nodes is `player`'s `tpm` test, which has a software TPM.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_requires_hardware_runtimes_refuses_a_file_key() {
    let mut net = Net::bought().await;
    net.expect_licensed(BUYER).await;
    for i in 0..NODES {
        // The client returns after the first three grants; the other two nodes' lines may
        // still be on their way to disk.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while net.audit_entries(i).is_empty() && std::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let last = net.last_audit(i);
        assert_eq!(last.decision, Decision::Granted);
        assert_eq!(
            last.facts.runtime_kind,
            Some(RuntimeKind::FileSecp256k1),
            "node {i}: {last:?}"
        );
    }

    for i in 0..NODES {
        net.restart_node(i, |c| c.require_hardware_runtime = true)
            .await;
    }
    let text = net
        .expect_account_refused(BUYER, "runtime_not_hardware")
        .await;
    assert!(text.contains("file key"), "{text}");
    for i in 0..NODES {
        let last = net.last_audit(i);
        assert_eq!(last.facts.runtime_kind, Some(RuntimeKind::FileSecp256k1));
        assert_eq!(last.facts.block, None, "refused before reading the chain");
    }
}

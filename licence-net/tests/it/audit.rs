//! The audit log survives a restart (and so does replay protection); `audit verify` catches an
//! edited line.

use licence_net::audit::{verify_file, Decision};
use licence_net::node::Refusal;

use crate::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_survives_a_restart_and_verify_catches_an_edit() {
    let mut net = Net::bought().await;
    let (first, capsule) = net.ask(BUYER, &net.content);
    net.client()
        .request_all(&first, &net.creator(), &capsule)
        .await
        .expect("licence");
    let (stranger, capsule) = net.ask(STRANGER, &net.content);
    net.client()
        .request(&stranger, &net.creator(), &capsule)
        .await
        .expect_err("no access");
    let before = verify_file(&net.audit_path(0)).unwrap();
    assert_eq!((before.entries, before.granted, before.refused), (2, 1, 1));
    assert_eq!(net.state(0).info().audit_head, before.head);

    // Restart node 0 on the same audit log.
    let state = net.restart_node(0, |_| {}).await;
    assert_eq!(state.info().audit_entries, 2);
    // The replay store was rebuilt from the log: another request under the first one's nonce
    // is refused.
    let nonce = first.request.fields.nonce;
    let (other, _) = net.ask_with(BUYER, &net.content, |f, _| f.nonce = nonce);
    let replay = post(&state, &other)
        .await
        .expect_err("replay after restart");
    assert!(matches!(replay, Refusal::Replayed(_)), "{replay}");
    // The very same request again is decided again (the answer kept before the restart is
    // gone): it is granted, sealed to the same capsule key, and logged.
    let resent = post(&state, &first)
        .await
        .expect("an identical resend is not a replay");
    assert_eq!(resent.request_hash, first.request.request_hash());
    net.expect_licensed_by_all(BUYER).await;

    let after = verify_file(&net.audit_path(0)).expect("intact");
    assert_eq!((after.entries, after.granted, after.refused), (5, 3, 2));
    let entries = net.audit_entries(0);
    assert_eq!(entries[1].decision, Decision::Refused);
    assert_eq!(entries[1].facts.reason.as_deref(), Some("no_access"));
    assert_eq!(entries[2].facts.reason.as_deref(), Some("replayed"));
    assert_eq!(
        entries[2].prev, before.head,
        "the chain continues across the restart"
    );
    assert!(
        after.to_string().starts_with("audit log intact: 5 entries"),
        "{after}"
    );

    // Turn the refusal on line 2 into a grant.
    let path = net.audit_path(0);
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let edited_line = lines[1].replace("\"refused\"", "\"granted\"");
    assert_ne!(edited_line, lines[1]);
    let edited = [lines[0], &edited_line, lines[2], lines[3], lines[4]].join("\n") + "\n";
    let copy = net.dir.path().join("edited.jsonl");
    std::fs::write(&copy, edited).unwrap();
    let err = verify_file(&copy).unwrap_err().to_string();
    assert!(err.contains("line 2") && err.contains("edited"), "{err}");

    // Dropping a line in the middle is caught too.
    let dropped = [lines[0], lines[2], lines[3], lines[4]].join("\n") + "\n";
    let copy = net.dir.path().join("dropped.jsonl");
    std::fs::write(&copy, dropped).unwrap();
    let err = verify_file(&copy).unwrap_err().to_string();
    assert!(err.contains("line 2"), "{err}");
}

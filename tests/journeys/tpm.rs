//! Issue 11's TPM-held runtime key from the command line: `ddrm up --swtpm
//! --require-hardware-runtime` keeps the install's runtime key in a software TPM and starts
//! nodes that refuse file keys; `ddrm play --stack` plays with the TPM key and says so; a file
//! key is refused and says it is for local development only.

use licence_net_protocol::RuntimeKind;
use stack::StackFile;
use tests::up::{Published, Up};
use tests::Journey;

const DDRM: &str = env!("CARGO_BIN_EXE_ddrm");

fn key<'a>(stack: &'a StackFile, label: &str) -> &'a str {
    stack.dev_accounts.get(label).unwrap().private_key.as_str()
}

#[test]
fn a_tpm_runtime_key_plays_where_nodes_require_one_and_a_file_key_is_refused() {
    let j = Journey::new(DDRM);
    let mut up = Up::start_with(
        DDRM,
        &j.path("stack"),
        &[
            "--swtpm",
            "--require-hardware-runtime",
            "--log-format",
            "json",
        ],
    );
    let stack = up.wait_ready();
    let s = up.stack_path();
    let s = s.to_str().unwrap();
    assert_eq!(stack.runtime.kind, RuntimeKind::Tpm2P256);
    assert!(!stack.runtime.local_development_only);
    let key_file = std::fs::read_to_string(&stack.runtime.key_file).unwrap();
    assert!(key_file.contains("\"tpm2-p256\""), "{key_file}");

    let tone = j.make_clip("tone.m4a", 2, &["-map", "1:a", "-c:a", "aac"]);
    let creator = stack.dev_accounts.get("creator").unwrap().address;
    let Published { content_id: id, .. } = j.publish(
        &stack,
        &tone,
        "tone.ddrm",
        &format!("{creator}:10000"),
        [&[], &[]],
    );
    j.buy(&stack, &id, "buyer");

    let played = j
        .ddrm([
            "play",
            "tone.ddrm",
            "--wallet-key",
            key(&stack, "buyer"),
            "--audio-out",
            "tone.wav",
            "--stack",
            s,
        ])
        .ok();
    assert!(
        played
            .stderr()
            .contains("runtime key: held by the TPM at swtpm:"),
        "{}",
        played.stderr()
    );
    assert!(j.path("tone.wav").exists());
    for n in &stack.licence.nodes {
        // `ddrm up --log-format json` gives its nodes JSON logs: one object per line.
        let log = std::fs::read_to_string(n.log.as_ref().expect("a node log")).unwrap();
        let events: Vec<serde_json::Value> = log
            .lines()
            .filter(|l| l.starts_with('{'))
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect();
        assert!(
            events
                .iter()
                .any(|e| e["fields"]["message"] == "licence granted"
                    && e["fields"]["runtime_kind"] == "tpm2-p256"),
            "{log}"
        );
        let audit = std::fs::read_to_string(&n.audit_log).unwrap();
        let last = audit.lines().last().unwrap();
        assert!(
            last.contains("\"runtime_kind\":\"tpm2-p256\"") && last.contains("\"granted\""),
            "{last}"
        );
    }

    // The same install with a file key (as a copied dev key would be): refused by every node.
    let refused = j
        .ddrm([
            "play",
            "tone.ddrm",
            "--wallet-key",
            key(&stack, "buyer"),
            "--audio-out",
            "file-key.wav",
            "--runtime-key",
            j.path("file-runtime.key").to_str().unwrap(),
            "--stack",
            s,
        ])
        .fails();
    assert!(refused.contains("runtime_not_hardware"), "{refused}");
    assert!(refused.contains("local development only"), "{refused}");
    assert!(!j.path("file-key.wav").exists());
    up.stop("INT");
}

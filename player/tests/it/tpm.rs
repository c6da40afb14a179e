//! TPM-held runtime keys (issue 11), against a real software TPM (swtpm): a TPM-backed key
//! plays where nodes require hardware runtime keys; a copied file key does not; a copy of the
//! TPM key's file is useless on another TPM.

use std::time::Duration;

use licence_net_protocol::RuntimeKind;
use player::runtime::{RuntimeKey, RuntimeKeyError, SwTpm};
use player::{bundled_capsule, PlayError};
use tests::media::{ffmpeg_decode_f32, read_wav_f32, snr_db};

use crate::harness::*;

fn swtpm(state: &std::path::Path) -> SwTpm {
    SwTpm::start(state).unwrap_or_else(|e| panic!("a software TPM is needed: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tpm_key_plays_where_nodes_require_hardware_and_a_copied_file_key_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let tpm = swtpm(&dir.path().join("tpm-state"));
    let runtime =
        RuntimeKey::load_or_create_tpm(&tpm.tcti(), &dir.path().join("runtime-tpm.json")).unwrap();
    assert_eq!(runtime.kind(), RuntimeKind::Tpm2P256);
    // A file key, approved on chain as well (as a dev stack's key would be), copied from
    // another install.
    let copied = RuntimeKey::load_or_create(&dir.path().join("copied-runtime.key")).unwrap();
    let copied_id = copied.address();
    let stack = Stack::start_in(
        dir,
        StackOptions {
            runtime,
            also_approve: vec![copied_id],
            require_hardware_runtime: true,
        },
    )
    .await;
    let b = bought_clip_on(stack, 3).await;
    let s = &b.stack;

    let out = s.file("tpm.wav");
    let report = b
        .play_as(BUYER, &out)
        .await
        .expect("a TPM-held runtime key plays");
    assert_eq!(report.nodes.len(), THRESHOLD);
    let (_, _, got) = read_wav_f32(&out);
    let want = ffmpeg_decode_f32(&b.source, 48_000, 2);
    assert!(snr_db(&want, &got).is_infinite(), "bit-exact FLAC");

    let refused = s.file("file-key.wav");
    let mut opts = s.options(&b.ddrm, BUYER, bundled_capsule(), Duration::ZERO);
    opts.runtime = std::sync::Arc::new(copied);
    let e = s.play(opts, &refused).await.unwrap_err();
    assert!(matches!(e, PlayError::LicenceRefused(_)), "{e}");
    assert!(e.to_string().contains("runtime_not_hardware"), "{e}");
    assert!(e.to_string().contains("5 of 5 nodes answered"), "{e}");
    assert!(!refused.exists());
}

#[test]
fn a_copy_of_the_tpm_key_file_does_not_load_on_another_tpm() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runtime-tpm.json");
    let (id, copy) = {
        let tpm = swtpm(&dir.path().join("tpm-a"));
        let key = RuntimeKey::load_or_create_tpm(&tpm.tcti(), &path).unwrap();
        // Reloads from its file, on its own TPM, as the same key, and attests.
        let again = RuntimeKey::load(&path).unwrap();
        assert_eq!(again.address(), key.address());
        let m = licence_net_protocol::B256::repeat_byte(3);
        let att = again
            .attest(m, licence_net_protocol::B256::repeat_byte(4), now())
            .unwrap();
        assert_eq!(att.runtime, key.address());
        att.verify(now()).unwrap();
        (key.address(), std::fs::read_to_string(&path).unwrap())
    };

    // The same file on another machine's TPM: everything an attacker copied, pointed at the
    // TPM they have.
    let other = swtpm(&dir.path().join("tpm-b"));
    let mut file: serde_json::Value = serde_json::from_str(&copy).unwrap();
    file["tcti"] = other.tcti().into();
    let stolen = dir.path().join("stolen.json");
    std::fs::write(&stolen, serde_json::to_string(&file).unwrap()).unwrap();
    std::fs::set_permissions(&stolen, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let key = RuntimeKey::load(&stolen).unwrap();
    assert_eq!(key.address(), id, "the public half is the same key");
    let e = key
        .attest(
            licence_net_protocol::B256::repeat_byte(3),
            licence_net_protocol::B256::repeat_byte(4),
            now(),
        )
        .unwrap_err();
    assert!(matches!(e, RuntimeKeyError::TpmRefusedKey { .. }), "{e}");
    assert!(e.to_string().contains("another TPM"), "{e}");
}

#[test]
fn no_tpm_at_the_tcti_is_said_plainly() {
    let dir = tempfile::tempdir().unwrap();
    // A loopback port nothing listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let e = RuntimeKey::load_or_create_tpm(
        &format!("swtpm:host=127.0.0.1,port={port}"),
        &dir.path().join("runtime-tpm.json"),
    )
    .unwrap_err();
    assert!(matches!(e, RuntimeKeyError::NoTpm { .. }), "{e}");
    assert!(e.to_string().starts_with("no TPM answers at swtpm:"), "{e}");
    assert!(!dir.path().join("runtime-tpm.json").exists());
}

//! Writes the seed corpus of every fuzz target into `fuzz/corpus/<target>/` from the fixture
//! (`ddrm_fuzz`) and the format's committed test vectors: valid inputs that carry real
//! signatures, seals and hash chains, so the fuzzer starts past every check a random byte string
//! fails. Run by `scripts/fuzz.sh --corpus`; its output is committed. Seeds that depend on fresh
//! randomness (a ciphertext, a sealed share) differ between runs; each is valid against the
//! fixture whatever its bytes.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use ddrm_capsule::wire::{AskDraft, BadShare, Control, Event, Fault, PlayParams, StopKind};
use ddrm_fuzz::*;
use licence_net::audit::{AuditFacts, AuditLog, Decision};
use licence_net_protocol::{
    address_of, key_commitment, AccessKind, Attestation, LicenceAsk, LicencePolicy,
    LicenceResponse, PreparedCiphertext, RequestFields, B256,
};
use packager_format::{Container, ContentKey};

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let corpus = root.join("corpus");
    let vectors = root.join("../packager/format/testdata");
    let mut w = Writer { corpus };

    // The .ddrm test vectors: whole files, their headers, their decrypted segments.
    for name in ["v2-data.ddrm", "v2-media.ddrm"] {
        let bytes = std::fs::read(vectors.join(name)).expect("the committed test vector");
        w.seed("ddrm_container", name, &bytes);
        let container = Container::open(Cursor::new(&bytes[..])).expect("the vector opens");
        let header = container.header().encode().expect("encodes");
        w.seed("ddrm_header", name, &header);
        let mut unlocked = container
            .unlock(&ContentKey::from_bytes(vector_key()))
            .expect("the vectors' key");
        let mut buf = Vec::new();
        for i in 0..unlocked.header().segments.len() {
            unlocked.segment(i, &mut buf).expect("a vector's segment");
            w.seed("segment_packets", &format!("{name}-{i}"), &buf);
        }
    }

    // A content key wrapped to the fixture's network, a signed request, and the nodes' answers.
    let net = network();
    let key_ciphertext = net
        .group
        .encrypt(&creator(), &vector_key())
        .expect("encrypts");
    let prepared = PreparedCiphertext::decode(&key_ciphertext, &creator()).expect("decodes");
    let attestation = Attestation::sign(
        &runtime_key(),
        B256::repeat_byte(0x3C),
        capsule_key(),
        NOW - 10,
    )
    .expect("signs");
    let fields = RequestFields {
        chain_id: CHAIN_ID,
        access_contract: access_contract(),
        content_id: content_id(),
        key_commitment: key_commitment(&key_ciphertext),
        capsule_key: capsule_key(),
        attestation_hash: attestation.hash(),
        nonce: B256::repeat_byte(0x4E),
        expiry: NOW + 60,
    };
    let request = fields.clone().sign(&wallet()).expect("signs");
    let ask = LicenceAsk {
        request: request.clone(),
        attestation: attestation.clone(),
        key_ciphertext: key_ciphertext.clone().into(),
    };
    // Seeds get past every check: the request's signer, the attestation at the fixture's clock.
    assert_eq!(
        ask.request.verify_signer().expect("signed"),
        address_of(wallet().verifying_key())
    );
    ask.attestation.verify(NOW).expect("attested");
    w.json("licence_ask", "ask", &ask);
    let policy = |access, play_until| LicencePolicy {
        account: address_of(wallet().verifying_key()),
        content_id: content_id(),
        access,
        play_until,
        renew_after: NOW + 600,
        issued_at: NOW - 2,
        block_number: 42,
    };
    for (label, access, until) in [
        ("perpetual", AccessKind::Perpetual, None),
        ("rental", AccessKind::Timed, Some(NOW + 3600)),
    ] {
        let responses: Vec<LicenceResponse> = (0..NODES)
            .map(|i| {
                LicenceResponse::issue(
                    i as u32,
                    &net.secret.secret_key_share(i),
                    &operator(i),
                    prepared.ciphertext(),
                    request.request_hash(),
                    &capsule_key(),
                    policy(access, until),
                )
                .expect("a node issues")
            })
            .collect();
        let case = ResponseCase {
            key_ciphertext: hex::encode(&key_ciphertext),
            request_hash: request.request_hash(),
            responses,
        };
        assert!(case.recover(), "the {label} seed recovers the content key");
        w.json("licence_response", label, &case);
    }

    // Attestations: the file runtime's, and the TPM one committed with the protocol.
    w.json("attestation", "file", &attestation);
    let tpm = std::fs::read(root.join("../licence-net/protocol/testdata/tpm2-attestation.json"))
        .expect("the committed TPM attestation");
    w.seed("attestation", "tpm2", &tpm);

    // The group key file and a key ciphertext.
    w.seed("group_key", "group", net.group.to_json().as_bytes());
    w.seed("group_key", "ciphertext", &key_ciphertext);

    // The sandbox's wire messages.
    w.json(
        "capsule_wire",
        "params",
        &PlayParams {
            chain_id: CHAIN_ID,
            access_contract: access_contract(),
            account: address_of(wallet().verifying_key()),
            group_key: net.group.to_json(),
            start_ms: 0,
            audio: true,
            video: true,
        },
    );
    w.json(
        "capsule_wire",
        "draft",
        &AskDraft {
            fields,
            attestation,
            key_ciphertext: key_ciphertext.into(),
        },
    );
    let bad = vec![BadShare {
        node_index: 1,
        fault: Fault::InvalidShare,
    }];
    w.json("capsule_wire", "bad-shares", &bad);
    w.json("capsule_wire", "seek", &Control::Seek { to_us: 5_000_000 });
    for (label, event) in [
        (
            "licensed",
            Event::Licensed {
                policy: policy(AccessKind::Timed, Some(NOW + 60)),
                nodes: vec![0, 2],
                bad_shares: bad.clone(),
            },
        ),
        (
            "video",
            Event::Video {
                codec: "av1".into(),
                width: 1920,
                height: 1080,
                frame_rate_num: 24,
                frame_rate_den: 1,
            },
        ),
        (
            "stopped",
            Event::Stopped {
                kind: StopKind::Integrity,
                message: "segment 3".into(),
            },
        ),
    ] {
        w.json("capsule_wire", label, &event);
    }

    // CIDs and a UnixFS file node (dag-pb: Data = UnixFS{Type: File, Data, filesize}).
    let raw = store::Cid::for_block(store::Codec::Raw, b"hello");
    w.seed("cid_unixfs", "cid-binary", &raw.to_bytes());
    w.seed("cid_unixfs", "cid-text", raw.to_string().as_bytes());
    let mut unixfs = vec![0x08, 0x02, 0x12, 0x05];
    unixfs.extend_from_slice(b"hello");
    unixfs.extend_from_slice(&[0x18, 0x05]);
    let mut node = vec![0x0a, unixfs.len() as u8];
    node.extend_from_slice(&unixfs);
    w.seed("cid_unixfs", "dag-pb-file", &node);

    // An audit log of three decisions, written by the node's own writer.
    let scratch = std::env::temp_dir().join(format!("ddrm-make-corpus-{}", std::process::id()));
    let _ = std::fs::remove_file(&scratch);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let (log, _) = AuditLog::open(&scratch, 1, |_| {}).expect("opens");
    for (decision, reason) in [
        (Decision::Granted, None),
        (Decision::Refused, Some("no_access")),
        (Decision::Granted, None),
    ] {
        let facts = AuditFacts {
            reason: reason.map(str::to_owned),
            account: Some(address_of(wallet().verifying_key())),
            content_id: Some(content_id()),
            nonce: Some(B256::repeat_byte(0x4E)),
            expiry: Some(NOW + 60),
            block: Some(42),
            ..AuditFacts::default()
        };
        rt.block_on(log.record(decision, facts)).expect("recorded");
    }
    drop(log);
    let lines = std::fs::read(&scratch).expect("the log");
    let _ = std::fs::remove_file(&scratch);
    w.seed("audit_log", "three-decisions", &lines);

    // A Sign-In with Ethereum message (EIP-4361), a signature and a timestamp.
    let account = address_of(wallet().verifying_key());
    let siwe = format!(
        "127.0.0.1:8080 wants you to sign in with your Ethereum account:\n{account}\n\n\
         Sign in to ddrm.\n\nURI: http://127.0.0.1:8080\nVersion: 1\nChain ID: 20\n\
         Nonce: 3f9a0c1b2d4e5f60\nIssued At: 2026-12-07T12:00:00Z\n\
         Expiration Time: 2026-12-07T12:10:00Z"
    );
    w.seed("siwe", "message", siwe.as_bytes());
    w.seed(
        "siwe",
        "signature",
        format!("0x{}", "ab".repeat(65)).as_bytes(),
    );
    w.seed("siwe", "time", b"2026-12-07T12:00:00.123+01:00");

    // Path parameters and query strings of the read endpoints.
    let id = format!("0x{}", "c0".repeat(32));
    for (label, query) in [
        ("catalogue", "q=tide&kind=data&access=rent&limit=5"),
        (
            "catalogue-prices",
            "payment_token=0x0000000000000000000000000000000000000000&min_price=1&max_price=1000000000000000000",
        ),
        ("catalogue-cursor", &*format!("cursor=12.{id}&limit=100")),
        ("trades", "collection=access&cursor=41.3&limit=20"),
        ("history", "collection=shares&interval=86400"),
        ("events", "max_seconds=60"),
    ] {
        w.seed("api_query", label, format!("{id}\n{query}").as_bytes());
    }
    w.seed(
        "api_query",
        "account",
        format!("{account}\ncursor=1.0&limit=1").as_bytes(),
    );
}

struct Writer {
    corpus: PathBuf,
}

impl Writer {
    fn seed(&mut self, target: &str, name: &str, bytes: &[u8]) {
        let dir = self.corpus.join(target);
        std::fs::create_dir_all(&dir).expect("the corpus folder");
        std::fs::write(dir.join(format!("seed-{name}")), bytes).expect("a seed written");
    }

    fn json(&mut self, target: &str, name: &str, value: &impl serde::Serialize) {
        self.seed(
            target,
            name,
            &serde_json::to_vec_pretty(value).expect("serialises"),
        );
    }
}

//! Costs of the primitives a licence involves, on this machine:
//! `cargo run --release -p licence-net --example primitive_costs`.

use std::io::Write;
use std::time::Instant;

use licence_net_protocol::threshold_crypto::SecretKeySet;
use licence_net_protocol::{
    address_of, AccessKind, Address, Attestation, CapsuleSecret, GroupKey, LicencePolicy,
    LicenceResponse, OpenShare, PreparedCiphertext, Signature, B256, U256,
};

fn time<T>(what: &str, n: u32, mut f: impl FnMut() -> T) {
    let t = Instant::now();
    for _ in 0..n {
        std::hint::black_box(f());
    }
    println!(
        "{what}: {:.3} ms",
        t.elapsed().as_secs_f64() * 1e3 / n as f64
    );
}

fn main() {
    let sks = SecretKeySet::random(2, &mut rand07::thread_rng());
    let operators: Vec<_> = (0..5)
        .map(|_| licence_net::dealer::operator_key())
        .collect();
    let addresses = operators
        .iter()
        .map(|k| address_of(k.verifying_key()))
        .collect();
    let group = GroupKey::new(sks.public_keys(), 5, 3, addresses).unwrap();
    let creator = Address::repeat_byte(0xC1);
    let encrypted = group.encrypt(&creator, &[7u8; 32]).unwrap();
    let ct = PreparedCiphertext::decode(&encrypted, &creator)
        .unwrap()
        .ciphertext()
        .clone();
    let share = sks.secret_key_share(1);
    let pk = sks.public_keys().public_key_share(1);
    time(
        "ciphertext verify (labelled, PreparedCiphertext::decode)",
        20,
        || PreparedCiphertext::decode(&encrypted, &creator).unwrap(),
    );
    time("decrypt_share_no_verify", 50, || {
        share.decrypt_share_no_verify(&ct)
    });
    let dec = share.decrypt_share_no_verify(&ct);
    time("verify_decryption_share", 20, || {
        pk.verify_decryption_share(&dec, &ct)
    });
    time("BLS sign (share)", 20, || share.sign([1u8; 32]));
    let sig = share.sign([1u8; 32]);
    time("BLS verify (share)", 20, || pk.verify(&sig, [1u8; 32]));
    let digest = [3u8; 32];
    time("operator secp256k1 sign (node, per response)", 200, || {
        operators[1].sign_prehash_recoverable(&digest).unwrap()
    });
    let signature = Signature::from(operators[1].sign_prehash_recoverable(&digest).unwrap());
    time(
        "operator signature recover (client, per response)",
        200,
        || {
            signature
                .recover_address_from_prehash(&B256::from(digest))
                .unwrap()
        },
    );
    // A runtime attestation as a node checks it (step 8): a file key's recoverable signature,
    // or a TPM quote (the real swtpm vector: P-256 verify plus parsing both TPM structures).
    let file_attestation = Attestation::sign(
        &operators[2],
        B256::repeat_byte(1),
        B256::repeat_byte(2),
        1_800_000_000,
    )
    .unwrap();
    time(
        "runtime attestation verify, file-secp256k1 (node, per request)",
        200,
        || file_attestation.verify(1_800_000_001).unwrap(),
    );
    let tpm_attestation: Attestation =
        serde_json::from_str(include_str!("../protocol/testdata/tpm2-attestation.json")).unwrap();
    time(
        "runtime attestation verify, tpm2-p256 quote (node, per request)",
        200,
        || {
            tpm_attestation
                .verify(tpm_attestation.issued_at + 1)
                .unwrap()
        },
    );
    let capsule = CapsuleSecret::generate();
    let policy = LicencePolicy {
        account: Address::repeat_byte(1),
        content_id: U256::from(42u64),
        access: AccessKind::Perpetual,
        play_until: None,
        renew_after: 1_500,
        issued_at: 1_000,
        block_number: 9,
    };
    time(
        "LicenceResponse::issue (node: share, seal, sign)",
        100,
        || {
            LicenceResponse::issue(
                1,
                &share,
                &operators[1],
                &ct,
                B256::ZERO,
                &capsule.public_key(),
                policy.clone(),
            )
            .unwrap()
        },
    );
    time(
        "PreparedCiphertext::decode (client, once per content)",
        10,
        || PreparedCiphertext::decode(&encrypted, &creator).unwrap(),
    );
    let prepared = PreparedCiphertext::decode(&encrypted, &creator).unwrap();
    let shares: Vec<_> = (0..3)
        .map(|i| {
            (
                i,
                sks.secret_key_share(i)
                    .decrypt_share_no_verify(prepared.ciphertext()),
            )
        })
        .collect();
    let master = group.public_key_set().public_key();
    time(
        "prepared share check (client, fallback per share)",
        20,
        || prepared.verify_share(&group.public_key_set().public_key_share(0), &shares[0].1),
    );
    time(
        "combined check of 3 shares (client, once per licence)",
        20,
        || prepared.verify_combined(&master, &shares),
    );
    time("combine 3 shares into the key", 20, || {
        group
            .public_key_set()
            .decrypt(shares.iter().map(|(i, s)| (*i, s)), prepared.ciphertext())
            .unwrap()
    });
    let dir = tempfile::tempdir().unwrap();
    let mut f = std::fs::File::create(dir.path().join("x")).unwrap();
    time("append + fsync", 50, || {
        f.write_all(b"{\"entry\":1}\n").unwrap();
        f.sync_data().unwrap()
    });
}

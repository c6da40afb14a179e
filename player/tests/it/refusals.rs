//! Every refusal names its cause and leaves no output file.

use std::borrow::Cow;
use std::path::Path;
use std::time::Duration;

use contracts_bindings::ops::Purchase;
use licence_net_protocol::B256;
use player::{bundled_capsule, CapsuleManifest, CapsulePackage, PlayError, PlayReport};

use crate::harness::*;

fn no_output(path: &Path) {
    assert!(!path.exists(), "{} must not exist", path.display());
    let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".ddrm-play-"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "temporary outputs left: {leftovers:?}"
    );
}

/// `played` must have been refused: its error, once checked to start with `cause` and to have
/// left nothing at `out`.
fn refused(played: Result<PlayReport, PlayError>, cause: &str, out: &Path) -> PlayError {
    let e = played.expect_err("the play must be refused");
    assert!(e.to_string().starts_with(cause), "{e}");
    no_output(out);
    e
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_name_their_cause_and_write_nothing() {
    let mut b = bought_clip(4).await;
    let s = &b.stack;
    let out = s.file("refused.wav");

    // A tampered capsule (one byte changed) is refused before it starts.
    let mut tampered = bundled_capsule();
    let mut wasm = tampered.wasm.to_vec();
    let mid = wasm.len() / 2;
    wasm[mid] ^= 1;
    tampered.wasm = Cow::Owned(wasm);
    // A manifest signed by someone else than the publisher it names.
    let mut forged = bundled_capsule();
    let other = k256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap();
    let mut m = CapsuleManifest::sign(&other, forged.measurement(), forged.version()).unwrap();
    m.publisher = forged.publisher();
    forged.manifest = m;
    // A validly signed capsule from a publisher the chain does not allow.
    let mut unknown = bundled_capsule();
    unknown.manifest = CapsuleManifest::sign(&other, unknown.measurement(), 1).unwrap();
    type IsExpected = fn(&PlayError) -> bool;
    let capsules: [(CapsulePackage, IsExpected, &str); 3] = [
        (
            tampered,
            |e| matches!(e, PlayError::CapsuleTampered { .. }),
            "capsule integrity failure",
        ),
        (
            forged,
            |e| matches!(e, PlayError::ManifestSignature(_)),
            "the capsule manifest's signature is not valid",
        ),
        (
            unknown,
            |e| matches!(e, PlayError::PublisherNotAllowed(_)),
            "capsule not allowed",
        ),
    ];
    for (capsule, is_expected, cause) in capsules {
        let opts = s.options(&b.ddrm, BUYER, capsule, Duration::ZERO);
        let e = refused(s.play(opts, &out).await, cause, &out);
        assert!(is_expected(&e), "{e}");
    }

    // An account that did not buy.
    let e = refused(b.play_as(STRANGER, &out).await, "no access", &out);
    assert!(matches!(e, PlayError::NoAccess(_)), "{e}");

    // Three of five licence nodes down.
    for i in 0..3 {
        b.stack.network.stop_node(i);
    }
    let e = refused(
        b.play_as(BUYER, &out).await,
        "fewer than the needed licence nodes",
        &out,
    );
    assert!(matches!(e, PlayError::NotEnoughNodes(_)), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renderer_the_content_does_not_allow_is_refused() {
    let stack = Stack::start().await;
    let source = make_audio(stack.network.dir.path(), 2);
    // Packaged and minted for another renderer only.
    let other = B256::repeat_byte(0x42);
    let ddrm = stack.package(&source, vec![other.0]);
    let content = stack.mint_file(&ddrm, vec![other]).await;
    stack.network.purchase(BUYER, content, Purchase::Buy).await;
    let out = stack.file("not-allowed.wav");
    let e = refused(
        stack.play_file(&ddrm, BUYER, &out).await,
        "capsule not allowed",
        &out,
    );
    assert!(matches!(e, PlayError::RendererNotAllowed { .. }), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rental_plays_until_it_ends_then_is_refused_as_expired() {
    let stack = Stack::start().await;
    let clip = stack.minted_clip(2).await;
    stack
        .network
        .purchase(RENTER, clip.content, Purchase::Rent(1))
        .await;
    let out = stack.file("rented.wav");
    let report = stack
        .play_file(&clip.ddrm, RENTER, &out)
        .await
        .expect("a current rental plays");
    assert!(report.policy.play_until.is_some());
    assert!(report.describe().contains("playable until"));
    std::fs::remove_file(&out).unwrap();

    // Two hours later (chain time) the one-hour rental is over.
    stack.network.travel(2 * u64::from(RENT_PERIOD)).await;
    let e = refused(
        stack.play_file(&clip.ddrm, RENTER, &out).await,
        "rental expired",
        &out,
    );
    assert!(matches!(e, PlayError::RentalExpired(_)), "{e}");
}

//! Every refusal names its cause and leaves no output file.

use std::borrow::Cow;
use std::path::Path;
use std::time::Duration;

use licence_net_protocol::B256;
use player::{bundled_capsule, CapsuleManifest, PlayError};

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_name_their_cause_and_write_nothing() {
    let mut b = bought_clip(4).await;
    let s = &b.stack;
    let out = s.dir.path().join("refused.wav");
    let play =
        |account, capsule| s.options(&b.ddrm, account, capsule, Some(out.clone()), Duration::ZERO);

    // A tampered capsule (one byte changed) is refused before it starts.
    let mut tampered = bundled_capsule();
    let mut wasm = tampered.wasm.to_vec();
    let mid = wasm.len() / 2;
    wasm[mid] ^= 1;
    tampered.wasm = Cow::Owned(wasm);
    let e = s.play(play(BUYER, tampered)).await.unwrap_err();
    assert!(matches!(e, PlayError::CapsuleTampered { .. }), "{e}");
    assert!(e.to_string().contains("integrity"), "{e}");
    no_output(&out);

    // A manifest signed by someone else than the publisher it names.
    let mut forged = bundled_capsule();
    let other = k256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap();
    let mut m = CapsuleManifest::sign(&other, forged.measurement(), forged.version()).unwrap();
    m.publisher = forged.publisher();
    forged.manifest = m;
    let e = s.play(play(BUYER, forged)).await.unwrap_err();
    assert!(matches!(e, PlayError::ManifestSignature(_)), "{e}");
    no_output(&out);

    // A validly signed capsule from a publisher the chain does not allow.
    let mut unknown = bundled_capsule();
    unknown.manifest = CapsuleManifest::sign(&other, unknown.measurement(), 1).unwrap();
    let e = s.play(play(BUYER, unknown)).await.unwrap_err();
    assert!(matches!(e, PlayError::PublisherNotAllowed(_)), "{e}");
    assert!(e.to_string().contains("capsule not allowed"), "{e}");
    no_output(&out);

    // An account that did not buy.
    let e = s.play(play(STRANGER, bundled_capsule())).await.unwrap_err();
    assert!(matches!(e, PlayError::NoAccess(_)), "{e}");
    assert!(e.to_string().starts_with("no access"), "{e}");
    no_output(&out);

    // Three of five licence nodes down.
    b.stack.stop_node(0);
    b.stack.stop_node(1);
    b.stack.stop_node(2);
    let s = &b.stack;
    let e = s
        .play(s.options(
            &b.ddrm,
            BUYER,
            bundled_capsule(),
            Some(out.clone()),
            Duration::ZERO,
        ))
        .await
        .unwrap_err();
    assert!(matches!(e, PlayError::NotEnoughNodes(_)), "{e}");
    no_output(&out);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renderer_the_content_does_not_allow_is_refused() {
    let stack = Stack::start().await;
    let source = make_audio(stack.dir.path(), 2);
    // Packaged and minted for another renderer only.
    let other = B256::repeat_byte(0x42);
    let ddrm = stack.package(&source, vec![other.0]);
    let content = stack.mint(&ddrm, vec![other]).await;
    stack.buy(BUYER, content).await;
    let out = stack.dir.path().join("not-allowed.wav");
    let e = stack
        .play(stack.options(
            &ddrm,
            BUYER,
            bundled_capsule(),
            Some(out.clone()),
            Duration::ZERO,
        ))
        .await
        .unwrap_err();
    assert!(matches!(e, PlayError::RendererNotAllowed { .. }), "{e}");
    assert!(e.to_string().contains("capsule not allowed"), "{e}");
    no_output(&out);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rental_plays_until_it_ends_then_is_refused_as_expired() {
    use alloy::providers::Provider;
    let stack = Stack::start().await;
    let capsule = bundled_capsule();
    let source = make_audio(stack.dir.path(), 2);
    let ddrm = stack.package(&source, vec![capsule.measurement().0]);
    let content = stack.mint(&ddrm, vec![capsule.measurement()]).await;
    let renter = stack.chain_as(RENTER).await;
    contracts_bindings::ops::purchase(
        &renter,
        &stack.dep,
        content,
        contracts_bindings::ops::Purchase::Rent(1),
    )
    .await
    .unwrap();
    let out = stack.dir.path().join("rented.wav");
    let report = stack
        .play(stack.options(
            &ddrm,
            RENTER,
            bundled_capsule(),
            Some(out.clone()),
            Duration::ZERO,
        ))
        .await
        .expect("a current rental plays");
    assert!(report.policy.play_until.is_some());
    assert!(report.describe().contains("playable until"));
    std::fs::remove_file(&out).unwrap();

    // Two hours later (chain time) the one-hour rental is over.
    let _: serde_json::Value = renter
        .provider
        .raw_request("evm_increaseTime".into(), (7200u64,))
        .await
        .unwrap();
    let _: serde_json::Value = renter
        .provider
        .raw_request("evm_mine".into(), ())
        .await
        .unwrap();
    let e = stack
        .play(stack.options(
            &ddrm,
            RENTER,
            bundled_capsule(),
            Some(out.clone()),
            Duration::ZERO,
        ))
        .await
        .unwrap_err();
    assert!(matches!(e, PlayError::RentalExpired(_)), "{e}");
    assert!(e.to_string().starts_with("rental expired"), "{e}");
    no_output(&out);
}

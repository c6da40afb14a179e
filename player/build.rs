//! Builds the player capsule (`player/capsule`, crate `ddrm-capsule`) for `wasm32-wasip1` with a
//! nested cargo into its own target directory, and signs its manifest with the publisher key
//! from `DDRM_CAPSULE_PUBLISHER_KEY` (hex) or, when unset, the DEV-ONLY publisher key (anvil
//! account #9, see `src/manifest.rs`). The library embeds both with `include_bytes!`.

#[path = "src/manifest.rs"]
#[allow(dead_code)]
mod manifest;

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

/// The capsule's release number, signed into its manifest and registered on chain.
const CAPSULE_VERSION: u32 = 1;

/// Environment a nested cargo must not inherit from the outer build: it would redirect the
/// nested build into the outer (locked) target directory, or wrap rustc with clippy, or add
/// native-only flags to a wasm build.
const NOT_INHERITED: &[&str] = &[
    "CARGO_TARGET_DIR",
    "CARGO_BUILD_TARGET",
    "CARGO_BUILD_TARGET_DIR",
    "CARGO_ENCODED_RUSTFLAGS",
    "RUSTFLAGS",
    "RUSTC_WORKSPACE_WRAPPER",
    "CARGO_PRIMARY_PACKAGE",
    "CARGO_LLVM_COV",
    "LLVM_PROFILE_FILE",
];

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let workspace = manifest_dir.parent().unwrap().to_path_buf();
    for watched in [
        "player/capsule",
        "packager/format",
        "licence-net/protocol",
        "Cargo.lock",
        "Cargo.toml",
    ] {
        println!(
            "cargo:rerun-if-changed={}",
            workspace.join(watched).display()
        );
    }
    println!("cargo:rerun-if-changed=src/manifest.rs");
    println!("cargo:rerun-if-env-changed=DDRM_CAPSULE_PUBLISHER_KEY");
    println!("cargo:rerun-if-env-changed=CARGO_TARGET_DIR");

    let out_dir = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    let target_dir = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => workspace.join("target"),
    }
    .join("capsule-wasm");

    let wasm = build_capsule(&workspace, &target_dir);
    std::fs::write(out_dir.join("capsule.wasm"), &wasm).unwrap();

    let key_hex = std::env::var("DDRM_CAPSULE_PUBLISHER_KEY")
        .unwrap_or_else(|_| manifest::DEV_PUBLISHER_KEY.to_string());
    let key_bytes = hex::decode(key_hex.trim().trim_start_matches("0x"))
        .expect("DDRM_CAPSULE_PUBLISHER_KEY must be a hex secp256k1 private key");
    let key = k256::ecdsa::SigningKey::from_slice(&key_bytes)
        .expect("DDRM_CAPSULE_PUBLISHER_KEY must be a valid secp256k1 private key");
    let measurement = alloy_primitives::B256::from(<[u8; 32]>::from(Sha256::digest(&wasm)));
    let signed = manifest::CapsuleManifest::sign(&key, measurement, CAPSULE_VERSION)
        .expect("signing the capsule manifest");
    std::fs::write(out_dir.join("capsule.manifest.json"), signed.to_json()).unwrap();
}

fn build_capsule(workspace: &Path, target_dir: &Path) -> Vec<u8> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace)
        .args([
            "build",
            "--locked",
            "--release",
            "-p",
            "ddrm-capsule",
            "--lib",
            "--target",
            "wasm32-wasip1",
        ])
        .arg("--target-dir")
        .arg(target_dir)
        // Debug info would only make the measured bytes larger.
        .env("CARGO_PROFILE_RELEASE_DEBUG", "false")
        .env("CARGO_PROFILE_RELEASE_STRIP", "true");
    for var in NOT_INHERITED {
        cmd.env_remove(var);
    }
    let status = cmd
        .status()
        .expect("cannot run cargo to build the player capsule");
    assert!(
        status.success(),
        "building the player capsule (ddrm-capsule for wasm32-wasip1) failed; \
         is the target installed? `rustup target add wasm32-wasip1`"
    );
    let path = target_dir.join("wasm32-wasip1/release/ddrm_capsule.wasm");
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

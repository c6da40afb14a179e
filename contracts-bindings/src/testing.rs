//! A real anvil for tests: `spawn_anvil()` starts one with chain id 20 (ESC's) and the Paris EVM
//! on a free loopback port and stops it when the handle drops. It never pretends: without an anvil binary it fails,
//! naming what is missing and how to install it.

use std::path::{Path, PathBuf};

use alloy::node_bindings::{Anvil, AnvilInstance};

/// Chain id the test anvil reports (ESC mainnet's, so chain-id checks are exercised).
pub const TEST_CHAIN_ID: u64 = 20;

/// Where the anvil binary was found, in the order tried: `$DDRM_ANVIL`, this crate's
/// `node_modules` (the platform binary, then the npm launcher), then `PATH`.
pub fn find_anvil() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("DDRM_ANVIL") {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(format!("DDRM_ANVIL={} is not a file", p.display()))
        };
    }
    let modules = Path::new(env!("CARGO_MANIFEST_DIR")).join("node_modules");
    let platform = format!(
        "@foundry-rs/anvil-{}-{}/bin/anvil",
        match std::env::consts::OS {
            "macos" => "darwin",
            "windows" => "win32",
            os => os,
        },
        match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            arch => arch,
        }
    );
    for candidate in [modules.join(platform), modules.join(".bin/anvil")] {
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join("anvil");
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    Err(
        "anvil not found: set DDRM_ANVIL, run contracts-bindings/scripts/setup.sh \
         (installs it into contracts-bindings/node_modules), or put anvil on PATH"
            .to_owned(),
    )
}

/// Starts anvil (chain id 20, free port on 127.0.0.1). Panics, naming the missing component,
/// when anvil cannot be found or started.
pub fn spawn_anvil() -> AnvilInstance {
    let path = find_anvil().unwrap_or_else(|why| panic!("{why}"));
    Anvil::at(&path)
        .chain_id(TEST_CHAIN_ID)
        .host("127.0.0.1")
        .port(0u16)
        // ESC runs a pre-Shanghai EVM; so does the test chain.
        .paris()
        .timeout(30_000)
        .try_spawn()
        .unwrap_or_else(|e| panic!("could not start anvil at {}: {e}", path.display()))
}

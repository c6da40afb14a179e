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
    find_anvil_from(
        std::env::var_os("DDRM_ANVIL"),
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("node_modules"),
        std::env::var_os("PATH"),
    )
}

/// A deployment on `chain_id` with distinct made-up addresses (deployer 0x0101…, contracts
/// 0x0202… to 0x0707…), for tests that need one without a chain.
pub fn sample_deployment(chain_id: u64) -> crate::Deployment {
    use alloy::primitives::Address;
    crate::Deployment {
        chain_id,
        deployment_block: 1,
        deployer: Address::repeat_byte(1),
        contracts: crate::Contracts {
            capsule_registry: Address::repeat_byte(2),
            licence_network_registry: Address::repeat_byte(3),
            royalty_shares: Address::repeat_byte(4),
            content_registry: Address::repeat_byte(5),
            access: Address::repeat_byte(6),
            market: Address::repeat_byte(7),
            test_token: None,
        },
    }
}

fn find_anvil_from(
    explicit: Option<std::ffi::OsString>,
    modules: &Path,
    path: Option<std::ffi::OsString>,
) -> Result<PathBuf, String> {
    if let Some(p) = explicit {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(format!("DDRM_ANVIL={} is not a file", p.display()))
        };
    }
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
    if let Some(path) = path {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_anvil_is_an_error_naming_what_to_install() {
        let empty = tempfile::tempdir().unwrap();
        let err = find_anvil_from(None, empty.path(), Some(empty.path().into())).unwrap_err();
        assert!(err.contains("anvil not found"), "{err}");
        assert!(err.contains("scripts/setup.sh"), "{err}");
        let err =
            find_anvil_from(Some("/nonexistent/anvil".into()), empty.path(), None).unwrap_err();
        assert!(err.contains("DDRM_ANVIL=/nonexistent/anvil"), "{err}");
    }

    #[test]
    fn anvil_is_found_on_path() {
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("anvil");
        std::fs::write(&fake, b"").unwrap();
        let modules = dir.path().join("no-node-modules");
        let found = find_anvil_from(None, &modules, Some(dir.path().into())).unwrap();
        assert_eq!(found, fake);
    }
}

//! A real anvil for tests (feature `test-utils`, enabled only from `[dev-dependencies]` and the
//! `e2e` test-support crate): `spawn_anvil()` starts one with chain id 20 (ESC's) and the Paris
//! EVM on a free loopback port and stops it when the handle drops. It never pretends: without an
//! anvil binary it fails, naming what is missing and how to install it.

use alloy::node_bindings::{Anvil, AnvilInstance};

use crate::anvil::find_anvil;

/// Chain id the test anvil reports (ESC mainnet's, so chain-id checks are exercised).
pub const TEST_CHAIN_ID: u64 = 20;

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

//! A real anvil for tests (feature `test-utils`, enabled only from `[dev-dependencies]` and the
//! `tests` test-support crate): `spawn_anvil()` starts one with chain id 20 (ESC's) and the Paris
//! EVM on a free loopback port and stops it when the handle drops. It never pretends: without an
//! anvil binary it fails, naming what is missing and how to install it.

use alloy::{
    node_bindings::{Anvil, AnvilInstance},
    signers::local::PrivateKeySigner,
};

use crate::anvil::find_anvil;

/// Chain id the test anvil reports (ESC mainnet's, so chain-id checks are exercised).
pub const TEST_CHAIN_ID: u64 = 20;

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

/// Signers for `anvil`'s funded dev accounts, in anvil's order.
pub fn anvil_signers(anvil: &AnvilInstance) -> Vec<PrivateKeySigner> {
    anvil
        .keys()
        .iter()
        .map(|k| PrivateKeySigner::from(k.clone()))
        .collect()
}

//! ddrm's contracts on the Elastos Smart Chain (or any EVM chain) and their alloy bindings.
//!
//! The Solidity lives in `contracts/` (forge project); [`bindings`] are generated from the
//! committed forge artifacts in `artifacts/`. Core types:
//! - [`chain::Chain`]: a connection (RPC + optional signer); [`chain::Deployment`]: where the
//!   contracts live (the JSON `ddrm chain deploy` writes); [`chain::deploy`] deploys them all.
//! - [`ops`]: mint, buy/rent/subscribe, royalty balance/transfer/claim, each checking its inputs
//!   against the chain before any transaction is sent.
//! - [`market`]: the royalty market: list, offer, fill, cancel, withdraw, with the same checks.
//! - [`commands`]: what `ddrm chain|mint|buy|rent|subscribe|royalty|market` do, from plain options
//!   (the command line itself lives in the `ddrm` binary).
//! - [`testing`]: starts a real anvil for tests.
//!
//! The views other components trust: `Access.hasAccess(account, contentId)` and
//! `Access.expiresAt`, `ContentRegistry.keyCommitment(contentId)`,
//! `ContentRegistry.isRendererAllowed(contentId, measurement)`,
//! `CapsuleRegistry.isRuntimeApproved(key)`, and `LicenceNetworkRegistry` for the node set.

pub mod anvil;
pub mod bindings;
pub mod chain;
pub mod commands;
pub mod error;
pub mod market;
pub mod ops;
#[cfg(feature = "test-utils")]
pub mod testing;
pub mod units;

pub use chain::{Chain, Contracts, DeployOptions, Deployment};
pub use error::ChainError;

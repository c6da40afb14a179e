//! `licence-net`: the threshold key network that releases content keys only to buyers.
//!
//! - [`dealer`]: trusted-dealer key generation for local stacks and tests
//!   (`ddrm licence keygen`); [`KeyShareFile`]: the node share file it (or a future distributed
//!   key generation) writes and a node loads.
//! - [`node`]: the licence node service ([`node::NodeState`], [`node::app`], [`node::serve`]):
//!   checks the wallet signature, expiry, nonce, on-chain access, key commitment, capsule and
//!   runtime attestation, then releases its decryption share sealed to the capsule.
//! - [`replay`]: the nonces of live requests in time buckets, and the answers to resend.
//! - [`rights`]: the chain reads behind a decision, with timeouts and a per-block cache.
//! - [`audit`]: the append-only, hash-chained audit log and [`audit::verify_file`].
//!
//! The client ([`licence_net_client::LicenceClient`], which asks all nodes in parallel and
//! checks each response's envelope) and the registry reader are in `licence-net-client`, which
//! the node uses to check its group key against the registered network at start.
//! - [`commands`]: what `ddrm licence node|register|request` do, from plain options (the
//!   command line itself lives in the `ddrm` binary).
//!
//! - [`testing`] (feature `test-utils`, tests only): anvil, the contracts and five nodes on
//!   loopback, shared by this crate's tests and the player's.
//!
//! The wire types live in `licence-net-protocol` (spec: `licence-net/PROTOCOL.md`).

pub mod audit;
pub mod commands;
pub mod dealer;
pub mod node;
pub mod replay;
pub mod rights;
mod share;
#[cfg(feature = "test-utils")]
pub mod testing;

pub use share::{KeyShareFile, ShareError};

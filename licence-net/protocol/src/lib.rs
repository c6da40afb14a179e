//! `licence-net-protocol`: what the licence network and its clients agree on, in pure Rust
//! (it builds for `wasm32-wasip1`, where the player capsule uses it).
//!
//! Today: [`GroupKey`], the licence network's public key set and its file encoding (`group.pub`),
//! which the packager uses to wrap content keys. The licence request, attestation and response
//! types join it with the licence network (see `licence-net/PROTOCOL.md`).

mod group;

pub use group::{decode_ciphertext, GroupKey, GROUP_KEY_SCHEME};

/// Errors in protocol data.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    #[error("group key file is not valid JSON of the expected shape: {0}")]
    GroupKeyJson(String),
    #[error("group key file: {0}")]
    GroupKeyInvalid(&'static str),
    #[error("key ciphertext is malformed")]
    CiphertextEncoding,
    #[error("key ciphertext failed its validity check (it was changed or is not for this group)")]
    CiphertextInvalid,
}

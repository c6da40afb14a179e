//! `licence-net-protocol`: what the licence network and its clients agree on, in pure Rust
//! (it builds for `wasm32-wasip1`, where the player capsule uses it). Specified in
//! `licence-net/PROTOCOL.md`.
//!
//! - [`GroupKey`]: the network's public key set and its file encoding (`group.pub`); the
//!   packager wraps content keys to it.
//! - [`RequestFields`] / [`SignedRequest`]: the EIP-712 licence request signed by the buyer's
//!   wallet; [`LicenceAsk`]: what a client posts to every node.
//! - [`Attestation`]: the runtime key's statement binding a capsule measurement to the capsule's
//!   ephemeral key; [`tpm`] checks a TPM-backed runtime's quote.
//! - [`LicenceResponse`]: a node's sealed decryption share, [`LicencePolicy`] and signature;
//!   [`check_envelope`] is what a host can check without the capsule's secret;
//!   [`CapsuleSecret`] opens sealed shares, [`recover_content_key`] (capsule side) opens, checks
//!   and combines them into the content key, naming any bad share.

mod attestation;
mod group;
mod prepared;
mod recover;
mod request;
mod response;
pub mod tpm;

pub use alloy_primitives::{Address, Bytes, Signature, B256, U256};
pub use attestation::{
    measure, Attestation, RuntimeKind, TpmEvidence, MAX_ATTESTATION_AGE, MAX_CLOCK_SKEW,
};
pub use group::{GroupKey, GROUP_KEY_SCHEME};
pub use prepared::PreparedCiphertext;
pub use request::{
    address_of, key_commitment, licence_domain, LicenceAsk, RequestFields, SignedRequest,
    DOMAIN_NAME, DOMAIN_VERSION, MAX_KEY_CIPHERTEXT, MAX_REQUEST_LIFETIME,
};
pub use response::{
    check_envelope, combine_checked, combine_shares, open_share, open_unverified,
    recover_content_key, verify_response, verify_share, AccessKind, CapsuleSecret, Expected,
    LicencePolicy, LicenceResponse, OpenShare, Recovered, RecoveryError, RefusalBody,
    ResponseFault, SealedShare, ShareFault,
};
pub use threshold_crypto;

/// Errors in protocol data.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    #[error("group key file is not valid JSON of the expected shape: {0}")]
    GroupKeyJson(String),
    #[error("group key file: {0}")]
    GroupKeyInvalid(&'static str),
    #[error("key ciphertext is malformed")]
    CiphertextEncoding,
    #[error("key ciphertext failed its validity check (it was changed, is not for this group, or was made for another creator)")]
    CiphertextInvalid,
    #[error("the content key could not be encrypted: {0}")]
    Encryption(&'static str),
    #[error("signing failed")]
    Signing,
    #[error("the request signature is malformed or does not recover")]
    RequestSignature,
    #[error("the request is signed by {recovered}, not by the account it names ({claimed})")]
    RequestSigner {
        claimed: Address,
        recovered: Address,
    },
    #[error("the attestation signature is malformed or not by the runtime key it names")]
    AttestationSignature,
    #[error("the runtime's TPM evidence is not valid: {0}")]
    AttestationEvidence(#[from] tpm::TpmEvidenceError),
    #[error("the attestation's evidence does not match its kind (a TPM quote exactly when the kind is tpm2-p256)")]
    AttestationKind,
    #[error("the attestation time is not acceptable: {0}")]
    AttestationTime(&'static str),
    #[error("the capsule key is not a usable X25519 public key")]
    CapsuleKey,
    #[error("sealing the share failed")]
    Sealing,
    #[error("{have} valid shares, {need} needed")]
    NotEnoughShares { have: usize, need: usize },
    #[error("combining the shares failed")]
    Combine,
}

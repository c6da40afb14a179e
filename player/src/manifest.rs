//! The capsule manifest: a publisher's signed statement "capsule `measurement` is my release
//! `version`". Compiled twice: into the library, and into `build.rs`, which signs the manifest of
//! the capsule it builds (so this file uses only its own imports).
//!
//! ```text
//! digest    = keccak256("ddrm/v1/capsule-manifest" ‖ 0x00 ‖ measurement ‖ version as u32 BE)
//! signature = secp256k1 recoverable signature (r ‖ s ‖ v, 65 bytes) of the publisher over digest
//! ```
//! The publisher's address must be allowed in the on-chain CapsuleRegistry (`setPublisher`), and
//! the publisher registers the measurement there (`registerCapsule(measurement, version)`).

use alloy_primitives::{keccak256, Address, Bytes, Signature, B256};
use serde::{Deserialize, Serialize};

/// The DEV-ONLY publisher key used when `DDRM_CAPSULE_PUBLISHER_KEY` is not set at build time:
/// anvil's well-known account #9. Anyone can sign with it; a production chain must never allow
/// its address ([`DEV_PUBLISHER_ADDRESS`]) as a publisher.
pub const DEV_PUBLISHER_KEY: &str =
    "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6";
/// Address of [`DEV_PUBLISHER_KEY`] (anvil account #9).
pub const DEV_PUBLISHER_ADDRESS: &str = "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720";

/// A publisher-signed capsule manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapsuleManifest {
    /// SHA-256 of the capsule's wasm bytes.
    pub measurement: B256,
    /// The publisher's release number of this capsule.
    pub version: u32,
    /// The publisher's address, recovered from `signature`.
    pub publisher: Address,
    /// 65 bytes r ‖ s ‖ v over [`CapsuleManifest::digest`].
    pub signature: Bytes,
}

/// Why a manifest is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    #[error("the manifest is not valid JSON of the expected shape: {0}")]
    Json(String),
    #[error("the manifest signature is malformed or was not made by its publisher {0}")]
    Signature(Address),
    #[error("signing the manifest failed")]
    Signing,
}

impl CapsuleManifest {
    fn digest_of(measurement: &B256, version: u32) -> B256 {
        let mut m = Vec::with_capacity(25 + 32 + 4);
        m.extend_from_slice(b"ddrm/v1/capsule-manifest\0");
        m.extend_from_slice(measurement.as_slice());
        m.extend_from_slice(&version.to_be_bytes());
        keccak256(m)
    }

    /// What the publisher signs.
    pub fn digest(&self) -> B256 {
        Self::digest_of(&self.measurement, self.version)
    }

    /// Signs a manifest with the publisher's key.
    pub fn sign(
        publisher: &k256::ecdsa::SigningKey,
        measurement: B256,
        version: u32,
    ) -> Result<Self, ManifestError> {
        let digest = Self::digest_of(&measurement, version);
        let (sig, recid) = publisher
            .sign_prehash_recoverable(digest.as_slice())
            .map_err(|_| ManifestError::Signing)?;
        Ok(Self {
            measurement,
            version,
            publisher: Address::from_public_key(publisher.verifying_key()),
            signature: Bytes::from(Signature::from((sig, recid)).as_bytes().to_vec()),
        })
    }

    /// Checks the signature was made by `publisher`.
    pub fn verify_signature(&self) -> Result<(), ManifestError> {
        let bad = || ManifestError::Signature(self.publisher);
        let sig = Signature::from_raw(&self.signature).map_err(|_| bad())?;
        let signer = sig
            .recover_address_from_prehash(&self.digest())
            .map_err(|_| bad())?;
        if signer != self.publisher {
            return Err(bad());
        }
        Ok(())
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a manifest always serializes")
    }

    pub fn from_json(text: &str) -> Result<Self, ManifestError> {
        serde_json::from_str(text).map_err(|e| ManifestError::Json(e.to_string()))
    }
}

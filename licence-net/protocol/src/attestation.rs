//! The runtime's attestation of a capsule.
//!
//! The player host (the runtime) holds a secp256k1 attestation key whose address is approved in
//! the on-chain CapsuleRegistry. When it has loaded a capsule and checked it, it signs
//! ```text
//! digest = keccak256("ddrm/v1/attestation" ‖ 0x00 ‖ measurement ‖ capsule_key ‖ issued_at as u64 BE)
//! ```
//! where `measurement` is SHA-256 of the capsule's bytes and `capsule_key` the X25519 public key
//! the capsule generated inside the sandbox. A TEE-backed attestation can replace this signature
//! later: nodes only need a measurement bound to the capsule key by a key they can check on chain.

use alloy_primitives::{keccak256, Address, Bytes, Signature, B256};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::request::address_of;
use crate::ProtocolError;

/// An attestation is accepted for this long after it was issued (seconds).
pub const MAX_ATTESTATION_AGE: u64 = 3600;
/// An attestation may be dated at most this far in the future (clock skew, seconds).
pub const MAX_CLOCK_SKEW: u64 = 60;

/// A runtime's signed statement: "capsule `measurement` holds the secret of `capsule_key`".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attestation {
    pub measurement: B256,
    pub capsule_key: B256,
    pub issued_at: u64,
    /// Address of the runtime's attestation key.
    pub runtime: Address,
    /// 65 bytes r ‖ s ‖ v over [`Attestation::digest`].
    pub signature: Bytes,
}

impl Attestation {
    fn digest_of(measurement: &B256, capsule_key: &B256, issued_at: u64) -> B256 {
        let mut m = Vec::with_capacity(20 + 32 + 32 + 8);
        m.extend_from_slice(b"ddrm/v1/attestation\0");
        m.extend_from_slice(measurement.as_slice());
        m.extend_from_slice(capsule_key.as_slice());
        m.extend_from_slice(&issued_at.to_be_bytes());
        keccak256(m)
    }

    /// What the runtime key signs.
    pub fn digest(&self) -> B256 {
        Self::digest_of(&self.measurement, &self.capsule_key, self.issued_at)
    }

    /// Signs an attestation with the runtime's key.
    pub fn sign(
        runtime_key: &k256::ecdsa::SigningKey,
        measurement: B256,
        capsule_key: B256,
        issued_at: u64,
    ) -> Result<Self, ProtocolError> {
        let digest = Self::digest_of(&measurement, &capsule_key, issued_at);
        let (sig, recid) = runtime_key
            .sign_prehash_recoverable(digest.as_slice())
            .map_err(|_| ProtocolError::Signing)?;
        Ok(Self {
            measurement,
            capsule_key,
            issued_at,
            runtime: address_of(runtime_key.verifying_key()),
            signature: Bytes::from(Signature::from((sig, recid)).as_bytes().to_vec()),
        })
    }

    /// Checks the signature is by `runtime` and the time is within the accepted window at `now`.
    pub fn verify(&self, now: u64) -> Result<(), ProtocolError> {
        let signer = crate::recover::recover_signer(&self.signature, &self.digest())
            .ok_or(ProtocolError::AttestationSignature)?;
        if signer != self.runtime {
            return Err(ProtocolError::AttestationSignature);
        }
        if self.issued_at > now + MAX_CLOCK_SKEW {
            return Err(ProtocolError::AttestationTime("issued in the future"));
        }
        if now.saturating_sub(self.issued_at) > MAX_ATTESTATION_AGE {
            return Err(ProtocolError::AttestationTime("older than an hour"));
        }
        Ok(())
    }

    /// The hash a licence request carries:
    /// SHA-256("ddrm/v1/attestation-hash" ‖ 0x00 ‖ measurement ‖ capsule_key ‖ issued_at BE ‖ runtime ‖ signature).
    pub fn hash(&self) -> B256 {
        let mut h = Sha256::new();
        h.update(b"ddrm/v1/attestation-hash\0");
        h.update(self.measurement);
        h.update(self.capsule_key);
        h.update(self.issued_at.to_be_bytes());
        h.update(self.runtime);
        h.update(&self.signature);
        B256::from(<[u8; 32]>::from(h.finalize()))
    }
}

/// SHA-256 of a capsule's bytes: its measurement.
pub fn measure(capsule_bytes: &[u8]) -> B256 {
    B256::from(<[u8; 32]>::from(Sha256::digest(capsule_bytes)))
}

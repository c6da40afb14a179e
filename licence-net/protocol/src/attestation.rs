//! The runtime's attestation of a capsule.
//!
//! The player host (the runtime) holds a secp256k1 attestation key whose address is approved in
//! the on-chain CapsuleRegistry. When it has loaded a capsule and checked it, it signs
//! ```text
//! digest = keccak256("ddrm/v1/attestation" ‖ 0x00 ‖ measurement ‖ capsule_key ‖ issued_at as u64 BE)
//! ```
//! where `measurement` is SHA-256 of the capsule's bytes and `capsule_key` the X25519 public key
//! the capsule generated inside the sandbox. Nodes only need a measurement bound to the capsule
//! key by a key they can check on chain; the attestation's [`RuntimeKind`] says what holds it:
//!
//! - `file-secp256k1`: a key in a file the install's owner can read and copy; the signature is
//!   an Ethereum-style recoverable signature of the digest. Local development only.
//! - `tpm2-p256`: a restricted P-256 key inside a TPM 2.0; the evidence is a TPM quote over PCR 23
//!   (extended with the measurement) whose qualifying data is the digest ([`crate::tpm`]).

use alloy_primitives::{keccak256, Address, Bytes, Signature, B256};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::request::address_of;
use crate::tpm::{verify_quote, TpmPublic};
use crate::ProtocolError;

/// An attestation is accepted for this long after it was issued (seconds).
pub const MAX_ATTESTATION_AGE: u64 = 3600;
/// An attestation may be dated at most this far in the future (clock skew, seconds).
pub const MAX_CLOCK_SKEW: u64 = 60;

/// What holds a runtime's attestation key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RuntimeKind {
    /// A secp256k1 key in a file (mode 0600) that the install's owner can read and copy: for
    /// local development stacks only.
    #[serde(rename = "file-secp256k1")]
    FileSecp256k1,
    /// A restricted P-256 key inside a TPM 2.0 that never leaves it in the clear.
    #[serde(rename = "tpm2-p256")]
    Tpm2P256,
}

impl RuntimeKind {
    /// The name used on the wire, in `stack.json` and in audit logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FileSecp256k1 => "file-secp256k1",
            Self::Tpm2P256 => "tpm2-p256",
        }
    }

    /// Whether the key is held by hardware that will not export it.
    pub fn is_hardware(self) -> bool {
        matches!(self, Self::Tpm2P256)
    }
}

impl std::fmt::Display for RuntimeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A TPM's evidence for a `tpm2-p256` attestation ([`crate::tpm`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TpmEvidence {
    /// The runtime key's marshalled `TPMT_PUBLIC`.
    pub public: Bytes,
    /// The marshalled `TPMS_ATTEST` of the quote that [`Attestation::signature`] signs.
    pub quote: Bytes,
}

/// A runtime's signed statement: "capsule `measurement` holds the secret of `capsule_key`".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attestation {
    pub measurement: B256,
    pub capsule_key: B256,
    pub issued_at: u64,
    /// The runtime's id as approved on chain: the address of a `file-secp256k1` key, or
    /// `keccak256(x ‖ y)[12..]` of a `tpm2-p256` key's public point.
    pub runtime: Address,
    pub kind: RuntimeKind,
    /// `file-secp256k1`: 65 bytes r ‖ s ‖ v over [`Attestation::digest`]. `tpm2-p256`: 64 bytes
    /// r ‖ s, the TPM's ECDSA-SHA-256 signature of [`TpmEvidence::quote`].
    pub signature: Bytes,
    /// Present exactly when `kind` is `tpm2-p256`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpm: Option<TpmEvidence>,
}

impl Attestation {
    /// The digest of "capsule `measurement` holds the secret of `capsule_key`, at `issued_at`".
    pub fn digest_for(measurement: &B256, capsule_key: &B256, issued_at: u64) -> B256 {
        let mut m = Vec::with_capacity(20 + 32 + 32 + 8);
        m.extend_from_slice(b"ddrm/v1/attestation\0");
        m.extend_from_slice(measurement.as_slice());
        m.extend_from_slice(capsule_key.as_slice());
        m.extend_from_slice(&issued_at.to_be_bytes());
        keccak256(m)
    }

    /// What the runtime key signs (a file key), or the quote's qualifying data (a TPM key).
    pub fn digest(&self) -> B256 {
        Self::digest_for(&self.measurement, &self.capsule_key, self.issued_at)
    }

    /// Signs an attestation with the runtime's key.
    pub fn sign(
        runtime_key: &k256::ecdsa::SigningKey,
        measurement: B256,
        capsule_key: B256,
        issued_at: u64,
    ) -> Result<Self, ProtocolError> {
        let digest = Self::digest_for(&measurement, &capsule_key, issued_at);
        let (sig, recid) = runtime_key
            .sign_prehash_recoverable(digest.as_slice())
            .map_err(|_| ProtocolError::Signing)?;
        Ok(Self {
            measurement,
            capsule_key,
            issued_at,
            runtime: address_of(runtime_key.verifying_key()),
            kind: RuntimeKind::FileSecp256k1,
            signature: Bytes::from(Signature::from((sig, recid)).as_bytes().to_vec()),
            tpm: None,
        })
    }

    /// A `tpm2-p256` attestation from a TPM's quote over [`Attestation::digest`]: the key's
    /// `TPMT_PUBLIC`, the quote's `TPMS_ATTEST` and its signature `r ‖ s`. The runtime id is
    /// computed from the public area; the evidence is checked as a node would.
    pub fn from_tpm_quote(
        measurement: B256,
        capsule_key: B256,
        issued_at: u64,
        public: Vec<u8>,
        quote: Vec<u8>,
        signature: [u8; 64],
    ) -> Result<Self, ProtocolError> {
        let key = TpmPublic::parse(&public)?;
        let attestation = Self {
            measurement,
            capsule_key,
            issued_at,
            runtime: key.runtime_id(),
            kind: RuntimeKind::Tpm2P256,
            signature: Bytes::from(signature.to_vec()),
            tpm: Some(TpmEvidence {
                public: public.into(),
                quote: quote.into(),
            }),
        };
        attestation.verify_evidence()?;
        Ok(attestation)
    }

    /// Checks the signature or TPM evidence is by `runtime`, and the time is within the
    /// accepted window at `now`.
    pub fn verify(&self, now: u64) -> Result<(), ProtocolError> {
        self.verify_evidence()?;
        if self.issued_at > now + MAX_CLOCK_SKEW {
            return Err(ProtocolError::AttestationTime("issued in the future"));
        }
        if now.saturating_sub(self.issued_at) > MAX_ATTESTATION_AGE {
            return Err(ProtocolError::AttestationTime("older than an hour"));
        }
        Ok(())
    }

    fn verify_evidence(&self) -> Result<(), ProtocolError> {
        match (self.kind, &self.tpm) {
            (RuntimeKind::FileSecp256k1, None) => {
                let signer = crate::recover::recover_signer(&self.signature, &self.digest())
                    .ok_or(ProtocolError::AttestationSignature)?;
                if signer != self.runtime {
                    return Err(ProtocolError::AttestationSignature);
                }
                Ok(())
            }
            (RuntimeKind::Tpm2P256, Some(evidence)) => {
                let key = TpmPublic::parse(&evidence.public)?;
                if key.runtime_id() != self.runtime {
                    return Err(ProtocolError::AttestationSignature);
                }
                verify_quote(
                    &key,
                    &evidence.quote,
                    &self.signature,
                    &self.digest(),
                    &self.measurement,
                )?;
                Ok(())
            }
            _ => Err(ProtocolError::AttestationKind),
        }
    }

    /// The hash a licence request carries: SHA-256 of "ddrm/v2/attestation-hash" ‖ 0x00 ‖
    /// measurement ‖ capsule_key ‖ issued_at BE ‖ runtime ‖ kind (0 file, 1 TPM) ‖ then the
    /// signature, the TPM public area and the TPM quote, each as a u32 BE length and its bytes
    /// (the last two empty for a file key).
    pub fn hash(&self) -> B256 {
        fn sized(h: &mut Sha256, bytes: &[u8]) {
            h.update((bytes.len() as u32).to_be_bytes());
            h.update(bytes);
        }
        let mut h = Sha256::new();
        h.update(b"ddrm/v2/attestation-hash\0");
        h.update(self.measurement);
        h.update(self.capsule_key);
        h.update(self.issued_at.to_be_bytes());
        h.update(self.runtime);
        h.update([match self.kind {
            RuntimeKind::FileSecp256k1 => 0u8,
            RuntimeKind::Tpm2P256 => 1,
        }]);
        sized(&mut h, &self.signature);
        let (public, quote) = match &self.tpm {
            Some(e) => (&e.public[..], &e.quote[..]),
            None => (&[][..], &[][..]),
        };
        sized(&mut h, public);
        sized(&mut h, quote);
        B256::from(<[u8; 32]>::from(h.finalize()))
    }
}

/// SHA-256 of a capsule's bytes: its measurement.
pub fn measure(capsule_bytes: &[u8]) -> B256 {
    B256::from(<[u8; 32]>::from(Sha256::digest(capsule_bytes)))
}

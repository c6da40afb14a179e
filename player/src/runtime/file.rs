//! A `file-secp256k1` runtime key: one secp256k1 key in a file only its owner can read (mode
//! 0600). Its owner can copy it and sign anything with it, so it is for local development
//! stacks only ([`super`]).

use std::path::Path;

use licence_net_protocol::{address_of, Address, Attestation, B256};
use zeroize::Zeroizing;

use super::RuntimeKeyError;

/// A file-backed attestation key. The secret is zeroized on drop and never printed.
pub(super) struct FileKey {
    key: k256::ecdsa::SigningKey,
}

impl FileKey {
    /// A fresh random key (not saved).
    pub fn generate() -> Self {
        Self {
            key: k256::ecdsa::SigningKey::random(&mut rand_core::OsRng),
        }
    }

    /// A key from its 32 secret bytes.
    pub fn from_bytes(secret: &[u8]) -> Option<Self> {
        k256::ecdsa::SigningKey::from_slice(secret)
            .ok()
            .map(|key| Self { key })
    }

    /// Parses the text of a key file (`path` names it in errors).
    pub fn parse(path: &Path, text: &str) -> Result<Self, RuntimeKeyError> {
        let bytes = Zeroizing::new(
            hex::decode(text.trim().trim_start_matches("0x"))
                .map_err(|_| RuntimeKeyError::Malformed(path.to_path_buf()))?,
        );
        Self::from_bytes(&bytes).ok_or_else(|| RuntimeKeyError::Malformed(path.to_path_buf()))
    }

    /// Creates a key in `path` (hex, one line, mode 0600). Two processes creating it at once
    /// end up with the same key.
    pub fn create(path: &Path) -> Result<Self, RuntimeKeyError> {
        let key = Self::generate();
        let text = Zeroizing::new(format!("0x{}\n", hex::encode(key.key.to_bytes())));
        match super::publish_new(path, text.as_bytes())? {
            true => Ok(key),
            // Another process won the race: its key is the one.
            false => Self::parse(path, &super::read_private(path)?),
        }
    }

    /// The key's Ethereum address: what `approveRuntime` approves on chain.
    pub fn address(&self) -> Address {
        address_of(self.key.verifying_key())
    }

    /// Signs "capsule `measurement` holds the secret of `capsule_key`" at `issued_at` (unix s).
    pub fn attest(
        &self,
        measurement: B256,
        capsule_key: B256,
        issued_at: u64,
    ) -> Result<Attestation, RuntimeKeyError> {
        Attestation::sign(&self.key, measurement, capsule_key, issued_at)
            .map_err(|_| RuntimeKeyError::Signing)
    }
}

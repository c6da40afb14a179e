//! The licence request: EIP-712 typed data signed by the buyer's wallet.
//!
//! Domain `{ name: "ddrm licence", version: "1", chainId, verifyingContract: <Access contract> }`,
//! primary type:
//! ```solidity
//! struct LicenceRequest {
//!     uint256 contentId;      // the content (token id of its access tokens)
//!     bytes32 keyCommitment;  // SHA-256 of the key ciphertext sent with the request
//!     bytes32 capsuleKey;     // the capsule's ephemeral X25519 public key
//!     bytes32 attestationHash;// Attestation::hash() of the runtime's attestation
//!     bytes32 nonce;          // random, never reused
//!     uint64 expiry;          // unix seconds; at most MAX_REQUEST_LIFETIME ahead
//! }
//! ```
//! The request hash, which binds a response to its request, is the EIP-712 signing hash.

use alloy_primitives::{Address, Bytes, Signature, B256, U256};
use alloy_sol_types::{sol, Eip712Domain, SolStruct};
use serde::{Deserialize, Serialize};

use crate::attestation::Attestation;
use crate::ProtocolError;

/// EIP-712 domain name of licence requests.
pub const DOMAIN_NAME: &str = "ddrm licence";
/// EIP-712 domain version of licence requests.
pub const DOMAIN_VERSION: &str = "1";
/// A request may expire at most this many seconds after a node receives it.
pub const MAX_REQUEST_LIFETIME: u64 = 300;
/// Largest key ciphertext accepted (the container's own bound).
pub const MAX_KEY_CIPHERTEXT: usize = 4096;

sol! {
    /// The EIP-712 struct the wallet signs.
    #[derive(Debug, PartialEq, Eq)]
    struct LicenceRequest {
        uint256 contentId;
        bytes32 keyCommitment;
        bytes32 capsuleKey;
        bytes32 attestationHash;
        bytes32 nonce;
        uint64 expiry;
    }
}

/// The signed fields of a licence request with the domain they are signed under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestFields {
    pub chain_id: u64,
    /// The Access contract: the EIP-712 verifying contract.
    pub access_contract: Address,
    pub content_id: U256,
    pub key_commitment: B256,
    pub capsule_key: B256,
    pub attestation_hash: B256,
    pub nonce: B256,
    pub expiry: u64,
}

impl RequestFields {
    /// The EIP-712 domain these fields are signed under.
    pub fn domain(&self) -> Eip712Domain {
        licence_domain(self.chain_id, self.access_contract)
    }

    fn typed(&self) -> LicenceRequest {
        LicenceRequest {
            contentId: self.content_id,
            keyCommitment: self.key_commitment,
            capsuleKey: self.capsule_key,
            attestationHash: self.attestation_hash,
            nonce: self.nonce,
            expiry: self.expiry,
        }
    }

    /// The EIP-712 signing hash: what the wallet signs, and the request hash every response is
    /// bound to.
    pub fn signing_hash(&self) -> B256 {
        self.typed().eip712_signing_hash(&self.domain())
    }

    /// Signs with a secp256k1 key (a wallet key held in-process, e.g. in tests and tools).
    pub fn sign(self, wallet: &k256::ecdsa::SigningKey) -> Result<SignedRequest, ProtocolError> {
        let hash = self.signing_hash();
        let (sig, recid) = wallet
            .sign_prehash_recoverable(hash.as_slice())
            .map_err(|_| ProtocolError::Signing)?;
        let signature = Signature::from((sig, recid));
        Ok(SignedRequest {
            account: address_of(wallet.verifying_key()),
            fields: self,
            signature: Bytes::from(signature.as_bytes().to_vec()),
        })
    }
}

/// The licence domain for a chain and Access contract.
pub fn licence_domain(chain_id: u64, access_contract: Address) -> Eip712Domain {
    Eip712Domain::new(
        Some(DOMAIN_NAME.into()),
        Some(DOMAIN_VERSION.into()),
        Some(U256::from(chain_id)),
        Some(access_contract),
        None,
    )
}

/// The Ethereum address of a secp256k1 public key.
pub fn address_of(key: &k256::ecdsa::VerifyingKey) -> Address {
    Address::from_public_key(key)
}

/// Request fields with the wallet's signature (65 bytes r ‖ s ‖ v) and the account that claims
/// to have signed them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedRequest {
    pub account: Address,
    pub fields: RequestFields,
    pub signature: Bytes,
}

impl SignedRequest {
    /// Recovers the signer and checks it is `account`.
    pub fn verify_signer(&self) -> Result<Address, ProtocolError> {
        let signer = crate::recover::recover_signer(&self.signature, &self.fields.signing_hash())
            .ok_or(ProtocolError::RequestSignature)?;
        if signer != self.account {
            return Err(ProtocolError::RequestSigner {
                claimed: self.account,
                recovered: signer,
            });
        }
        Ok(signer)
    }

    pub fn request_hash(&self) -> B256 {
        self.fields.signing_hash()
    }
}

/// What a client posts to every node: the signed request, the runtime's attestation of the
/// capsule, and the key ciphertext from the `.ddrm` header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LicenceAsk {
    pub request: SignedRequest,
    pub attestation: Attestation,
    pub key_ciphertext: Bytes,
}

/// SHA-256 of a key ciphertext: the commitment registered on chain.
pub fn key_commitment(key_ciphertext: &[u8]) -> B256 {
    use sha2::{Digest, Sha256};
    B256::from(<[u8; 32]>::from(Sha256::digest(key_ciphertext)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attestation::measure;

    fn wallet() -> k256::ecdsa::SigningKey {
        k256::ecdsa::SigningKey::from_slice(&[0x11; 32]).unwrap()
    }

    fn fields() -> RequestFields {
        RequestFields {
            chain_id: 20,
            access_contract: Address::repeat_byte(0xaa),
            content_id: U256::from(5u64),
            key_commitment: key_commitment(b"ciphertext"),
            capsule_key: B256::repeat_byte(3),
            attestation_hash: B256::repeat_byte(4),
            nonce: B256::repeat_byte(5),
            expiry: 1_700_000_000,
        }
    }

    #[test]
    fn a_signed_request_recovers_its_account() {
        let signed = fields().sign(&wallet()).unwrap();
        assert_eq!(signed.verify_signer().unwrap(), signed.account);
        let json = serde_json::to_string(&signed).unwrap();
        let back: SignedRequest = serde_json::from_str(&json).unwrap();
        assert_eq!(back, signed);
    }

    #[test]
    fn changing_any_signed_field_or_the_domain_breaks_the_signature() {
        let signed = fields().sign(&wallet()).unwrap();
        let edits: [fn(&mut RequestFields); 8] = [
            |f| f.chain_id = 21,
            |f| f.access_contract = Address::repeat_byte(0xbb),
            |f| f.content_id = U256::from(6u64),
            |f| f.key_commitment = B256::ZERO,
            |f| f.capsule_key = B256::ZERO,
            |f| f.attestation_hash = B256::ZERO,
            |f| f.nonce = B256::ZERO,
            |f| f.expiry += 1,
        ];
        for edit in edits {
            let mut s = signed.clone();
            edit(&mut s.fields);
            assert!(matches!(
                s.verify_signer(),
                Err(ProtocolError::RequestSigner { .. }) | Err(ProtocolError::RequestSignature)
            ));
        }
    }

    #[test]
    fn the_signing_hash_follows_eip712() {
        // keccak256(0x1901 ‖ domainSeparator ‖ structHash), computed by hand.
        use alloy_primitives::keccak256;
        let f = fields();
        let type_hash = keccak256(
            "LicenceRequest(uint256 contentId,bytes32 keyCommitment,bytes32 capsuleKey,bytes32 attestationHash,bytes32 nonce,uint64 expiry)",
        );
        let mut enc = type_hash.to_vec();
        enc.extend_from_slice(&f.content_id.to_be_bytes::<32>());
        enc.extend_from_slice(f.key_commitment.as_slice());
        enc.extend_from_slice(f.capsule_key.as_slice());
        enc.extend_from_slice(f.attestation_hash.as_slice());
        enc.extend_from_slice(f.nonce.as_slice());
        enc.extend_from_slice(&U256::from(f.expiry).to_be_bytes::<32>());
        let struct_hash = keccak256(enc);
        let dom_type = keccak256(
            "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)",
        );
        let mut d = dom_type.to_vec();
        d.extend_from_slice(keccak256(DOMAIN_NAME).as_slice());
        d.extend_from_slice(keccak256(DOMAIN_VERSION).as_slice());
        d.extend_from_slice(&U256::from(20u64).to_be_bytes::<32>());
        d.extend_from_slice(B256::left_padding_from(f.access_contract.as_slice()).as_slice());
        let domain_separator = keccak256(d);
        let mut m = vec![0x19, 0x01];
        m.extend_from_slice(domain_separator.as_slice());
        m.extend_from_slice(struct_hash.as_slice());
        assert_eq!(f.signing_hash(), keccak256(m));
    }

    #[test]
    fn an_attestation_binds_measurement_key_and_time() {
        use crate::attestation::Attestation;
        let runtime = k256::ecdsa::SigningKey::from_slice(&[0x22; 32]).unwrap();
        let m = measure(b"capsule");
        let a = Attestation::sign(&runtime, m, B256::repeat_byte(9), 1_000).unwrap();
        a.verify(1_010).unwrap();
        assert!(a.verify(1_000 + 3_601).is_err(), "too old");
        assert!(a.verify(900).is_err(), "from the future");
        let mut b = a.clone();
        b.measurement = measure(b"tampered");
        assert!(matches!(
            b.verify(1_010),
            Err(ProtocolError::AttestationSignature)
        ));
        assert_ne!(b.hash(), a.hash());
        let mut c = a.clone();
        c.runtime = Address::repeat_byte(1);
        assert!(c.verify(1_010).is_err());
    }
}

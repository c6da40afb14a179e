//! A node's answer: its decryption share sealed to the capsule's ephemeral key, the licence
//! policy, and the node's signature with its operator key.
//!
//! Sealing (node `i`, request hash `h`, capsule key `C`, fresh node ephemeral X25519 key `E`):
//! ```text
//! okm   = HKDF-SHA256(salt = h, ikm = X25519(e, C),
//!                     info = "ddrm/v1/share" ‖ 0x00 ‖ i as u32 BE ‖ E ‖ C)   44 bytes
//! key, nonce = okm[..32], okm[32..]
//! sealed = AES-256-GCM(key, nonce, plaintext = bincode(DecryptionShare),
//!                      aad = h ‖ i as u32 BE ‖ policy encoding)
//! ```
//! The policy in the AAD means only a holder of the plaintext share (the node) can have sealed
//! it with this policy: the host relaying responses cannot change it.
//!
//! Signature: secp256k1 recoverable signature (r ‖ s ‖ v) by node `i`'s operator key over
//! [`LicenceResponse::signed_message`]; it recovers to `GroupKey::operators()[i]`.
//!
//! This module issues and signs responses (the node); [`open`] opens and checks them (the
//! capsule, and the envelope checks a host can make without its secret); [`combine`] turns
//! checked shares into the content key (the capsule).

mod combine;
mod open;

pub use combine::{
    combine_checked, combine_shares, recover_content_key, Recovered, RecoveryError, ShareFault,
};
pub use open::{
    check_envelope, open_share, open_unverified, verify_response, verify_share, CapsuleSecret,
    Expected, OpenShare,
};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use alloy_primitives::{Address, Bytes, Signature, B256, U256};
use hkdf::Hkdf;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use threshold_crypto::{Ciphertext, DecryptionShare, SecretKeyShare};
use x25519_dalek::{EphemeralSecret, PublicKey, StaticSecret};
use zeroize::Zeroizing;

use crate::{GroupKey, PreparedCiphertext, ProtocolError};

/// Bytes of a bincode-encoded `DecryptionShare` (a compressed G1 point).
const SHARE_LEN: usize = 48;
/// Bytes of a recoverable secp256k1 signature (r ‖ s ‖ v).
const SIGNATURE_LEN: usize = 65;

/// Which right the licence rests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessKind {
    /// A perpetual access token.
    Perpetual,
    /// A rental or subscription that ends at `play_until`.
    Timed,
}

/// The licence policy a node signs: how long the content may be played and when the player must
/// ask again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LicencePolicy {
    pub account: Address,
    pub content_id: U256,
    pub access: AccessKind,
    /// Unix seconds after which playback must stop (timed access); `None` for perpetual access.
    pub play_until: Option<u64>,
    /// Unix seconds after which the player must request a fresh licence before continuing.
    pub renew_after: u64,
    /// Chain time (unix seconds) of the block the rights were read at.
    pub issued_at: u64,
    /// The block the rights were read at.
    pub block_number: u64,
}

impl LicencePolicy {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.account.as_slice());
        out.extend_from_slice(&self.content_id.to_be_bytes::<32>());
        out.push(match self.access {
            AccessKind::Perpetual => 0,
            AccessKind::Timed => 1,
        });
        out.extend_from_slice(&self.play_until.unwrap_or(0).to_be_bytes());
        out.extend_from_slice(&self.renew_after.to_be_bytes());
        out.extend_from_slice(&self.issued_at.to_be_bytes());
        out.extend_from_slice(&self.block_number.to_be_bytes());
    }
}

/// A decryption share sealed to the capsule's key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealedShare {
    /// The node's ephemeral X25519 public key.
    pub ephemeral_key: B256,
    /// AES-256-GCM ciphertext and tag of the bincode-encoded decryption share.
    pub ciphertext: Bytes,
}

/// One node's licence response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LicenceResponse {
    /// 0-based index of the node's key share.
    pub node_index: u32,
    pub request_hash: B256,
    pub sealed_share: SealedShare,
    pub policy: LicencePolicy,
    /// The node operator's secp256k1 signature (r ‖ s ‖ v) over
    /// [`LicenceResponse::signed_message`].
    pub signature: Bytes,
}

fn sealing_aad(request_hash: &B256, node_index: u32, policy: &LicencePolicy) -> Vec<u8> {
    let mut aad = Vec::with_capacity(32 + 4 + 100);
    aad.extend_from_slice(request_hash.as_slice());
    aad.extend_from_slice(&node_index.to_be_bytes());
    policy.encode(&mut aad);
    aad
}

fn derive(
    shared: &[u8; 32],
    request_hash: &B256,
    node_index: u32,
    ephemeral: &[u8; 32],
    capsule: &[u8; 32],
) -> Zeroizing<[u8; 44]> {
    let mut info = Vec::with_capacity(14 + 4 + 64);
    info.extend_from_slice(b"ddrm/v1/share\0");
    info.extend_from_slice(&node_index.to_be_bytes());
    info.extend_from_slice(ephemeral);
    info.extend_from_slice(capsule);
    let mut okm = Zeroizing::new([0u8; 44]);
    Hkdf::<Sha256>::new(Some(request_hash.as_slice()), shared)
        .expand(&info, okm.as_mut())
        .expect("44 bytes is a valid HKDF-SHA256 length");
    okm
}

impl LicenceResponse {
    /// The message the node signs: SHA-256("ddrm/v1/licence-response" ‖ 0x00 ‖ node_index u32 BE
    /// ‖ request_hash ‖ ephemeral_key ‖ len u32 BE ‖ sealed ciphertext ‖ policy encoding).
    pub fn signed_message(&self) -> [u8; 32] {
        Self::message(
            self.node_index,
            &self.request_hash,
            &self.sealed_share,
            &self.policy,
        )
    }

    fn message(
        node_index: u32,
        request_hash: &B256,
        sealed: &SealedShare,
        policy: &LicencePolicy,
    ) -> [u8; 32] {
        let mut m = Vec::with_capacity(256);
        m.extend_from_slice(b"ddrm/v1/licence-response\0");
        m.extend_from_slice(&node_index.to_be_bytes());
        m.extend_from_slice(request_hash.as_slice());
        m.extend_from_slice(sealed.ephemeral_key.as_slice());
        m.extend_from_slice(&(sealed.ciphertext.len() as u32).to_be_bytes());
        m.extend_from_slice(&sealed.ciphertext);
        policy.encode(&mut m);
        Sha256::digest(&m).into()
    }

    /// Node side: computes the decryption share of a verified ciphertext, seals it to
    /// `capsule_key` and signs the response with the node's operator key.
    pub fn issue(
        node_index: u32,
        share: &SecretKeyShare,
        operator: &k256::ecdsa::SigningKey,
        ciphertext: &Ciphertext,
        request_hash: B256,
        capsule_key: &B256,
        policy: LicencePolicy,
    ) -> Result<Self, ProtocolError> {
        // The caller verified the ciphertext; the share itself is checked by the client against
        // this node's public key share.
        let dec = share.decrypt_share_no_verify(ciphertext);
        Self::issue_share(
            node_index,
            &dec,
            operator,
            request_hash,
            capsule_key,
            policy,
        )
    }

    /// Node side: seals an already computed decryption share (of a verified ciphertext; a node
    /// computes it once per content) to `capsule_key` and signs the response.
    pub fn issue_share(
        node_index: u32,
        dec: &DecryptionShare,
        operator: &k256::ecdsa::SigningKey,
        request_hash: B256,
        capsule_key: &B256,
        policy: LicencePolicy,
    ) -> Result<Self, ProtocolError> {
        let plain = Zeroizing::new(bincode::serialize(dec).map_err(|_| ProtocolError::Sealing)?);
        let capsule = PublicKey::from(capsule_key.0);
        let secret = EphemeralSecret::random_from_rng(rand_core::OsRng);
        let ephemeral = PublicKey::from(&secret);
        let shared = secret.diffie_hellman(&capsule);
        if !shared.was_contributory() {
            return Err(ProtocolError::CapsuleKey);
        }
        let okm = derive(
            shared.as_bytes(),
            &request_hash,
            node_index,
            ephemeral.as_bytes(),
            capsule.as_bytes(),
        );
        let cipher = Aes256Gcm::new_from_slice(&okm[..32]).expect("32-byte key");
        let sealed = cipher
            .encrypt(
                Nonce::from_slice(&okm[32..]),
                Payload {
                    msg: &plain,
                    aad: &sealing_aad(&request_hash, node_index, &policy),
                },
            )
            .map_err(|_| ProtocolError::Sealing)?;
        let sealed_share = SealedShare {
            ephemeral_key: B256::from(*ephemeral.as_bytes()),
            ciphertext: Bytes::from(sealed),
        };
        let msg = Self::message(node_index, &request_hash, &sealed_share, &policy);
        let (sig, recid) = operator
            .sign_prehash_recoverable(&msg)
            .map_err(|_| ProtocolError::Signing)?;
        Ok(Self {
            node_index,
            request_hash,
            sealed_share,
            policy,
            signature: Bytes::from(Signature::from((sig, recid)).as_bytes().to_vec()),
        })
    }

    /// Checks the node's signature: it recovers to the node's operator address in the group key.
    pub fn verify_signature(&self, group: &GroupKey) -> Result<(), ResponseFault> {
        let Some(operator) = group.operators().get(self.node_index as usize) else {
            return Err(ResponseFault::UnknownNode);
        };
        if self.signature.len() != SIGNATURE_LEN {
            return Err(ResponseFault::BadSignature);
        }
        match crate::recover::recover_signer(&self.signature, &B256::from(self.signed_message())) {
            Some(signer) if signer == *operator => Ok(()),
            _ => Err(ResponseFault::BadSignature),
        }
    }
}

/// What is wrong with one node's response. Each fault names the node (by the caller).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResponseFault {
    #[error("the response is for another request")]
    WrongRequest,
    #[error("the response names a node index outside the group")]
    UnknownNode,
    #[error("the response's signature does not verify against the node's public key share")]
    BadSignature,
    #[error("the sealed share cannot be opened with the capsule's key")]
    CannotOpen,
    #[error("the decryption share does not verify against the node's public key share")]
    InvalidShare,
    #[error("the licence policy is not for this account and content")]
    WrongPolicy,
}

/// The body of a node's refusal (any non-200 answer to a licence request): a stable
/// machine-readable `code` (PROTOCOL.md, "What a node checks") and a message for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusalBody {
    pub node_index: u32,
    pub code: String,
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use threshold_crypto::SecretKeySet;

    const CREATOR: Address = Address::repeat_byte(0xC1);

    /// A ciphertext of `msg` for `CREATOR`, checked and decoded.
    fn encrypt(group: &GroupKey, msg: &[u8]) -> Ciphertext {
        let bytes = group.encrypt(&CREATOR, msg).unwrap();
        PreparedCiphertext::decode(&bytes, &CREATOR)
            .unwrap()
            .ciphertext()
            .clone()
    }

    fn operator(i: usize) -> k256::ecdsa::SigningKey {
        k256::ecdsa::SigningKey::from_slice(&[i as u8 + 0x21; 32]).unwrap()
    }

    struct Fixture {
        group: GroupKey,
        sks: SecretKeySet,
        ct: Ciphertext,
        prepared: PreparedCiphertext,
        policy: LicencePolicy,
        h: B256,
    }

    fn fixture() -> Fixture {
        let sks = SecretKeySet::random(2, &mut rand07::thread_rng());
        let operators: Vec<_> = (0..5).map(operator).collect();
        let group = GroupKey::new(
            sks.public_keys(),
            5,
            3,
            operators
                .iter()
                .map(|k| crate::address_of(k.verifying_key()))
                .collect(),
        )
        .unwrap();
        let encrypted = group.encrypt(&CREATOR, &[7u8; 32]).unwrap();
        let prepared = PreparedCiphertext::decode(&encrypted, &CREATOR).unwrap();
        let ct = prepared.ciphertext().clone();
        let policy = LicencePolicy {
            account: Address::repeat_byte(1),
            content_id: U256::from(42u64),
            access: AccessKind::Timed,
            play_until: Some(2_000),
            renew_after: 1_500,
            issued_at: 1_000,
            block_number: 9,
        };
        Fixture {
            group,
            sks,
            ct,
            prepared,
            policy,
            h: B256::repeat_byte(0xab),
        }
    }

    fn issue(f: &Fixture, i: usize, capsule: &CapsuleSecret) -> LicenceResponse {
        issue_for(f, i, &f.ct, capsule)
    }

    /// Node `i`'s correctly signed response carrying its share of `ct`.
    fn issue_for(
        f: &Fixture,
        i: usize,
        ct: &Ciphertext,
        capsule: &CapsuleSecret,
    ) -> LicenceResponse {
        LicenceResponse::issue(
            i as u32,
            &f.sks.secret_key_share(i),
            &operator(i),
            ct,
            f.h,
            &capsule.public_key(),
            f.policy.clone(),
        )
        .unwrap()
    }

    fn expected(f: &Fixture) -> Expected {
        Expected {
            request_hash: f.h,
            account: f.policy.account,
            content_id: f.policy.content_id,
        }
    }

    fn check(
        f: &Fixture,
        r: &LicenceResponse,
        c: &CapsuleSecret,
    ) -> Result<DecryptionShare, ResponseFault> {
        verify_response(&f.group, &f.prepared, &expected(f), r, c)
    }

    #[test]
    fn three_sealed_shares_open_verify_and_combine() {
        let f = fixture();
        let capsule = CapsuleSecret::generate();
        let shares: Vec<_> = [0usize, 2, 4]
            .iter()
            .map(|&i| (i, check(&f, &issue(&f, i, &capsule), &capsule).unwrap()))
            .collect();
        let key = combine_shares(&f.group, &f.ct, &shares).unwrap();
        assert_eq!(key.as_slice(), &[7u8; 32]);
        assert!(matches!(
            combine_shares(&f.group, &f.ct, &shares[..2]),
            Err(ProtocolError::NotEnoughShares { have: 2, need: 3 })
        ));
    }

    #[test]
    fn another_capsule_cannot_open_a_share() {
        let f = fixture();
        let capsule = CapsuleSecret::generate();
        let r = issue(&f, 1, &capsule);
        let thief = CapsuleSecret::generate();
        assert_eq!(thief.open(&r).unwrap_err(), ResponseFault::CannotOpen);
    }

    #[test]
    fn tampering_with_any_part_is_detected() {
        let f = fixture();
        let capsule = CapsuleSecret::generate();
        let good = issue(&f, 1, &capsule);

        type Tamper = fn(&mut LicenceResponse);
        let tampered: [(Tamper, ResponseFault); 5] = [
            (
                |r| {
                    let mut bytes = r.sealed_share.ciphertext.to_vec();
                    bytes[3] ^= 1;
                    r.sealed_share.ciphertext = bytes.into();
                },
                ResponseFault::BadSignature,
            ),
            (
                |r| r.policy.play_until = Some(9_999),
                ResponseFault::BadSignature,
            ),
            (|r| r.node_index = 2, ResponseFault::BadSignature),
            (|r| r.node_index = 7, ResponseFault::UnknownNode),
            (
                |r| r.request_hash = B256::repeat_byte(1),
                ResponseFault::WrongRequest,
            ),
        ];
        for (i, (tamper, fault)) in tampered.into_iter().enumerate() {
            let mut r = good.clone();
            tamper(&mut r);
            assert_eq!(check(&f, &r, &capsule).unwrap_err(), fault, "case {i}");
        }

        // The policy is bound by the sealing AEAD too, without the signature.
        let mut r = good.clone();
        r.policy.play_until = Some(9_999);
        assert_eq!(capsule.open(&r).unwrap_err(), ResponseFault::CannotOpen);
    }

    #[test]
    fn a_signed_share_of_another_ciphertext_is_an_invalid_share() {
        // A node that signs correctly but decrypts something else (here: another ciphertext).
        let f = fixture();
        let capsule = CapsuleSecret::generate();
        let other = encrypt(&f.group, &[9u8; 32]);
        let r = issue_for(&f, 3, &other, &capsule);
        assert_eq!(
            check(&f, &r, &capsule).unwrap_err(),
            ResponseFault::InvalidShare
        );
    }

    #[test]
    fn a_policy_for_someone_else_is_refused() {
        let mut f = fixture();
        let capsule = CapsuleSecret::generate();
        let r = issue(&f, 0, &capsule);
        f.policy.account = Address::repeat_byte(2);
        assert_eq!(
            check(&f, &r, &capsule).unwrap_err(),
            ResponseFault::WrongPolicy
        );
    }

    #[test]
    fn a_low_order_capsule_key_is_refused() {
        let f = fixture();
        let r = LicenceResponse::issue(
            0,
            &f.sks.secret_key_share(0),
            &operator(0),
            &f.ct,
            f.h,
            &B256::ZERO,
            f.policy.clone(),
        );
        assert!(matches!(r, Err(ProtocolError::CapsuleKey)));
    }

    #[test]
    fn recovery_skips_and_names_a_bad_share_and_fails_closed_without_enough() {
        let f = fixture();
        let capsule = CapsuleSecret::generate();
        let other = encrypt(&f.group, &[9u8; 32]);
        // Node 1 signs correctly (its envelope passes) but its share is for another ciphertext.
        let bad = issue_for(&f, 1, &other, &capsule);
        assert_eq!(check_envelope(&f.group, &expected(&f), &bad), Ok(()));
        let responses = vec![
            issue(&f, 0, &capsule),
            bad,
            issue(&f, 3, &capsule),
            issue(&f, 4, &capsule),
        ];
        let got = recover_content_key(&f.group, &f.prepared, &expected(&f), &responses, &capsule)
            .expect("three good shares");
        assert_eq!(got.key.as_slice(), &[7u8; 32]);
        let used: Vec<_> = got.shares.iter().map(|s| s.0).collect();
        assert_eq!(used, vec![0, 3, 4]);
        let fault = ShareFault {
            node_index: 1,
            fault: ResponseFault::InvalidShare,
        };
        assert_eq!(got.faults, vec![fault.clone()]);

        let err = recover_content_key(
            &f.group,
            &f.prepared,
            &expected(&f),
            &responses[..3],
            &capsule,
        )
        .unwrap_err();
        assert_eq!((err.valid, err.needed), (2, 3));
        assert_eq!(err.faults, vec![fault]);
        assert!(
            err.to_string().contains("node 1: the decryption share"),
            "{err}"
        );
    }
}

//! Opening a node's sealed share with the capsule's ephemeral secret, and the checks of a
//! response: its envelope (request, operator signature, policy), which a host can make without
//! the secret, and its share, which only the capsule can.

use super::*;

/// Opens sealed shares: implemented by whoever holds the capsule's ephemeral secret (the capsule
/// itself, inside the sandbox).
pub trait OpenShare {
    /// The X25519 public key the shares are sealed to.
    fn public_key(&self) -> B256;
    /// Opens one response's sealed share (no check of the share itself).
    fn open(&self, response: &LicenceResponse) -> Result<DecryptionShare, ResponseFault>;
}

/// The capsule's ephemeral X25519 key pair. Zeroized on drop.
pub struct CapsuleSecret {
    secret: StaticSecret,
}

impl std::fmt::Debug for CapsuleSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CapsuleSecret(..)")
    }
}

impl CapsuleSecret {
    /// A fresh key pair from the operating system's randomness.
    pub fn generate() -> Self {
        Self {
            secret: StaticSecret::random_from_rng(rand_core::OsRng),
        }
    }

    /// A fixed key pair, for the fuzz targets' deterministic fixture only.
    #[cfg(feature = "fuzzing")]
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self {
            secret: StaticSecret::from(bytes),
        }
    }
}

impl OpenShare for CapsuleSecret {
    fn public_key(&self) -> B256 {
        B256::from(*PublicKey::from(&self.secret).as_bytes())
    }

    fn open(&self, response: &LicenceResponse) -> Result<DecryptionShare, ResponseFault> {
        let ephemeral = PublicKey::from(response.sealed_share.ephemeral_key.0);
        let shared = self.secret.diffie_hellman(&ephemeral);
        if !shared.was_contributory() {
            return Err(ResponseFault::CannotOpen);
        }
        let own = PublicKey::from(&self.secret);
        let okm = derive(
            shared.as_bytes(),
            &response.request_hash,
            response.node_index,
            ephemeral.as_bytes(),
            own.as_bytes(),
        );
        let cipher = Aes256Gcm::new_from_slice(&okm[..32]).expect("32-byte key");
        let plain = Zeroizing::new(
            cipher
                .decrypt(
                    Nonce::from_slice(&okm[32..]),
                    Payload {
                        msg: &response.sealed_share.ciphertext,
                        aad: &sealing_aad(
                            &response.request_hash,
                            response.node_index,
                            &response.policy,
                        ),
                    },
                )
                .map_err(|_| ResponseFault::CannotOpen)?,
        );
        if plain.len() != SHARE_LEN {
            return Err(ResponseFault::CannotOpen);
        }
        bincode::deserialize(&plain).map_err(|_| ResponseFault::CannotOpen)
    }
}

/// What a response must be about: the request it answers, for which account and content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expected {
    pub request_hash: B256,
    pub account: Address,
    pub content_id: U256,
}

impl Expected {
    /// The expectations of the responses to `ask`.
    pub fn of(ask: &crate::LicenceAsk) -> Self {
        Self {
            request_hash: ask.request.request_hash(),
            account: ask.request.account,
            content_id: ask.request.fields.content_id,
        }
    }

    fn check_binding(&self, group: &GroupKey, r: &LicenceResponse) -> Result<(), ResponseFault> {
        if r.request_hash != self.request_hash {
            return Err(ResponseFault::WrongRequest);
        }
        if r.node_index as usize >= group.nodes() {
            return Err(ResponseFault::UnknownNode);
        }
        if r.policy.account != self.account || r.policy.content_id != self.content_id {
            return Err(ResponseFault::WrongPolicy);
        }
        Ok(())
    }
}

/// Host side (no capsule secret needed): the response answers this request, is signed by the
/// operator of the node it names, and its policy is for this account and content. What is sealed
/// inside is checked by [`open_share`] / [`recover_content_key`] in the capsule.
pub fn check_envelope(
    group: &GroupKey,
    expected: &Expected,
    response: &LicenceResponse,
) -> Result<(), ResponseFault> {
    expected.check_binding(group, response)?;
    response.verify_signature(group)
}

/// Capsule side: checks the binding and opens the sealed share (which authenticates the policy),
/// without verifying the share itself: [`combine_checked`] does that.
pub fn open_unverified(
    group: &GroupKey,
    expected: &Expected,
    response: &LicenceResponse,
    opener: &dyn OpenShare,
) -> Result<DecryptionShare, ResponseFault> {
    expected.check_binding(group, response)?;
    opener.open(response)
}

/// Capsule side: [`open_unverified`], then verifies the decryption share against the node's
/// public key share for this ciphertext.
pub fn open_share(
    group: &GroupKey,
    ciphertext: &PreparedCiphertext,
    expected: &Expected,
    response: &LicenceResponse,
    opener: &dyn OpenShare,
) -> Result<DecryptionShare, ResponseFault> {
    let share = open_unverified(group, expected, response, opener)?;
    verify_share(group, ciphertext, response.node_index, &share)?;
    Ok(share)
}

/// Verifies one opened decryption share against node `node_index`'s public key share for this
/// ciphertext (a pairing check).
pub fn verify_share(
    group: &GroupKey,
    ciphertext: &PreparedCiphertext,
    node_index: u32,
    share: &DecryptionShare,
) -> Result<(), ResponseFault> {
    let pk = group.public_key_set().public_key_share(node_index as usize);
    if ciphertext.verify_share(&pk, share) {
        Ok(())
    } else {
        Err(ResponseFault::InvalidShare)
    }
}

/// Client side: checks one response completely before its share may be used — bound to this
/// request, signed by the node it names, policy for this account and content, share opens and
/// verifies against the node's public key share for this ciphertext.
pub fn verify_response(
    group: &GroupKey,
    ciphertext: &PreparedCiphertext,
    expected: &Expected,
    response: &LicenceResponse,
    opener: &dyn OpenShare,
) -> Result<DecryptionShare, ResponseFault> {
    check_envelope(group, expected, response)?;
    open_share(group, ciphertext, expected, response, opener)
}

//! The group public key: a threshold_crypto `PublicKeySet` with the network's size and threshold.
//!
//! File encoding (`group.pub`), JSON:
//! ```json
//! { "version": 2, "scheme": "bls12-381/threshold_crypto-0.4", "nodes": 5, "threshold": 3,
//!   "public_key_set": "<hex>", "operators": ["0x…", …] }
//! ```
//! `operators[i]` is the address of node `i`'s operator key (secp256k1), which signs that node's
//! licence responses; the same addresses are registered in `LicenceNetworkRegistry`.
//! `threshold` counts the shares needed to decrypt (3 for three-of-five); threshold_crypto's own
//! "threshold" is one less (the polynomial degree). `public_key_set` is the bincode 1 encoding of
//! the `PublicKeySet`: a u64 little-endian count of commitment coefficients (= `threshold`),
//! then each coefficient as a 48-byte compressed BLS12-381 G1 point. The group key id is
//! SHA-256 of those `public_key_set` bytes (the operators are not part of it: they can
//! change without re-encrypting any content).

use alloy_primitives::Address;
use rand_chacha02::rand_core::SeedableRng;
use rand_chacha02::ChaChaRng;
use rand_core::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use threshold_crypto::ff::Field;
use threshold_crypto::group::{CurveAffine, CurveProjective};
use threshold_crypto::pairing::bls12_381::{Fr, G1Affine};
use threshold_crypto::{Ciphertext, PublicKeySet};
use zeroize::Zeroizing;

use crate::prepared::{label_point, split_ciphertext};
use crate::ProtocolError;

/// The scheme name written in group key and share files.
pub const GROUP_KEY_SCHEME: &str = "bls12-381/threshold_crypto-0.4";
const MAX_NODES: usize = 256;

/// The licence network's public key set with its size and decryption threshold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupKey {
    nodes: usize,
    threshold: usize,
    set: PublicKeySet,
    operators: Vec<Address>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupKeyFile {
    version: u32,
    scheme: String,
    nodes: usize,
    threshold: usize,
    public_key_set: String,
    operators: Vec<Address>,
}

impl GroupKey {
    /// Wraps a key set; `threshold` is the number of shares needed, `1 ..= nodes`;
    /// `operators[i]` signs node `i`'s responses.
    pub fn new(
        set: PublicKeySet,
        nodes: usize,
        threshold: usize,
        operators: Vec<Address>,
    ) -> Result<Self, ProtocolError> {
        if nodes == 0 || nodes > MAX_NODES {
            return Err(ProtocolError::GroupKeyInvalid(
                "nodes must be between 1 and 256",
            ));
        }
        if threshold == 0 || threshold > nodes {
            return Err(ProtocolError::GroupKeyInvalid(
                "threshold must be between 1 and the number of nodes",
            ));
        }
        if set.threshold() + 1 != threshold {
            return Err(ProtocolError::GroupKeyInvalid(
                "the key set's degree does not match the threshold",
            ));
        }
        if operators.len() != nodes || operators.contains(&Address::ZERO) {
            return Err(ProtocolError::GroupKeyInvalid(
                "one non-zero operator address is needed per node",
            ));
        }
        Ok(Self {
            nodes,
            threshold,
            set,
            operators,
        })
    }

    /// Number of nodes holding a share.
    pub fn nodes(&self) -> usize {
        self.nodes
    }

    /// Number of shares needed to decrypt.
    pub fn threshold(&self) -> usize {
        self.threshold
    }

    pub fn public_key_set(&self) -> &PublicKeySet {
        &self.set
    }

    /// The operator addresses, by node index.
    pub fn operators(&self) -> &[Address] {
        &self.operators
    }

    /// The encoded public key set (bincode), as registered in `LicenceNetworkRegistry`.
    pub fn public_key_set_bytes(&self) -> Vec<u8> {
        self.set_bytes()
    }

    fn set_bytes(&self) -> Vec<u8> {
        bincode::serialize(&self.set).expect("a PublicKeySet always serializes")
    }

    /// SHA-256 of the encoded public key set: names this network in `.ddrm` headers.
    pub fn id(&self) -> [u8; 32] {
        Sha256::digest(self.set_bytes()).into()
    }

    /// The `group.pub` JSON text.
    pub fn to_json(&self) -> String {
        let f = GroupKeyFile {
            version: 2,
            scheme: GROUP_KEY_SCHEME.into(),
            nodes: self.nodes,
            threshold: self.threshold,
            public_key_set: hex::encode(self.set_bytes()),
            operators: self.operators.clone(),
        };
        serde_json::to_string_pretty(&f).expect("plain struct serializes") + "\n"
    }

    /// Parses `group.pub` JSON text.
    pub fn from_json(text: &str) -> Result<Self, ProtocolError> {
        let f: GroupKeyFile =
            serde_json::from_str(text).map_err(|e| ProtocolError::GroupKeyJson(e.to_string()))?;
        if f.version != 2 {
            return Err(ProtocolError::GroupKeyInvalid("unsupported version"));
        }
        if f.scheme != GROUP_KEY_SCHEME {
            return Err(ProtocolError::GroupKeyInvalid("unknown scheme"));
        }
        let bytes = hex::decode(f.public_key_set)
            .map_err(|_| ProtocolError::GroupKeyInvalid("public_key_set is not hex"))?;
        if f.nodes != f.operators.len() {
            return Err(ProtocolError::GroupKeyInvalid(
                "one non-zero operator address is needed per node",
            ));
        }
        Self::from_parts(&bytes, f.threshold, f.operators)
    }

    /// Rebuilds the group key from its encoded key set (as registered on chain), the number of
    /// shares needed and the operators.
    pub fn from_parts(
        public_key_set: &[u8],
        threshold: usize,
        operators: Vec<Address>,
    ) -> Result<Self, ProtocolError> {
        if public_key_set.len() != 8 + 48 * threshold {
            return Err(ProtocolError::GroupKeyInvalid(
                "public_key_set length does not match the threshold",
            ));
        }
        let set: PublicKeySet = bincode::deserialize(public_key_set)
            .map_err(|_| ProtocolError::GroupKeyInvalid("public_key_set is not a valid key set"))?;
        Self::new(set, operators.len(), threshold, operators)
    }

    /// Encrypts a message (a content key) to the group, labelled with the account that will
    /// register the content (`PreparedCiphertext` explains the label): any `threshold` nodes
    /// together can decrypt it, fewer learn nothing, and nodes decrypt it only for content
    /// registered by `creator`. Returns the bincode-encoded ciphertext.
    ///
    /// `U` and `V` are threshold_crypto's own encryption under a ChaCha20 stream from a fresh
    /// random seed; the same seed gives back its ephemeral scalar `r` (threshold_crypto draws it
    /// first), which is checked against `U` before `W` is replaced by `H_L^r`.
    pub fn encrypt(&self, creator: &Address, msg: &[u8]) -> Result<Vec<u8>, ProtocolError> {
        let mut seed = Zeroizing::new([0u8; 32]);
        rand_core::OsRng.fill_bytes(&mut seed[..]);
        let ct = self
            .set
            .public_key()
            .encrypt_with_rng(&mut ChaChaRng::from_seed(*seed), msg);
        // `r` (from which K follows) is a plain field element: threshold_crypto's types offer no
        // zeroizing, so it lives only on this stack frame; the seed is wiped.
        let r = Fr::random(&mut ChaChaRng::from_seed(*seed));
        let mut bytes =
            bincode::serialize(&ct).map_err(|_| ProtocolError::Encryption("encoding"))?;
        let (u, v, _) = split_ciphertext(&bytes).ok_or(ProtocolError::Encryption("layout"))?;
        if G1Affine::one()
            .mul(r)
            .into_affine()
            .into_compressed()
            .as_ref()
            != u
        {
            return Err(ProtocolError::Encryption(
                "threshold_crypto drew its scalar differently",
            ));
        }
        let w = label_point(creator, u, v).mul(r).into_affine();
        let at = bytes.len() - w.into_compressed().as_ref().len();
        bytes[at..].copy_from_slice(w.into_compressed().as_ref());
        Ok(bytes)
    }
}

/// Decodes a key ciphertext without checking its validity proof.
pub(crate) fn parse_ciphertext(bytes: &[u8]) -> Result<Ciphertext, ProtocolError> {
    if bytes.len() > 4096 {
        return Err(ProtocolError::CiphertextEncoding);
    }
    let ct: Ciphertext =
        bincode::deserialize(bytes).map_err(|_| ProtocolError::CiphertextEncoding)?;
    if bincode::serialized_size(&ct).ok() != Some(bytes.len() as u64) {
        return Err(ProtocolError::CiphertextEncoding);
    }
    Ok(ct)
}

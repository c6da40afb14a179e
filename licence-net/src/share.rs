//! A node's key share file.
//!
//! JSON, mode 0600:
//! ```json
//! { "version": 2, "scheme": "bls12-381/threshold_crypto-0.4", "index": 0, "nodes": 5,
//!   "threshold": 3, "group_key_id": "<hex>", "secret_key_share": "<hex>",
//!   "operator_key": "<hex>" }
//! ```
//! `index` is 0-based: share `i` is the key polynomial evaluated at `i + 1` (threshold_crypto's
//! convention). `secret_key_share` is the bincode encoding of the share's scalar (32 bytes).
//! `operator_key` is the node operator's secp256k1 secret key (32 bytes), which signs the node's
//! responses; its address must be `operators[index]` of the group key.
//! A share file may come from the dealer or, later, from distributed key generation: the node
//! only needs this file and the group key.

use std::path::Path;

use k256::ecdsa::SigningKey;
use licence_net_protocol::{address_of, GroupKey, GROUP_KEY_SCHEME};
use serde::{Deserialize, Serialize};
use threshold_crypto::serde_impl::SerdeSecret;
use threshold_crypto::SecretKeyShare;
use zeroize::Zeroizing;

/// Problems loading or writing a share file. Messages never contain secret material.
#[derive(Debug, thiserror::Error)]
pub enum ShareError {
    #[error("cannot read share file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("share file {path} is malformed: {why}")]
    Malformed { path: String, why: String },
    #[error("share file {path} does not belong to this group key")]
    WrongGroup { path: String },
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} already exists; refusing to overwrite key material")]
    Exists { path: String },
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    version: u32,
    scheme: String,
    index: usize,
    nodes: usize,
    threshold: usize,
    group_key_id: String,
    secret_key_share: String,
    operator_key: String,
}

/// The hex of the secret share is wiped whenever a parsed or built file goes out of scope.
impl Drop for Wire {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.secret_key_share);
        zeroize::Zeroize::zeroize(&mut self.operator_key);
    }
}

/// One node's secret key share with its place in the group.
pub struct KeyShareFile {
    pub index: usize,
    pub nodes: usize,
    pub threshold: usize,
    pub group_key_id: [u8; 32],
    pub share: SecretKeyShare,
    /// The operator's response-signing key (zeroized on drop by k256).
    pub operator: SigningKey,
}

impl std::fmt::Debug for KeyShareFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyShareFile")
            .field("index", &self.index)
            .field("nodes", &self.nodes)
            .field("threshold", &self.threshold)
            .finish_non_exhaustive()
    }
}

impl KeyShareFile {
    /// The JSON text of the file. Holds the secret: the caller writes it with mode 0600.
    pub fn to_json(&self) -> Zeroizing<String> {
        let secret = Zeroizing::new(
            bincode::serialize(&SerdeSecret(&self.share)).expect("a share serializes"),
        );
        let w = Wire {
            version: 2,
            scheme: GROUP_KEY_SCHEME.into(),
            index: self.index,
            nodes: self.nodes,
            threshold: self.threshold,
            group_key_id: hex::encode(self.group_key_id),
            secret_key_share: hex::encode(&*secret),
            operator_key: hex::encode(Zeroizing::new(self.operator.to_bytes().to_vec())),
        };
        Zeroizing::new(serde_json::to_string_pretty(&w).expect("serializes") + "\n")
    }

    /// Loads a share file and checks it against the group key.
    pub fn load(path: &Path, group: &GroupKey) -> Result<Self, ShareError> {
        let p = path.display().to_string();
        let text =
            Zeroizing::new(
                std::fs::read_to_string(path).map_err(|source| ShareError::Read {
                    path: p.clone(),
                    source,
                })?,
            );
        let bad = |why: &str| ShareError::Malformed {
            path: p.clone(),
            why: why.to_string(),
        };
        let w: Wire = serde_json::from_str(&text).map_err(|_| bad("not the expected JSON"))?;
        if w.version != 2 || w.scheme != GROUP_KEY_SCHEME {
            return Err(bad("unsupported version or scheme"));
        }
        let secret = Zeroizing::new(
            hex::decode(&w.secret_key_share).map_err(|_| bad("secret_key_share is not hex"))?,
        );
        let SerdeSecret(share): SerdeSecret<SecretKeyShare> =
            bincode::deserialize(&secret).map_err(|_| bad("secret_key_share is not a share"))?;
        let operator_bytes = Zeroizing::new(
            hex::decode(&w.operator_key).map_err(|_| bad("operator_key is not hex"))?,
        );
        let operator = SigningKey::from_slice(&operator_bytes)
            .map_err(|_| bad("operator_key is not a secp256k1 secret key"))?;
        let mut gid = [0u8; 32];
        hex::decode_to_slice(&w.group_key_id, &mut gid)
            .map_err(|_| bad("group_key_id is not 32 bytes of hex"))?;
        if gid != group.id()
            || w.nodes != group.nodes()
            || w.threshold != group.threshold()
            || w.index >= group.nodes()
            || group.public_key_set().public_key_share(w.index) != share.public_key_share()
            || group.operators()[w.index] != address_of(operator.verifying_key())
        {
            return Err(ShareError::WrongGroup { path: p });
        }
        Ok(Self {
            index: w.index,
            nodes: w.nodes,
            threshold: w.threshold,
            group_key_id: gid,
            share,
            operator,
        })
    }
}

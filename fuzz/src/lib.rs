//! The fuzz targets' fixed world: keys, a licence network, a content and a capsule that never
//! change. `make-corpus` builds the committed seeds from this same fixture, so a seed stays an
//! input that gets past signatures and seals into the deepest checks of its decoder (the share
//! a node sealed to the fixture's capsule opens, the request the fixture's wallet signed
//! verifies), and a crash found once reproduces on any later run.
//!
//! Nothing here is secret: every key is a constant, and this crate is never part of a build of
//! the product (its own workspace, built only by `cargo fuzz`).

use std::sync::OnceLock;

use k256::ecdsa::SigningKey;
use licence_net_protocol::{
    address_of, Address, CapsuleSecret, Expected, GroupKey, LicenceResponse, OpenShare,
    PreparedCiphertext, B256, U256,
};
use rand_chacha02::rand_core::SeedableRng;
use rand_chacha02::ChaChaRng;
use serde::{Deserialize, Serialize};
use threshold_crypto::SecretKeySet;

pub use serde_json;

/// Nodes and threshold of the fixture's licence network.
pub const NODES: usize = 3;
pub const THRESHOLD: usize = 2;
/// The fixture's clock (unix seconds): attestations and requests are judged at this time.
pub const NOW: u64 = 1_800_000_000;
pub const CHAIN_ID: u64 = 20;
/// Largest input a target decodes: the network bounds of the decoders (1 MiB and less) with
/// room to spare; longer inputs only slow the fuzzer down.
pub const MAX_INPUT: usize = 2 << 20;

pub fn access_contract() -> Address {
    Address::repeat_byte(0xAC)
}

/// The creator the `.ddrm` test vectors name (`[0x11; 20]`).
pub fn creator() -> Address {
    Address::repeat_byte(0x11)
}

pub fn content_id() -> U256 {
    U256::from(0x00C0_FFEE_u64)
}

/// The content key of the `.ddrm` test vectors (`packager/format/testdata`): bytes 0, 1, … 31.
pub fn vector_key() -> [u8; 32] {
    std::array::from_fn(|i| i as u8)
}

fn key(byte: u8) -> SigningKey {
    SigningKey::from_bytes(&[byte; 32].into()).expect("a constant in the curve's range")
}

/// The buyer's wallet.
pub fn wallet() -> SigningKey {
    key(7)
}

/// The player runtime that attests capsules.
pub fn runtime_key() -> SigningKey {
    key(9)
}

/// Node `i`'s operator key (signs its responses).
pub fn operator(i: usize) -> SigningKey {
    key(0x40 + i as u8)
}

/// The capsule's key pair.
pub fn capsule() -> CapsuleSecret {
    CapsuleSecret::from_bytes([5; 32])
}

pub fn capsule_key() -> B256 {
    capsule().public_key()
}

/// The fixture's licence network: its group key and the dealt secret key set.
pub struct Network {
    pub group: GroupKey,
    pub secret: SecretKeySet,
}

pub fn network() -> &'static Network {
    static NETWORK: OnceLock<Network> = OnceLock::new();
    NETWORK.get_or_init(|| {
        let secret = SecretKeySet::random(THRESHOLD - 1, &mut ChaChaRng::from_seed([1; 32]));
        let operators = (0..NODES)
            .map(|i| address_of(operator(i).verifying_key()))
            .collect();
        let group = GroupKey::new(secret.public_keys(), NODES, THRESHOLD, operators)
            .expect("the fixture's group is well formed");
        Network { group, secret }
    })
}

/// What the `licence_response` target decodes: a content key's ciphertext (as the `.ddrm`
/// header carries it), the request the responses answer, and the nodes' responses.
#[derive(Debug, Serialize, Deserialize)]
pub struct ResponseCase {
    pub key_ciphertext: String,
    pub request_hash: B256,
    pub responses: Vec<LicenceResponse>,
}

impl ResponseCase {
    /// Runs the capsule's whole recovery over the case: the ciphertext decoded for the
    /// fixture's creator, every response opened with the fixture's capsule key and checked.
    /// True when a content key came out (every seed does).
    pub fn recover(&self) -> bool {
        let Ok(bytes) = hex::decode(&self.key_ciphertext) else {
            return false;
        };
        let Ok(ciphertext) = PreparedCiphertext::decode(&bytes, &creator()) else {
            return false;
        };
        let expected = Expected {
            request_hash: self.request_hash,
            account: address_of(wallet().verifying_key()),
            content_id: content_id(),
        };
        licence_net_protocol::recover_content_key(
            &network().group,
            &ciphertext,
            &expected,
            &self.responses,
            &capsule(),
        )
        .is_ok()
    }
}

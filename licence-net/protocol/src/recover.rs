//! Recovery of the address that made a 65-byte (r ‖ s ‖ v) secp256k1 signature of a 32-byte
//! digest: the one primitive behind wallet, attestation and operator signatures.
//!
//! Pure Rust (k256, through alloy) everywhere, so that the capsule can use it in WASM; with the
//! `native-secp256k1` feature (the node and the native client) libsecp256k1 does the curve work,
//! several times faster. Both accept exactly the same signatures: `v` is 0, 1, 27 or 28, and a
//! high `s` (above half the group order) is refused, as k256 refuses it.

use alloy_primitives::{Address, B256};

/// The signer of `digest`, or `None` when the signature is malformed or does not recover.
pub(crate) fn recover_signer(signature: &[u8], digest: &B256) -> Option<Address> {
    if signature.len() != 65 {
        return None;
    }
    imp::recover(signature, digest)
}

#[cfg(not(feature = "native-secp256k1"))]
mod imp {
    use super::*;
    use alloy_primitives::Signature;

    pub(super) fn recover(signature: &[u8], digest: &B256) -> Option<Address> {
        Signature::from_raw(signature)
            .ok()?
            .recover_address_from_prehash(digest)
            .ok()
    }
}

#[cfg(feature = "native-secp256k1")]
mod imp {
    use super::*;
    use secp256k1::ecdsa::{RecoverableSignature, RecoveryId};
    use secp256k1::{Message, Secp256k1, VerifyOnly};
    use std::sync::OnceLock;

    /// Half the secp256k1 group order: the largest `s` accepted.
    const HALF_ORDER: [u8; 32] = [
        0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b,
        0x20, 0xa0,
    ];

    fn context() -> &'static Secp256k1<VerifyOnly> {
        static CONTEXT: OnceLock<Secp256k1<VerifyOnly>> = OnceLock::new();
        CONTEXT.get_or_init(Secp256k1::verification_only)
    }

    pub(super) fn recover(signature: &[u8], digest: &B256) -> Option<Address> {
        if signature[32..64] > HALF_ORDER[..] {
            return None;
        }
        let v = match signature[64] {
            0 | 27 => 0,
            1 | 28 => 1,
            _ => return None,
        };
        let id = RecoveryId::try_from(v).ok()?;
        let sig = RecoverableSignature::from_compact(&signature[..64], id).ok()?;
        let key = context()
            .recover_ecdsa(&Message::from_digest(digest.0), &sig)
            .ok()?;
        let uncompressed = key.serialize_uncompressed();
        Some(Address::from_raw_public_key(&uncompressed[1..]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::Signature;

    #[test]
    fn recovers_signers_and_refuses_malformed_or_high_s_signatures() {
        for i in 1..40u8 {
            let key = k256::ecdsa::SigningKey::from_slice(&[i; 32]).unwrap();
            let digest = B256::repeat_byte(i.wrapping_mul(7));
            let (sig, recid) = key.sign_prehash_recoverable(digest.as_slice()).unwrap();
            let bytes = Signature::from((sig, recid)).as_bytes();
            let address = crate::address_of(key.verifying_key());
            assert_eq!(recover_signer(&bytes, &digest), Some(address));
            // v as 0/1 too.
            let mut raw = bytes;
            raw[64] -= 27;
            assert_eq!(recover_signer(&raw, &digest), Some(address));
            // The same signature with s → n − s and v flipped: valid math, refused (high s).
            let high = k256::ecdsa::Signature::from_scalars(sig.r(), -*sig.s()).unwrap();
            let mut flipped = bytes;
            flipped[32..64].copy_from_slice(&high.s().to_bytes());
            flipped[64] ^= 1;
            assert_eq!(recover_signer(&flipped, &digest), None);
            assert_ne!(recover_signer(&bytes, &B256::ZERO), Some(address));
            let mut bad_v = bytes;
            bad_v[64] = 29;
            assert_eq!(recover_signer(&bad_v, &digest), None);
            assert_eq!(recover_signer(&bytes[..64], &digest), None);
        }
    }
}

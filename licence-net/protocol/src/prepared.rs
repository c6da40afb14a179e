//! A labelled key ciphertext, prepared once for the pairing checks of every licence for it.
//!
//! A threshold_crypto ciphertext is `(U, V, W)` with `U = g1^r`, `V = K ⊕ stream(pk^r)` and a
//! validity proof `W = H^r` on a point `H` of G2 derived from the ciphertext. threshold_crypto
//! derives `H` from `(U, V)` alone, so the same ciphertext is valid for any content id anybody
//! registers it under: the licence network would decrypt one creator's key for another
//! account's "alias" registration. Here `H` is derived from the ciphertext *and its label*, the
//! creator's account:
//!
//! `H_L = G2::random(ChaCha20(seed = SHA3-256("ddrm/key-label/v1" ‖ creator ‖ SHA3-256(V) ‖ compressed U)))`
//!
//! and the packager makes `W = H_L^r`. Making a valid `W'` for another label needs `r` (the
//! computational Diffie–Hellman problem in the pairing groups), and knowing `r` means knowing K
//! already. So a node that checks the proof against the registered creator of the content asked
//! for decrypts only ciphertexts made for that creator. `U` and `V` are threshold_crypto's own,
//! so its decryption shares and combination work unchanged.
//!
//! Checks: a decryption share `d_i` of this ciphertext satisfies `e(d_i, H_L) = e(pk_i, W)`;
//! the ciphertext itself `e(g1, W) = e(U, H_L)`. Deriving `H_L` (a cofactor multiplication in G2)
//! and preparing `H_L` and `W` for the Miller loop depend on the ciphertext only, so they are
//! done once here; each check is then one two-pair Miller loop and one final exponentiation.
//!
//! The combined check: shares of `t` distinct nodes interpolate (Lagrange at 0, node `i` at
//! `x = i + 1`) to `D`; `e(D, H) = e(pk, W)` for the group's master key `pk` holds exactly when
//! `D = U^sk`, the value the content key is derived from. One check then replaces `t`.
//!
//! `D` is the same for every licence of a ciphertext, so once a combination verified, a
//! SHA-256 of it is kept: a later combination that hashes to the same value is that same
//! verified point (by collision resistance) and needs no pairing. Only the hash is kept, never
//! `D` (from which the content key follows).

use std::sync::OnceLock;

use rand_chacha02::rand_core::SeedableRng;
use rand_chacha02::ChaChaRng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use threshold_crypto::ff::{Field, PrimeField};
use threshold_crypto::group::{CurveAffine, CurveProjective, EncodedPoint};
use threshold_crypto::pairing::bls12_381::{
    Bls12, Fq12, Fr, FrRepr, G1Affine, G1Compressed, G2Affine, G2Compressed, G1, G2,
};
use threshold_crypto::pairing::{Engine, PairingCurveAffine};
use threshold_crypto::{Ciphertext, DecryptionShare, PublicKey, PublicKeyShare};
use tiny_keccak::{Hasher, Sha3};

use crate::group::parse_ciphertext;
use crate::{Address, ProtocolError};

type G1Prepared = <G1Affine as PairingCurveAffine>::Prepared;
type G2Prepared = <G2Affine as PairingCurveAffine>::Prepared;

const G1_LEN: usize = 48;
const G2_LEN: usize = 96;
const LABEL_DOMAIN: &[u8] = b"ddrm/key-label/v1";

/// `H_L`, the point a ciphertext's validity proof is made on, for the label `creator`.
pub(crate) fn label_point(creator: &Address, u_compressed: &[u8], v: &[u8]) -> G2Affine {
    let seed = sha3_256(&[
        LABEL_DOMAIN,
        creator.as_slice(),
        &sha3_256(&[v]),
        u_compressed,
    ]);
    G2::random(&mut ChaChaRng::from_seed(seed)).into_affine()
}

/// The parts of a bincode-encoded ciphertext: compressed `U`, `V`, compressed `W`.
/// Layout: `U (48) ‖ len(V) u64 LE ‖ V ‖ W (96)`; the caller checked the lengths add up.
pub(crate) fn split_ciphertext(bytes: &[u8]) -> Option<(&[u8], &[u8], &[u8])> {
    let u = bytes.get(..G1_LEN)?;
    let w = bytes.get(bytes.len().checked_sub(G2_LEN)?..)?;
    let v = bytes.get(G1_LEN + 8..bytes.len() - G2_LEN)?;
    Some((u, v, w))
}

/// A key ciphertext whose validity proof checked for its label, with its pairing inputs prepared.
#[derive(Clone)]
pub struct PreparedCiphertext {
    ciphertext: Ciphertext,
    h: G2Prepared,
    w: G2Prepared,
    /// SHA-256 of the compressed full decryption once a combination verified.
    verified: OnceLock<[u8; 32]>,
}

impl std::fmt::Debug for PreparedCiphertext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedCiphertext").finish_non_exhaustive()
    }
}

fn sha3_256(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha3::v256();
    for p in parts {
        h.update(p);
    }
    let mut out = [0u8; 32];
    h.finalize(&mut out);
    out
}

/// `e(a, b) · e(c, d) = 1`, with one final exponentiation.
fn product_is_one(a: &G1Prepared, b: &G2Prepared, c: &G1Prepared, d: &G2Prepared) -> bool {
    Bls12::final_exponentiation(&Bls12::miller_loop([(a, b), (c, d)].iter()))
        .is_some_and(|r| r == Fq12::one())
}

/// The G1 point of a decryption share (deserialized, hence checked, when it was opened).
fn share_point(share: &DecryptionShare) -> Option<G1Affine> {
    let bytes = bincode::serialize(share).ok()?;
    point_g1(&bytes)
}

fn point_g1(bytes: &[u8]) -> Option<G1Affine> {
    let mut c = G1Compressed::empty();
    c.as_mut().copy_from_slice(bytes.get(..G1_LEN)?);
    c.into_affine().ok()
}

fn key_point(pk: &PublicKey) -> Option<G1Affine> {
    point_g1(&pk.to_bytes())
}

impl PreparedCiphertext {
    /// Decodes a key ciphertext (bincode, as in the `.ddrm` header), checks its validity proof
    /// for the label `creator` (the content's registered creator account) and prepares it. A
    /// ciphertext made for another creator fails with [`ProtocolError::CiphertextInvalid`].
    pub fn decode(bytes: &[u8], creator: &Address) -> Result<Self, ProtocolError> {
        let ciphertext = parse_ciphertext(bytes)?;
        let bad = || ProtocolError::CiphertextEncoding;
        let (u_bytes, v, w_bytes) = split_ciphertext(bytes).ok_or_else(bad)?;
        let u = point_g1(u_bytes).ok_or_else(bad)?;
        let mut wc = G2Compressed::empty();
        wc.as_mut().copy_from_slice(w_bytes);
        let w = wc.into_affine().map_err(|_| bad())?;
        let h = label_point(creator, u_bytes, v);
        let mut neg_u = u;
        neg_u.negate();
        // The validity equation with our H: e(g1, W) · e(−U, H) = 1.
        if !product_is_one(
            &G1Affine::one().prepare(),
            &w.prepare(),
            &neg_u.prepare(),
            &h.prepare(),
        ) {
            return Err(ProtocolError::CiphertextInvalid);
        }
        Ok(Self {
            ciphertext,
            h: h.prepare(),
            w: w.prepare(),
            verified: OnceLock::new(),
        })
    }

    pub fn ciphertext(&self) -> &Ciphertext {
        &self.ciphertext
    }

    /// `e(d, H) = e(key, W)`: `d` is the decryption of this ciphertext under `key`'s secret.
    fn check(&self, d: &G1Affine, key: &G1Affine) -> bool {
        let mut neg_key = *key;
        neg_key.negate();
        product_is_one(&d.prepare(), &self.h, &neg_key.prepare(), &self.w)
    }

    /// Checks one node's decryption share (same result as threshold_crypto's
    /// `verify_decryption_share`).
    pub fn verify_share(&self, key: &PublicKeyShare, share: &DecryptionShare) -> bool {
        let (Some(d), Ok(k)) = (share_point(share), PublicKey::from_bytes(key.to_bytes())) else {
            return false;
        };
        key_point(&k).is_some_and(|k| self.check(&d, &k))
    }

    /// Interpolates shares of distinct nodes (0-based index, exactly the threshold's number) to
    /// the full decryption and checks it against the group's master key.
    pub fn verify_combined(&self, master: &PublicKey, shares: &[(usize, DecryptionShare)]) -> bool {
        let Some(key) = key_point(master) else {
            return false;
        };
        let xs: Vec<Fr> = shares.iter().map(|(i, _)| fr(*i as u64 + 1)).collect();
        let mut combined = G1::zero();
        for (j, (_, share)) in shares.iter().enumerate() {
            let Some(d) = share_point(share) else {
                return false;
            };
            let mut num = Fr::one();
            let mut den = Fr::one();
            for (m, xm) in xs.iter().enumerate() {
                if m == j {
                    continue;
                }
                num.mul_assign(xm);
                let mut diff = *xm;
                diff.sub_assign(&xs[j]);
                den.mul_assign(&diff);
            }
            let Some(inv) = den.inverse() else {
                return false; // two shares with the same index
            };
            num.mul_assign(&inv);
            combined.add_assign(&d.mul(num.into_repr()));
        }
        let combined = combined.into_affine();
        let digest: [u8; 32] = Sha256::digest(combined.into_compressed().as_ref()).into();
        if let Some(known) = self.verified.get() {
            return bool::from(known.ct_eq(&digest));
        }
        let ok = self.check(&combined, &key);
        if ok {
            let _ = self.verified.set(digest);
        }
        ok
    }
}

fn fr(x: u64) -> Fr {
    Fr::from_repr(FrRepr::from(x)).expect("a small integer is a field element")
}

#[cfg(test)]
mod tests {
    use super::*;
    use threshold_crypto::SecretKeySet;

    fn set() -> SecretKeySet {
        SecretKeySet::random(2, &mut rand07::thread_rng())
    }

    const CREATOR: Address = Address::repeat_byte(0xC1);

    fn encrypt(pks: &threshold_crypto::PublicKeySet, msg: &[u8]) -> Vec<u8> {
        let group = crate::GroupKey::new(pks.clone(), 5, 3, vec![Address::repeat_byte(1); 5])
            .expect("a 3-of-5 group");
        group.encrypt(&CREATOR, msg).expect("encrypts")
    }

    #[test]
    fn agrees_with_threshold_crypto_on_shares_and_combinations() {
        let sks = set();
        let pks = sks.public_keys();
        let other = set();
        // Short and long (> 64 bytes, hashed) messages take both branches of H's derivation.
        for msg in [vec![7u8; 32], vec![9u8; 100]] {
            let bytes = encrypt(&pks, &msg);
            let p = PreparedCiphertext::decode(&bytes, &CREATOR).unwrap();
            let ct = p.ciphertext();
            let shares: Vec<_> = (0..5)
                .map(|i| (i, sks.secret_key_share(i).decrypt_share_no_verify(ct)))
                .collect();
            let bad = other.secret_key_share(1).decrypt_share_no_verify(ct);
            for (i, s) in &shares {
                let pk = pks.public_key_share(*i);
                // threshold_crypto checks shares against its unlabelled point: it refuses them.
                assert!(!pk.verify_decryption_share(s, ct));
                assert!(p.verify_share(&pk, s));
                assert!(!p.verify_share(&pk, &bad));
                assert!(!p.verify_share(&pks.public_key_share(i + 1), s));
            }
            let master = pks.public_key();
            assert!(p.verify_combined(&master, &shares[..3]));
            assert!(p.verify_combined(
                &master,
                &[shares[4].clone(), shares[0].clone(), shares[2].clone()]
            ));
            // Again, from the remembered verified combination (no pairing), same answers.
            assert!(p.verify_combined(&master, &shares[1..4]));
            let mut tampered = shares[..3].to_vec();
            tampered[1].1 = bad.clone();
            assert!(!p.verify_combined(&master, &tampered));
            let mut misnamed = shares[..3].to_vec();
            misnamed[2].0 = 3;
            assert!(!p.verify_combined(&master, &misnamed));
            assert_eq!(
                pks.decrypt(shares[..3].iter().map(|(i, s)| (*i, s)), ct)
                    .unwrap(),
                msg
            );
        }
    }

    #[test]
    fn a_wrong_combination_is_refused_before_and_after_a_right_one() {
        let sks = set();
        let pks = sks.public_keys();
        let bytes = encrypt(&pks, &[3u8; 32]);
        let p = PreparedCiphertext::decode(&bytes, &CREATOR).unwrap();
        let shares: Vec<_> = (0..3)
            .map(|i| {
                (
                    i,
                    sks.secret_key_share(i)
                        .decrypt_share_no_verify(p.ciphertext()),
                )
            })
            .collect();
        let mut wrong = shares.clone();
        wrong[0].1 = set()
            .secret_key_share(0)
            .decrypt_share_no_verify(p.ciphertext());
        let master = pks.public_key();
        assert!(!p.verify_combined(&master, &wrong));
        assert!(p.verify_combined(&master, &shares));
        assert!(!p.verify_combined(&master, &wrong));
        assert!(p.verify_combined(&master, &shares));
    }

    #[test]
    fn an_invalid_ciphertext_is_refused() {
        let pks = set().public_keys();
        let mut bytes = encrypt(&pks, &[1u8; 32]);
        // Flip a byte of V: the validity proof no longer holds.
        bytes[G1_LEN + 8 + 3] ^= 1;
        assert!(matches!(
            PreparedCiphertext::decode(&bytes, &CREATOR),
            Err(ProtocolError::CiphertextInvalid)
        ));
    }

    /// The alias attack at its root: the ciphertext of one creator's content, presented under
    /// any other account's label, fails its proof; so does threshold_crypto's own unlabelled
    /// check (nothing can verify it without the label).
    #[test]
    fn a_ciphertext_is_valid_only_for_its_creator() {
        let pks = set().public_keys();
        let bytes = encrypt(&pks, &[5u8; 32]);
        assert!(PreparedCiphertext::decode(&bytes, &CREATOR).is_ok());
        for other in [Address::ZERO, Address::repeat_byte(0xC2)] {
            assert!(matches!(
                PreparedCiphertext::decode(&bytes, &other),
                Err(ProtocolError::CiphertextInvalid)
            ));
        }
        assert!(!crate::group::parse_ciphertext(&bytes).unwrap().verify());
        // An unlabelled threshold_crypto ciphertext is refused too.
        let plain = bincode::serialize(&pks.public_key().encrypt([5u8; 32])).unwrap();
        assert!(matches!(
            PreparedCiphertext::decode(&plain, &CREATOR),
            Err(ProtocolError::CiphertextInvalid)
        ));
    }
}

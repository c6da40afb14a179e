//! TPM 2.0 evidence: what a `tpm2-p256` runtime sends instead of a secp256k1 signature, and
//! how a node checks it.
//!
//! A TPM-backed runtime holds a restricted P-256 signing key created inside its TPM (it never
//! leaves the TPM in the clear). To attest a capsule it resets PCR 23, extends it with the
//! capsule's measurement, and asks the TPM for a quote over PCR 23 whose `qualifyingData` is
//! the attestation digest (measurement ‖ capsule key ‖ time, [`crate::Attestation::digest`]).
//! The evidence is the key's public area (`TPMT_PUBLIC`), the quote (`TPMS_ATTEST`) and its
//! ECDSA signature. A restricted key signs only structures the TPM made itself, so a valid
//! quote says: this TPM, whose key has this public area, saw PCR 23 hold `SHA-256(0³² ‖
//! measurement)` and was asked about this digest.
//!
//! What it does not say: who extended PCR 23. Any program on the machine may reset and extend
//! it (PROTOCOL.md, "Hardware-backed runtime keys"). What the TPM adds over a key file is that
//! the key cannot be copied off the machine.
//!
//! The runtime's id (what `CapsuleRegistry.approveRuntime` approves) is
//! `keccak256(x ‖ y)[12..]` of the key's public point, an address-shaped id that cannot collide
//! with a secp256k1 key's address without breaking keccak.
//!
//! Parsing is strict and bounded: every size is read before the bytes it counts, every field
//! must hold the one value ddrm's runtime uses, and nothing may trail.

use alloy_primitives::{keccak256, Address, B256};
use p256::ecdsa::signature::Verifier;
use sha2::{Digest, Sha256};

/// The PCR a runtime extends with the capsule measurement (PC Client: resettable, locality 0).
pub const QUOTE_PCR: u8 = 23;
/// Longest `TPMT_PUBLIC` or `TPMS_ATTEST` accepted (an ECC key's public area is under 100 bytes,
/// a one-PCR quote under 200).
pub const MAX_TPM_STRUCTURE: usize = 512;

const TPM_GENERATED_VALUE: u32 = 0xff54_4347;
/// `TPMS_CLOCK_INFO`: clock u64, resetCount u32, restartCount u32, safe u8.
const CLOCK_INFO_LEN: usize = 8 + 4 + 4 + 1;
/// `TPMS_ATTEST.firmwareVersion`: u64.
const FIRMWARE_VERSION_LEN: usize = 8;
const TPM_ST_ATTEST_QUOTE: u16 = 0x8018;
const TPM_ALG_ECC: u16 = 0x0023;
const TPM_ALG_SHA256: u16 = 0x000b;
const TPM_ALG_NULL: u16 = 0x0010;
const TPM_ALG_ECDSA: u16 = 0x0018;
const TPM_ECC_NIST_P256: u16 = 0x0003;

/// `TPMA_OBJECT` bits a runtime key must have: fixedTPM, fixedParent, sensitiveDataOrigin,
/// restricted, sign; and must not have: decrypt.
const ATTR_FIXED_TPM: u32 = 1 << 1;
const ATTR_FIXED_PARENT: u32 = 1 << 4;
const ATTR_SENSITIVE_DATA_ORIGIN: u32 = 1 << 5;
const ATTR_RESTRICTED: u32 = 1 << 16;
const ATTR_DECRYPT: u32 = 1 << 17;
const ATTR_SIGN: u32 = 1 << 18;
const ATTR_REQUIRED: u32 =
    ATTR_FIXED_TPM | ATTR_FIXED_PARENT | ATTR_SENSITIVE_DATA_ORIGIN | ATTR_RESTRICTED | ATTR_SIGN;

/// Why TPM evidence was refused. The text names the field, never echoes its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TpmEvidenceError {
    #[error("the TPM {0} is truncated or too long")]
    Length(&'static str),
    #[error("the TPM key is not what a ddrm runtime key must be: {0}")]
    Key(&'static str),
    #[error("the TPM quote is not a quote of the expected kind: {0}")]
    Quote(&'static str),
    #[error("the TPM quote is about another attestation digest")]
    Digest,
    #[error("the TPM quote's PCR 23 does not hold the capsule measurement")]
    Pcr,
    #[error("the TPM quote's signature does not verify")]
    Signature,
}

/// The part of a runtime key's `TPMT_PUBLIC` a node uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TpmPublic {
    /// The SEC1 uncompressed point `04 ‖ x ‖ y`.
    pub point: [u8; 65],
}

impl TpmPublic {
    /// Parses and checks a marshalled `TPMT_PUBLIC`: an ECC P-256, SHA-256-named, restricted
    /// ECDSA-SHA-256 signing key that the TPM made and cannot export.
    pub fn parse(bytes: &[u8]) -> Result<Self, TpmEvidenceError> {
        let mut r = Reader::bounded(bytes, "key public area")?;
        let key = TpmEvidenceError::Key;
        if r.u16()? != TPM_ALG_ECC {
            return Err(key("not an ECC key"));
        }
        if r.u16()? != TPM_ALG_SHA256 {
            return Err(key("its name is not SHA-256"));
        }
        let attributes = r.u32()?;
        if attributes & ATTR_REQUIRED != ATTR_REQUIRED || attributes & ATTR_DECRYPT != 0 {
            return Err(key(
                "not a restricted, non-exportable, TPM-generated signing key",
            ));
        }
        let _auth_policy = r.sized()?;
        if r.u16()? != TPM_ALG_NULL {
            return Err(key("it has a symmetric algorithm (a storage key)"));
        }
        if r.u16()? != TPM_ALG_ECDSA || r.u16()? != TPM_ALG_SHA256 {
            return Err(key("its scheme is not ECDSA with SHA-256"));
        }
        if r.u16()? != TPM_ECC_NIST_P256 {
            return Err(key("its curve is not NIST P-256"));
        }
        if r.u16()? != TPM_ALG_NULL {
            return Err(key("it has a key derivation scheme"));
        }
        let mut point = [0u8; 65];
        point[0] = 4;
        left_pad(r.sized()?, &mut point[1..33]).map_err(|()| key("x is longer than 32 bytes"))?;
        left_pad(r.sized()?, &mut point[33..]).map_err(|()| key("y is longer than 32 bytes"))?;
        r.end()?;
        Ok(Self { point })
    }

    /// The runtime id approved on chain: `keccak256(x ‖ y)[12..]`.
    pub fn runtime_id(&self) -> Address {
        Address::from_slice(&keccak256(&self.point[1..])[12..])
    }
}

/// The value PCR 23 holds after a reset and one extend with `measurement` (SHA-256 bank).
pub fn expected_pcr(measurement: &B256) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([0u8; 32]);
    h.update(measurement);
    h.finalize().into()
}

/// Checks a quote (`attest`, a marshalled `TPMS_ATTEST`) and its signature (`r ‖ s`, 64 bytes)
/// against a key's public area: made by that key, about `digest`, with PCR 23 (and only it)
/// holding [`expected_pcr`] of `measurement`.
pub fn verify_quote(
    public: &TpmPublic,
    attest: &[u8],
    signature: &[u8],
    digest: &B256,
    measurement: &B256,
) -> Result<(), TpmEvidenceError> {
    let mut r = Reader::bounded(attest, "quote")?;
    // The signature first: every other field is only worth reading once the TPM said it.
    #[cfg(feature = "native-p256")]
    verify_p256_ring(&public.point, attest, signature)?;
    #[cfg(not(feature = "native-p256"))]
    verify_p256_rust(&public.point, attest, signature)?;

    let quote = TpmEvidenceError::Quote;
    if r.u32()? != TPM_GENERATED_VALUE {
        return Err(quote("it was not generated by a TPM"));
    }
    if r.u16()? != TPM_ST_ATTEST_QUOTE {
        return Err(quote("it is another kind of attestation"));
    }
    // qualifiedSigner: the key's qualified name, a hash over its parents' names too. Not
    // compared: the signature, checked above with the public area's point, already binds the
    // quote to the key.
    let _qualified_signer = r.sized()?;
    if r.sized()? != digest.as_slice() {
        return Err(TpmEvidenceError::Digest);
    }
    // Not used: freshness comes from the digest's time, which the node checks.
    r.skip(CLOCK_INFO_LEN + FIRMWARE_VERSION_LEN)?;
    if r.u32()? != 1 || r.u16()? != TPM_ALG_SHA256 {
        return Err(quote("it does not select exactly the SHA-256 bank"));
    }
    let size_of_select = r.u8()?;
    let select = r.take(usize::from(size_of_select))?;
    let mut want = [0u8; 3];
    want[usize::from(QUOTE_PCR / 8)] = 1 << (QUOTE_PCR % 8);
    if select != want {
        return Err(quote("it does not select exactly PCR 23"));
    }
    let pcr_digest: [u8; 32] = Sha256::digest(expected_pcr(measurement)).into();
    if r.sized()? != pcr_digest.as_slice() {
        return Err(TpmEvidenceError::Pcr);
    }
    r.end()
}

/// ECDSA-P-256-SHA-256 of `message` by `point`, `signature` = r ‖ s, with the pure-Rust `p256`
/// crate: the capsule's wasm build, and native builds without `native-p256` (where it is kept
/// for the test that both paths agree).
#[cfg_attr(all(feature = "native-p256", not(test)), allow(dead_code))]
fn verify_p256_rust(
    point: &[u8; 65],
    message: &[u8],
    signature: &[u8],
) -> Result<(), TpmEvidenceError> {
    let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(point)
        .map_err(|_| TpmEvidenceError::Key("its point is not on P-256"))?;
    let sig =
        p256::ecdsa::Signature::from_slice(signature).map_err(|_| TpmEvidenceError::Signature)?;
    vk.verify(message, &sig)
        .map_err(|_| TpmEvidenceError::Signature)
}

/// The same check with ring's assembly P-256 (feature `native-p256`: nodes verify one quote per
/// request from a TPM-held runtime, about ten times faster than the pure-Rust path here).
#[cfg(feature = "native-p256")]
fn verify_p256_ring(
    point: &[u8; 65],
    message: &[u8],
    signature: &[u8],
) -> Result<(), TpmEvidenceError> {
    ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_FIXED, point)
        .verify(message, signature)
        .map_err(|_| TpmEvidenceError::Signature)
}

fn left_pad(value: &[u8], out: &mut [u8]) -> Result<(), ()> {
    if value.len() > out.len() {
        return Err(());
    }
    let start = out.len() - value.len();
    out[start..].copy_from_slice(value);
    Ok(())
}

/// A bounded big-endian reader over a TPM structure.
struct Reader<'a> {
    bytes: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    /// A reader of `what`, refused outright when longer than [`MAX_TPM_STRUCTURE`].
    fn bounded(bytes: &'a [u8], what: &'static str) -> Result<Self, TpmEvidenceError> {
        if bytes.len() > MAX_TPM_STRUCTURE {
            return Err(TpmEvidenceError::Length(what));
        }
        Ok(Self { bytes, what })
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], TpmEvidenceError> {
        if self.bytes.len() < n {
            return Err(TpmEvidenceError::Length(self.what));
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }

    fn skip(&mut self, n: usize) -> Result<(), TpmEvidenceError> {
        self.take(n).map(|_| ())
    }

    fn u8(&mut self) -> Result<u8, TpmEvidenceError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, TpmEvidenceError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, TpmEvidenceError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A `TPM2B_*`: a u16 size, then that many bytes.
    fn sized(&mut self) -> Result<&'a [u8], TpmEvidenceError> {
        let n = self.u16()?;
        self.take(usize::from(n))
    }

    fn end(&self) -> Result<(), TpmEvidenceError> {
        if self.bytes.is_empty() {
            Ok(())
        } else {
            Err(TpmEvidenceError::Length(self.what))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Attestation, ProtocolError, RuntimeKind};
    use p256::ecdsa::signature::Signer;

    /// A real attestation by a restricted P-256 key in swtpm 0.7 (made with
    /// `player::runtime::RuntimeKey::load_or_create_tpm` and `attest`).
    fn vector() -> Attestation {
        serde_json::from_str(include_str!("../testdata/tpm2-attestation.json")).unwrap()
    }

    fn evidence_error(a: &Attestation, now: u64) -> TpmEvidenceError {
        match a.verify(now) {
            Err(ProtocolError::AttestationEvidence(e)) => e,
            other => panic!("expected a TPM evidence error, got {other:?}"),
        }
    }

    #[test]
    fn a_real_tpm_quote_verifies_and_names_its_key() {
        let a = vector();
        assert_eq!(a.kind, RuntimeKind::Tpm2P256);
        a.verify(a.issued_at + 1).unwrap();
        let public = TpmPublic::parse(&a.tpm.as_ref().unwrap().public).unwrap();
        assert_eq!(public.runtime_id(), a.runtime);
        // The hash a wallet signs covers the kind and the evidence.
        let mut file_kind = a.clone();
        file_kind.kind = RuntimeKind::FileSecp256k1;
        assert_ne!(file_kind.hash(), a.hash());
        let mut other_quote = a.clone();
        other_quote.tpm.as_mut().unwrap().quote = vec![0u8; 4].into();
        assert_ne!(other_quote.hash(), a.hash());
    }

    /// Both P-256 implementations accept the real quote and refuse a changed one.
    #[test]
    fn both_p256_paths_agree_on_the_real_quote() {
        let a = vector();
        let e = a.tpm.as_ref().unwrap();
        let point = TpmPublic::parse(&e.public).unwrap().point;
        let mut changed = e.quote.to_vec();
        changed[10] ^= 1;
        type Check = fn(&[u8; 65], &[u8], &[u8]) -> Result<(), TpmEvidenceError>;
        let checks: &[Check] = &[
            verify_p256_rust,
            #[cfg(feature = "native-p256")]
            verify_p256_ring,
        ];
        for check in checks {
            check(&point, &e.quote, &a.signature).unwrap();
            assert_eq!(
                check(&point, &changed, &a.signature),
                Err(TpmEvidenceError::Signature)
            );
        }
    }

    #[test]
    fn a_changed_real_quote_is_refused() {
        let a = vector();
        let now = a.issued_at + 1;
        // Another capsule key or measurement: the quote is about another digest.
        let mut b = a.clone();
        b.capsule_key = B256::repeat_byte(0x43);
        assert_eq!(evidence_error(&b, now), TpmEvidenceError::Digest);
        let mut b = a.clone();
        b.measurement = B256::repeat_byte(1);
        assert_eq!(evidence_error(&b, now), TpmEvidenceError::Digest);
        // Any changed byte of the quote or the signature.
        let mut b = a.clone();
        let mut quote = b.tpm.as_ref().unwrap().quote.to_vec();
        quote[40] ^= 1;
        b.tpm.as_mut().unwrap().quote = quote.into();
        assert_eq!(evidence_error(&b, now), TpmEvidenceError::Signature);
        let mut b = a.clone();
        let mut sig = b.signature.to_vec();
        sig[5] ^= 1;
        b.signature = sig.into();
        assert_eq!(evidence_error(&b, now), TpmEvidenceError::Signature);
        // Another runtime id than the key's.
        let mut b = a.clone();
        b.runtime = Address::repeat_byte(7);
        assert!(matches!(
            b.verify(now),
            Err(ProtocolError::AttestationSignature)
        ));
        // Evidence that does not match the kind, either way.
        let mut b = a.clone();
        b.kind = RuntimeKind::FileSecp256k1;
        assert!(matches!(b.verify(now), Err(ProtocolError::AttestationKind)));
        let mut b = a.clone();
        b.tpm = None;
        assert!(matches!(b.verify(now), Err(ProtocolError::AttestationKind)));
        // Old is old, whatever signed it.
        assert!(matches!(
            a.verify(a.issued_at + 2 * 3600),
            Err(ProtocolError::AttestationTime(_))
        ));
    }

    /// Quotes a software key signs, to reach every check behind the signature.
    struct Forger {
        key: p256::ecdsa::SigningKey,
        public: Vec<u8>,
    }

    impl Forger {
        fn new(attributes: u32) -> Self {
            let key = p256::ecdsa::SigningKey::from_slice(&[0x11; 32]).unwrap();
            let point = key.verifying_key().to_encoded_point(false);
            let mut public = Vec::new();
            public.extend_from_slice(&TPM_ALG_ECC.to_be_bytes());
            public.extend_from_slice(&TPM_ALG_SHA256.to_be_bytes());
            public.extend_from_slice(&attributes.to_be_bytes());
            public.extend_from_slice(&0u16.to_be_bytes());
            for v in [
                TPM_ALG_NULL,
                TPM_ALG_ECDSA,
                TPM_ALG_SHA256,
                TPM_ECC_NIST_P256,
                TPM_ALG_NULL,
            ] {
                public.extend_from_slice(&v.to_be_bytes());
            }
            for coordinate in [point.x().unwrap(), point.y().unwrap()] {
                public.extend_from_slice(&32u16.to_be_bytes());
                public.extend_from_slice(coordinate);
            }
            Self { key, public }
        }

        fn quote(&self, digest: &B256, select: &[u8], pcr_digest: &[u8]) -> Vec<u8> {
            let mut q = Vec::new();
            q.extend_from_slice(&TPM_GENERATED_VALUE.to_be_bytes());
            q.extend_from_slice(&TPM_ST_ATTEST_QUOTE.to_be_bytes());
            q.extend_from_slice(&2u16.to_be_bytes());
            q.extend_from_slice(&[0, 0]);
            q.extend_from_slice(&32u16.to_be_bytes());
            q.extend_from_slice(digest.as_slice());
            q.extend_from_slice(&[0u8; 25]);
            q.extend_from_slice(&1u32.to_be_bytes());
            q.extend_from_slice(&TPM_ALG_SHA256.to_be_bytes());
            q.push(select.len() as u8);
            q.extend_from_slice(select);
            q.extend_from_slice(&(pcr_digest.len() as u16).to_be_bytes());
            q.extend_from_slice(pcr_digest);
            q
        }

        fn check(&self, quote: &[u8], digest: &B256, m: &B256) -> Result<(), TpmEvidenceError> {
            let sig: p256::ecdsa::Signature = self.key.sign(quote);
            let public = TpmPublic::parse(&self.public)?;
            verify_quote(&public, quote, &sig.to_bytes(), digest, m)
        }
    }

    #[test]
    fn every_field_behind_the_signature_is_checked() {
        let m = B256::repeat_byte(5);
        let d = B256::repeat_byte(6);
        let good_pcr: [u8; 32] = Sha256::digest(expected_pcr(&m)).into();
        let f = Forger::new(ATTR_REQUIRED);
        f.check(&f.quote(&d, &[0, 0, 0x80], &good_pcr), &d, &m)
            .unwrap();

        let other_pcr: [u8; 32] = Sha256::digest(expected_pcr(&B256::ZERO)).into();
        assert_eq!(
            f.check(&f.quote(&d, &[0, 0, 0x80], &other_pcr), &d, &m),
            Err(TpmEvidenceError::Pcr)
        );
        assert!(matches!(
            f.check(&f.quote(&d, &[0, 0, 0xc0], &good_pcr), &d, &m),
            Err(TpmEvidenceError::Quote(_))
        ));
        assert!(matches!(
            f.check(&f.quote(&d, &[1, 0, 0x80], &good_pcr), &d, &m),
            Err(TpmEvidenceError::Quote(_))
        ));
        let mut trailing = f.quote(&d, &[0, 0, 0x80], &good_pcr);
        trailing.push(0);
        assert_eq!(
            f.check(&trailing, &d, &m),
            Err(TpmEvidenceError::Length("quote"))
        );
        let mut not_tpm = f.quote(&d, &[0, 0, 0x80], &good_pcr);
        not_tpm[0] = 0;
        assert!(matches!(
            f.check(&not_tpm, &d, &m),
            Err(TpmEvidenceError::Quote(_))
        ));
        let long = vec![0u8; MAX_TPM_STRUCTURE + 1];
        assert_eq!(
            f.check(&long, &d, &m),
            Err(TpmEvidenceError::Length("quote"))
        );
        // A truncated quote whose signature is valid: the reader stops at the end.
        let quote = f.quote(&d, &[0, 0, 0x80], &good_pcr);
        assert_eq!(
            f.check(&quote[..quote.len() - 1], &d, &m),
            Err(TpmEvidenceError::Length("quote"))
        );
    }

    #[test]
    fn a_key_that_could_leave_the_tpm_or_decrypt_is_refused() {
        for attributes in [
            ATTR_REQUIRED & !ATTR_FIXED_TPM,
            ATTR_REQUIRED & !ATTR_RESTRICTED,
            ATTR_REQUIRED & !ATTR_SENSITIVE_DATA_ORIGIN,
            ATTR_REQUIRED | ATTR_DECRYPT,
        ] {
            let f = Forger::new(attributes);
            assert!(matches!(
                TpmPublic::parse(&f.public),
                Err(TpmEvidenceError::Key(_))
            ));
        }
        let f = Forger::new(ATTR_REQUIRED);
        let mut p256_curve_changed = f.public.clone();
        // The curve id sits after type, nameAlg, attributes, empty policy, symmetric, scheme.
        p256_curve_changed[16..18].copy_from_slice(&4u16.to_be_bytes());
        assert!(matches!(
            TpmPublic::parse(&p256_curve_changed),
            Err(TpmEvidenceError::Key(_))
        ));
        assert_eq!(
            TpmPublic::parse(&f.public[..f.public.len() - 1]),
            Err(TpmEvidenceError::Length("key public area"))
        );
    }
}

//! Sealing: AES-256-GCM for segments and for the header, under keys derived from the content key.
//!
//! - segment key = HKDF-SHA256(ikm = content key, salt = file salt, info = "ddrm/v1/segment")
//! - header key  = HKDF-SHA256(ikm = content key, salt = file salt, info = "ddrm/v1/header")
//! - segment nonce = track (u32, big-endian) || index (u64, big-endian): unique per file key
//! - segment AAD binds the file salt, track, index, pts, duration and flags, so a segment cannot be
//!   moved to another place, another track or another file
//! - header tag = GCM tag over empty plaintext with AAD = preamble || header body, zero nonce
//!   (the header key seals exactly one message)

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use hkdf::Hkdf;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::header::{SegmentEntry, TAG_LEN};
use crate::FormatError;

const SEGMENT_INFO: &[u8] = b"ddrm/v1/segment";
const HEADER_INFO: &[u8] = b"ddrm/v1/header";
const SEGMENT_AAD_DOMAIN: &[u8] = b"ddrm/v1/seg";

/// A 256-bit content key. Zeroized on drop; never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct ContentKey([u8; 32]);

impl ContentKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
    /// Parses 64 hex digits (optionally `0x`-prefixed, surrounding white space ignored).
    pub fn from_hex(s: &str) -> Result<Self, FormatError> {
        let s = s.trim();
        let s = s.strip_prefix("0x").unwrap_or(s);
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).map_err(|_| FormatError::BadKeyEncoding)?;
        Ok(Self(out))
    }
    /// 64 lower-case hex digits. The caller owns the secrecy of the result.
    pub fn to_hex(&self) -> zeroize::Zeroizing<String> {
        zeroize::Zeroizing::new(hex::encode(self.0))
    }
}

impl PartialEq for ContentKey {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl std::fmt::Debug for ContentKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ContentKey(..)")
    }
}

/// The per-file ciphers derived from a content key and a file salt.
pub struct Sealer {
    salt: [u8; 32],
    segment: Aes256Gcm,
    header: Aes256Gcm,
}

impl Sealer {
    pub fn new(key: &ContentKey, salt: &[u8; 32]) -> Self {
        let hk = Hkdf::<Sha256>::new(Some(salt), &key.0);
        let mut seg = zeroize::Zeroizing::new([0u8; 32]);
        let mut hdr = zeroize::Zeroizing::new([0u8; 32]);
        hk.expand(SEGMENT_INFO, seg.as_mut())
            .expect("32 bytes is a valid HKDF length");
        hk.expand(HEADER_INFO, hdr.as_mut())
            .expect("32 bytes is a valid HKDF length");
        Self {
            salt: *salt,
            segment: Aes256Gcm::new_from_slice(seg.as_ref()).expect("32-byte key"),
            header: Aes256Gcm::new_from_slice(hdr.as_ref()).expect("32-byte key"),
        }
    }

    fn nonce(track: u32, index: u64) -> [u8; 12] {
        let mut n = [0u8; 12];
        n[..4].copy_from_slice(&track.to_be_bytes());
        n[4..].copy_from_slice(&index.to_be_bytes());
        n
    }

    fn aad(&self, index: u64, e: &SegmentEntry) -> [u8; 11 + 32 + 4 + 8 + 8 + 4 + 1] {
        let mut a = [0u8; 68];
        let mut w = 0;
        for part in [
            SEGMENT_AAD_DOMAIN,
            &self.salt[..],
            &e.track.to_le_bytes()[..],
            &index.to_le_bytes()[..],
            &e.pts.to_le_bytes()[..],
            &e.duration.to_le_bytes()[..],
            &[e.flags][..],
        ] {
            a[w..w + part.len()].copy_from_slice(part);
            w += part.len();
        }
        a
    }

    /// Encrypts `buf` in place and appends the tag. `entry.size` is ignored (it is the result).
    pub fn seal_segment(&self, index: u64, entry: &SegmentEntry, buf: &mut Vec<u8>) {
        let nonce = Self::nonce(entry.track, index);
        let tag = self
            .segment
            .encrypt_in_place_detached(Nonce::from_slice(&nonce), &self.aad(index, entry), buf)
            .expect("segment lengths are bounded far below the GCM limit");
        buf.extend_from_slice(&tag);
    }

    /// Verifies and decrypts a sealed segment in place; on success `buf` holds the plaintext.
    /// Nothing of the plaintext is left in `buf` on failure.
    pub fn open_segment(
        &self,
        index: u64,
        entry: &SegmentEntry,
        buf: &mut Vec<u8>,
    ) -> Result<(), FormatError> {
        let fail = FormatError::SegmentIntegrity {
            index,
            track: entry.track,
        };
        if buf.len() != entry.size as usize || buf.len() < TAG_LEN {
            return Err(fail);
        }
        let split = buf.len() - TAG_LEN;
        let tag = Tag::clone_from_slice(&buf[split..]);
        buf.truncate(split);
        let nonce = Self::nonce(entry.track, index);
        // aes-gcm checks the tag before it decrypts, so a forged segment releases nothing.
        self.segment
            .decrypt_in_place_detached(
                Nonce::from_slice(&nonce),
                &self.aad(index, entry),
                buf,
                &tag,
            )
            .map_err(|_| {
                buf.zeroize();
                fail
            })
    }

    /// The header tag over `encoded` (preamble + body).
    pub fn header_tag(&self, encoded: &[u8]) -> [u8; TAG_LEN] {
        let tag = self
            .header
            .encrypt_in_place_detached(Nonce::from_slice(&[0u8; 12]), encoded, &mut [])
            .expect("header is bounded");
        tag.into()
    }

    /// Checks the header tag in constant time.
    pub fn verify_header(&self, encoded: &[u8], tag: &[u8; TAG_LEN]) -> Result<(), FormatError> {
        if bool::from(self.header_tag(encoded).ct_eq(tag)) {
            Ok(())
        } else {
            Err(FormatError::HeaderIntegrity)
        }
    }
}

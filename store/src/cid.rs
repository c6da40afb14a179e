//! Content identifiers: CIDv1 with a sha2-256 multihash, for the two codecs a UnixFS file
//! uses (raw leaves and dag-pb nodes), written in multibase base32 (`bafy...`, `bafk...`).

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

use crate::error::StoreError;

/// Multicodec code of a block holding raw bytes (a file chunk).
const CODEC_RAW: u64 = 0x55;
/// Multicodec code of a dag-pb block (a UnixFS node linking to chunks).
const CODEC_DAG_PB: u64 = 0x70;
/// Multihash code of sha2-256.
const MULTIHASH_SHA2_256: u64 = 0x12;
/// Length in bytes of a sha2-256 digest.
const SHA2_256_LEN: usize = 32;
/// Length of the binary form: version, codec, hash code, digest length (one byte each,
/// all below 0x80) and the digest.
const BINARY_LEN: usize = 4 + SHA2_256_LEN;
/// Multibase prefix of lowercase RFC 4648 base32 without padding.
const BASE32_PREFIX: char = 'b';
const BASE32_ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// How the bytes of a block are to be interpreted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Codec {
    /// Raw bytes: a whole small file or one chunk of a large one (`bafkrei...`).
    Raw,
    /// A dag-pb node carrying UnixFS metadata and links to its children (`bafybei...`).
    DagPb,
}

impl Codec {
    fn code(self) -> u64 {
        match self {
            Codec::Raw => CODEC_RAW,
            Codec::DagPb => CODEC_DAG_PB,
        }
    }
}

/// A CIDv1 whose multihash is sha2-256, the only kind this crate creates or accepts.
///
/// Its string form (`Display`/`FromStr`) is the one kubo prints for `ipfs add --cid-version=1`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cid {
    codec: Codec,
    digest: [u8; SHA2_256_LEN],
}

impl Cid {
    /// The CID of `bytes` stored as a block with `codec`.
    pub fn for_block(codec: Codec, bytes: &[u8]) -> Cid {
        Cid {
            codec,
            digest: Sha256::digest(bytes).into(),
        }
    }

    /// The CID with `codec` for a block whose sha2-256 digest is `digest`.
    pub fn from_digest(codec: Codec, digest: [u8; SHA2_256_LEN]) -> Cid {
        Cid { codec, digest }
    }

    /// The codec of the block this CID names.
    pub fn codec(&self) -> Codec {
        self.codec
    }

    /// The sha2-256 digest of the block this CID names.
    pub fn digest(&self) -> &[u8; SHA2_256_LEN] {
        &self.digest
    }

    /// Whether `bytes` are the block this CID names.
    pub fn matches(&self, bytes: &[u8]) -> bool {
        let digest: [u8; SHA2_256_LEN] = Sha256::digest(bytes).into();
        digest == self.digest
    }

    /// The binary form, as it appears inside a dag-pb link.
    pub fn to_bytes(&self) -> [u8; BINARY_LEN] {
        let mut out = [0u8; BINARY_LEN];
        // Every header value is below 0x80, so each varint is a single byte.
        out[0] = 1;
        out[1] = self.codec.code() as u8;
        out[2] = MULTIHASH_SHA2_256 as u8;
        out[3] = SHA2_256_LEN as u8;
        out[4..].copy_from_slice(&self.digest);
        out
    }

    /// Parses the binary form (as found in a dag-pb link).
    pub fn from_bytes(bytes: &[u8]) -> Result<Cid, CidParseError> {
        let mut rest = bytes;
        let version = take_varint(&mut rest).ok_or(CidParseError::Truncated)?;
        if version != 1 {
            return Err(CidParseError::UnsupportedVersion(version));
        }
        let codec = match take_varint(&mut rest).ok_or(CidParseError::Truncated)? {
            CODEC_RAW => Codec::Raw,
            CODEC_DAG_PB => Codec::DagPb,
            other => return Err(CidParseError::UnsupportedCodec(other)),
        };
        let hash_code = take_varint(&mut rest).ok_or(CidParseError::Truncated)?;
        if hash_code != MULTIHASH_SHA2_256 {
            return Err(CidParseError::UnsupportedHash(hash_code));
        }
        let len = take_varint(&mut rest).ok_or(CidParseError::Truncated)?;
        if len != SHA2_256_LEN as u64 || rest.len() != SHA2_256_LEN {
            return Err(CidParseError::DigestLength {
                declared: len,
                actual: rest.len(),
            });
        }
        let mut digest = [0u8; SHA2_256_LEN];
        digest.copy_from_slice(rest);
        Ok(Cid { codec, digest })
    }
}

/// Why a CID could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CidParseError {
    /// The input was empty.
    #[error("empty string")]
    Empty,
    /// A CIDv0 (`Qm...`).
    #[error(
        "CIDv0 (Qm...) is not supported; use the CIDv1 form (bafy...), e.g. from `ipfs cid base32`"
    )]
    Version0,
    /// A multibase other than lowercase base32.
    #[error("multibase prefix {0:?} is not supported; expected lowercase base32 ('b')")]
    UnsupportedMultibase(char),
    /// A character outside the base32 alphabet.
    #[error("character {0:?} is not lowercase base32")]
    InvalidBase32(char),
    /// Bits left over after the last full byte were not zero.
    #[error("non-canonical base32 ending")]
    NonCanonicalBase32,
    /// The binary form ended early.
    #[error("truncated")]
    Truncated,
    /// A CID version other than 1.
    #[error("CID version {0} is not supported")]
    UnsupportedVersion(u64),
    /// A codec other than raw (0x55) or dag-pb (0x70).
    #[error("codec 0x{0:x} is not supported (expected raw 0x55 or dag-pb 0x70)")]
    UnsupportedCodec(u64),
    /// A multihash other than sha2-256.
    #[error("multihash 0x{0:x} is not supported (expected sha2-256 0x12)")]
    UnsupportedHash(u64),
    /// The digest is not 32 bytes long.
    #[error("digest length {declared} declared, {actual} bytes present (expected 32)")]
    DigestLength {
        /// Length written in the multihash.
        declared: u64,
        /// Bytes that follow it.
        actual: usize,
    },
}

impl fmt::Display for Cid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes = self.to_bytes();
        let mut text = String::with_capacity(1 + (bytes.len() * 8).div_ceil(5));
        text.push(BASE32_PREFIX);
        base32_encode(&bytes, &mut text);
        f.write_str(&text)
    }
}

impl fmt::Debug for Cid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cid({self})")
    }
}

impl FromStr for Cid {
    type Err = StoreError;

    fn from_str(input: &str) -> Result<Cid, StoreError> {
        parse_text(input).map_err(|reason| StoreError::InvalidCid {
            input: input.to_owned(),
            reason,
        })
    }
}

fn parse_text(input: &str) -> Result<Cid, CidParseError> {
    let mut chars = input.chars();
    let prefix = chars.next().ok_or(CidParseError::Empty)?;
    if input.starts_with("Qm") && input.len() == 46 {
        return Err(CidParseError::Version0);
    }
    if prefix != BASE32_PREFIX {
        return Err(CidParseError::UnsupportedMultibase(prefix));
    }
    let bytes = base32_decode(chars.as_str())?;
    Cid::from_bytes(&bytes)
}

fn base32_encode(bytes: &[u8], out: &mut String) {
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(
                BASE32_ALPHABET[((buffer >> bits) & 31) as usize],
            ));
        }
    }
    if bits > 0 {
        out.push(char::from(
            BASE32_ALPHABET[((buffer << (5 - bits)) & 31) as usize],
        ));
    }
}

fn base32_decode(text: &str) -> Result<Vec<u8>, CidParseError> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for c in text.chars() {
        let value = match c {
            'a'..='z' => c as u32 - 'a' as u32,
            '2'..='7' => c as u32 - '2' as u32 + 26,
            _ => return Err(CidParseError::InvalidBase32(c)),
        };
        buffer = (buffer << 5) | value;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
        buffer &= (1 << bits) - 1;
    }
    if bits >= 5 || buffer != 0 {
        return Err(CidParseError::NonCanonicalBase32);
    }
    Ok(out)
}

/// Reads one unsigned LEB128 varint from the front of `input`, advancing it.
pub(crate) fn take_varint(input: &mut &[u8]) -> Option<u64> {
    let mut value: u64 = 0;
    for (i, &byte) in input.iter().enumerate().take(10) {
        let low = u64::from(byte & 0x7f);
        if i == 9 && byte > 1 {
            return None;
        }
        value |= low << (7 * i);
        if byte & 0x80 == 0 {
            *input = &input[i + 1..];
            return Some(value);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_round_trip_for_both_codecs() {
        for codec in [Codec::Raw, Codec::DagPb] {
            let cid = Cid::for_block(codec, b"hello");
            let text = cid.to_string();
            assert_eq!(text.len(), 59);
            let expected_prefix = match codec {
                Codec::Raw => "bafkrei",
                Codec::DagPb => "bafybei",
            };
            assert!(text.starts_with(expected_prefix), "{text}");
            let parsed: Cid = text.parse().expect("own output parses");
            assert_eq!(parsed, cid);
            assert_eq!(Cid::from_bytes(&cid.to_bytes()), Ok(cid));
        }
    }

    #[test]
    fn empty_block_has_kubos_cid() {
        // `ipfs add --cid-version=1` of an empty file (kubo 0.38.1).
        let cid = Cid::for_block(Codec::Raw, b"");
        assert_eq!(
            cid.to_string(),
            "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
        );
    }

    #[test]
    fn rejects_invalid_strings_with_reasons() {
        let valid = Cid::for_block(Codec::Raw, b"x").to_string();
        let mut cbor_bytes = Cid::for_block(Codec::Raw, b"x").to_bytes();
        cbor_bytes[1] = 0x71;
        let mut dag_cbor = String::from("b");
        base32_encode(&cbor_bytes, &mut dag_cbor);
        let cases: Vec<(String, CidParseError)> = vec![
            (String::new(), CidParseError::Empty),
            (
                "QmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR1n".into(),
                CidParseError::Version0,
            ),
            (
                format!("B{}", &valid[1..]),
                CidParseError::UnsupportedMultibase('B'),
            ),
            (
                format!("{}1", &valid[..58]),
                CidParseError::InvalidBase32('1'),
            ),
            (valid[..2].to_string(), CidParseError::NonCanonicalBase32),
            (dag_cbor, CidParseError::UnsupportedCodec(0x71)),
        ];
        for (input, reason) in cases {
            match input.parse::<Cid>() {
                Err(StoreError::InvalidCid {
                    input: got_input,
                    reason: got,
                }) => {
                    assert_eq!(got, reason, "input {input:?}");
                    assert_eq!(got_input, input);
                }
                other => panic!("{input:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn rejects_wrong_binary_headers() {
        let good = Cid::for_block(Codec::DagPb, b"node").to_bytes();
        let mut v0 = good;
        v0[0] = 0;
        assert_eq!(
            Cid::from_bytes(&v0),
            Err(CidParseError::UnsupportedVersion(0))
        );
        let mut blake = good;
        blake[2] = 0x13;
        assert_eq!(
            Cid::from_bytes(&blake),
            Err(CidParseError::UnsupportedHash(0x13))
        );
        assert!(matches!(
            Cid::from_bytes(&good[..20]),
            Err(CidParseError::DigestLength { .. })
        ));
        assert_eq!(Cid::from_bytes(&[]), Err(CidParseError::Truncated));
    }

    #[test]
    fn varints_decode_multi_byte_values() {
        let mut input: &[u8] = &[0x80, 0x80, 0x10, 0x05];
        assert_eq!(take_varint(&mut input), Some(262_144));
        assert_eq!(input, &[0x05]);
        let mut unterminated: &[u8] = &[0x80, 0x80];
        assert_eq!(take_varint(&mut unterminated), None);
    }
}

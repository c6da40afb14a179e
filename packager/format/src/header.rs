//! The header: what a `.ddrm` holds, described without any key.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::codec::{Dec, Enc};
use crate::limits;
use crate::FormatError;

/// The eight bytes every `.ddrm` file starts with.
pub const MAGIC: [u8; 8] = [0x89, b'D', b'D', b'R', b'M', 0x0D, 0x0A, 0x1A];
/// The container version this crate reads and writes. Version 2 names the creator's account in
/// the header and labels the key ciphertext with it (see [`content_id_for`]).
pub const VERSION: u16 = 2;
/// Bytes before the header body: magic, version, flags, header length.
pub const PREAMBLE_LEN: usize = 16;
/// Length of the header's authentication tag, which follows the header body.
pub const TAG_LEN: usize = 16;

const HEADER_DIGEST_DOMAIN: &[u8] = b"ddrm/v2/header";
/// The prefix of a content id's preimage; `ContentRegistry.register` recomputes the same id from
/// its caller and the header digest, so only the account a header names can register it.
pub const CONTENT_ID_DOMAIN: &[u8] = b"ddrm/content-id/v2";

/// What kind of good a file carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContentKind {
    /// Audio and/or video tracks, segmented on keyframes.
    Media,
    /// Any other file, cut into fixed-size chunks.
    Data,
}

/// The kind of one track.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TrackKind {
    Audio,
    Video,
    Data,
}

/// A 256-bit content id: [`content_id_for`] the header's creator account and header digest.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContentId(pub [u8; 32]);

impl ContentId {
    /// `0x`-prefixed lower-case hex, the form used on chain and in JSON.
    pub fn to_hex(&self) -> String {
        format!("0x{}", hex::encode(self.0))
    }

    /// Parses `0x`-prefixed (or bare) hex of exactly 32 bytes.
    pub fn from_hex(s: &str) -> Result<Self, FormatError> {
        let s = s.strip_prefix("0x").unwrap_or(s);
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).map_err(|_| FormatError::Malformed {
            what: "content id",
            why: "is not 64 hex digits",
        })?;
        Ok(Self(out))
    }
}

impl std::fmt::Display for ContentId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl std::fmt::Debug for ContentId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ContentId({})", self.to_hex())
    }
}

impl Serialize for ContentId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for ContentId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::from_hex(&text).map_err(serde::de::Error::custom)
    }
}

/// A small picture or clip stored in the clear (thumbnail, preview).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attachment {
    pub mime_type: String,
    #[serde(serialize_with = "ser_len")]
    pub bytes: Vec<u8>,
}

fn ser_len<S: serde::Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(b.len() as u64)
}

fn ser_hex<S: serde::Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format!("0x{}", hex::encode(b)))
}

fn ser_hex_list<S: serde::Serializer>(b: &[[u8; 32]], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(b.iter().map(|x| format!("0x{}", hex::encode(x))))
}

/// Self-describing metadata. Everything here is in the clear: it is what a catalogue shows.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Metadata {
    pub title: String,
    pub creator: String,
    /// The MIME type of the good as the user knows it (`audio/flac`, `application/pdf`, ...).
    pub mime_type: String,
    /// Playing time in milliseconds; 0 for data.
    pub duration_ms: u64,
    /// Size of the original input in bytes (for data: exactly the bytes that decrypt back).
    pub original_size: u64,
    /// The input's file name, without any directory.
    pub original_name: String,
    pub thumbnail: Option<Attachment>,
    /// An optional clear preview (a short clip or first pages) anyone may see.
    pub preview: Option<Attachment>,
    /// Free-form key/value pairs, sorted by key, keys unique.
    pub extra: Vec<(String, String)>,
}

/// One elementary stream of the content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Track {
    pub kind: TrackKind,
    /// `av1`, `aac`, `flac`, `data`, ...
    pub codec: String,
    /// Ticks per second of this track's timestamps (`pts`, `duration`).
    pub timescale: u32,
    pub sample_rate: u32,
    pub channels: u16,
    pub width: u32,
    pub height: u32,
    pub frame_rate_num: u32,
    pub frame_rate_den: u32,
    pub bit_rate: u64,
    /// Codec configuration (AV1 sequence header OBUs, AAC AudioSpecificConfig, FLAC STREAMINFO).
    #[serde(serialize_with = "ser_hex")]
    pub codec_private: Vec<u8>,
    pub language: String,
}

impl Track {
    /// A data track: timestamps are byte offsets into the original file (timescale 1).
    pub fn data() -> Self {
        Self {
            kind: TrackKind::Data,
            codec: "data".into(),
            timescale: 1,
            sample_rate: 0,
            channels: 0,
            width: 0,
            height: 0,
            frame_rate_num: 0,
            frame_rate_den: 0,
            bit_rate: 0,
            codec_private: Vec::new(),
            language: String::new(),
        }
    }
}

/// How the content key is wrapped for the licence network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyEnvelope {
    /// [`KEY_SCHEME_LABELLED_BLS12_381`]: a labelled threshold ciphertext, bincode-encoded.
    pub scheme: u8,
    /// SHA-256 of the licence network's group public key file encoding.
    #[serde(serialize_with = "ser_hex")]
    pub group_key_id: Vec<u8>,
    #[serde(serialize_with = "ser_hex")]
    pub ciphertext: Vec<u8>,
}

/// The key scheme: threshold_crypto 0.4's BLS12-381 ciphertext whose validity proof is labelled
/// with the creator's account (`licence-net/PROTOCOL.md`, "Key ciphertext"), so the licence
/// network decrypts it only for content registered by that account.
pub const KEY_SCHEME_LABELLED_BLS12_381: u8 = 2;

/// One row of the segment table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SegmentEntry {
    /// Index into [`Header::tracks`].
    pub track: u32,
    /// Offset of the sealed segment from the start of the segment data.
    pub offset: u64,
    /// Sealed size: plaintext length plus the 16-byte tag.
    pub size: u32,
    /// Presentation time of the segment's first unit, in the track's timescale.
    pub pts: i64,
    /// Length in the track's timescale.
    pub duration: u32,
    /// Bit 0: starts with a keyframe (random-access point).
    pub flags: u8,
}

/// Segment flag: the segment starts at a random-access point.
pub const SEGMENT_KEYFRAME: u8 = 1;

impl SegmentEntry {
    pub fn is_keyframe(&self) -> bool {
        self.flags & SEGMENT_KEYFRAME != 0
    }
    /// Plaintext length of this segment.
    pub fn plain_len(&self) -> usize {
        self.size as usize - TAG_LEN
    }
}

/// The whole header of a `.ddrm` file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Header {
    /// 32 random bytes, fresh per file; binds segments and keys to this file.
    #[serde(serialize_with = "ser_hex")]
    pub salt: Vec<u8>,
    /// The account that registers this content on chain: part of the content id, and the label
    /// of the key ciphertext.
    #[serde(serialize_with = "ser_hex")]
    pub creator_account: [u8; 20],
    pub kind: ContentKind,
    pub metadata: Metadata,
    pub tracks: Vec<Track>,
    /// SHA-256 measurements of the renderer capsules allowed to play this content.
    #[serde(serialize_with = "ser_hex_list")]
    pub renderers: Vec<[u8; 32]>,
    pub key: KeyEnvelope,
    pub segments: Vec<SegmentEntry>,
}

impl Header {
    /// The salt as a fixed array. Headers built by this crate always carry 32 bytes.
    pub fn salt32(&self) -> [u8; 32] {
        let mut s = [0u8; 32];
        s.copy_from_slice(&self.salt);
        s
    }

    /// Total sealed size of all segments.
    pub fn data_len(&self) -> u64 {
        self.segments.iter().map(|s| u64::from(s.size)).sum()
    }

    /// The creator's account, as the chain spells it.
    pub fn creator(&self) -> [u8; 20] {
        self.creator_account
    }

    /// The digest of the canonical encoding, registered on chain beside the content id.
    pub fn header_digest(&self) -> Result<[u8; 32], FormatError> {
        Ok(header_digest_of(&self.encode()?))
    }

    /// The content id: [`content_id_for`] the creator and the header digest.
    pub fn content_id(&self) -> Result<ContentId, FormatError> {
        Ok(content_id_for(self.creator_account, self.header_digest()?))
    }

    /// SHA-256 of the key ciphertext: the commitment registered on chain.
    pub fn key_commitment(&self) -> [u8; 32] {
        Sha256::digest(&self.key.ciphertext).into()
    }

    /// Checks the invariants a writer must uphold and a reader must insist on.
    pub fn validate(&self) -> Result<(), FormatError> {
        let bad = |what, why| Err(FormatError::Malformed { what, why });
        if self.salt.len() != 32 {
            return bad("salt", "is not 32 bytes");
        }
        limits::check_str("title", &self.metadata.title)?;
        limits::check_str("creator", &self.metadata.creator)?;
        limits::check_str("mime type", &self.metadata.mime_type)?;
        limits::check_str("original name", &self.metadata.original_name)?;
        for (what, att, max) in [
            ("thumbnail", &self.metadata.thumbnail, limits::THUMBNAIL),
            ("preview", &self.metadata.preview, limits::PREVIEW),
        ] {
            if let Some(a) = att {
                limits::check_str(what, &a.mime_type)?;
                limits::check_len(what, a.bytes.len(), max)?;
            }
        }
        limits::check_len("extra metadata", self.metadata.extra.len(), limits::EXTRA)?;
        for w in self.metadata.extra.windows(2) {
            if w[0].0 >= w[1].0 {
                return bad("extra metadata", "keys are not sorted and unique");
            }
        }
        for (k, v) in &self.metadata.extra {
            limits::check_str("extra key", k)?;
            limits::check_str("extra value", v)?;
        }
        limits::check_len("tracks", self.tracks.len(), limits::TRACKS)?;
        if self.tracks.is_empty() {
            return bad("tracks", "are empty");
        }
        for t in &self.tracks {
            limits::check_str("codec", &t.codec)?;
            limits::check_str("language", &t.language)?;
            limits::check_len(
                "codec private data",
                t.codec_private.len(),
                limits::CODEC_PRIVATE,
            )?;
            if t.timescale == 0 {
                return bad("track", "has timescale 0");
            }
        }
        limits::check_len("renderers", self.renderers.len(), limits::RENDERERS)?;
        if self.creator_account == [0u8; 20] {
            return bad("creator account", "is the zero address");
        }
        if self.key.scheme != KEY_SCHEME_LABELLED_BLS12_381 {
            return bad("key envelope", "uses an unknown scheme");
        }
        if self.key.group_key_id.len() != 32 {
            return bad("group key id", "is not 32 bytes");
        }
        limits::check_len(
            "key ciphertext",
            self.key.ciphertext.len(),
            limits::KEY_CIPHERTEXT,
        )?;
        if self.key.ciphertext.is_empty() {
            return bad("key ciphertext", "is empty");
        }
        limits::check_len("segments", self.segments.len(), limits::SEGMENTS)?;
        let mut next = 0u64;
        for s in &self.segments {
            if s.track as usize >= self.tracks.len() {
                return bad("segment", "names a track that does not exist");
            }
            if s.offset != next {
                return bad("segment table", "offsets are not contiguous from 0");
            }
            if (s.size as usize) < TAG_LEN || s.size as usize > limits::SEGMENT + TAG_LEN {
                return bad("segment", "has an impossible size");
            }
            if s.flags & !SEGMENT_KEYFRAME != 0 {
                return bad("segment", "sets reserved flags");
            }
            next += u64::from(s.size);
        }
        Ok(())
    }

    /// The canonical encoding: preamble followed by the header body.
    pub fn encode(&self) -> Result<Vec<u8>, FormatError> {
        self.validate()?;
        let mut e = Enc::new();
        e.fixed(&self.salt);
        e.fixed(&self.creator_account);
        e.u8(self.kind.code());
        encode_metadata(&mut e, &self.metadata);
        e.list(&self.tracks, encode_track);
        e.list(&self.renderers, |e, r| e.fixed(r));
        encode_key(&mut e, &self.key);
        e.list(&self.segments, encode_segment);
        with_preamble(e.buf)
    }

    /// Parses the 16-byte preamble, returning the header body length.
    pub fn parse_preamble(pre: &[u8; PREAMBLE_LEN]) -> Result<usize, FormatError> {
        if pre[..8] != MAGIC {
            return Err(FormatError::NotDdrm);
        }
        let version = u16::from_le_bytes([pre[8], pre[9]]);
        if version != VERSION {
            return Err(FormatError::UnsupportedVersion(version));
        }
        if u16::from_le_bytes([pre[10], pre[11]]) != 0 {
            return Err(FormatError::Malformed {
                what: "preamble",
                why: "sets reserved flags",
            });
        }
        let len = u32::from_le_bytes([pre[12], pre[13], pre[14], pre[15]]) as usize;
        limits::check_len("header", len, limits::HEADER)?;
        Ok(len)
    }

    /// Decodes preamble + body (as produced by [`Header::encode`]) strictly.
    pub fn decode(bytes: &[u8]) -> Result<Self, FormatError> {
        let mut d = Dec::new(body_of(bytes)?);
        // A struct expression evaluates its fields in the order written: the order of encode.
        let header = Header {
            salt: d.fixed32("salt")?.to_vec(),
            creator_account: d.fixed20("creator account")?,
            kind: ContentKind::decode(&mut d)?,
            metadata: decode_metadata(&mut d)?,
            tracks: d.list("tracks", limits::TRACKS, decode_track)?,
            renderers: d.list("renderers", limits::RENDERERS, |d| d.fixed32("renderer"))?,
            key: decode_key(&mut d)?,
            segments: d.list("segments", limits::SEGMENTS, decode_segment)?,
        };
        d.finish()?;
        header.validate()?;
        Ok(header)
    }
}

// The header body, one part at a time: each `encode_*` writes what its `decode_*` reads.

impl ContentKind {
    fn code(self) -> u8 {
        match self {
            ContentKind::Media => 1,
            ContentKind::Data => 2,
        }
    }

    fn decode(d: &mut Dec<'_>) -> Result<Self, FormatError> {
        match d.u8("content kind")? {
            1 => Ok(ContentKind::Media),
            2 => Ok(ContentKind::Data),
            _ => Err(FormatError::Malformed {
                what: "content kind",
                why: "is unknown",
            }),
        }
    }
}

impl TrackKind {
    fn code(self) -> u8 {
        match self {
            TrackKind::Audio => 1,
            TrackKind::Video => 2,
            TrackKind::Data => 3,
        }
    }

    fn decode(d: &mut Dec<'_>) -> Result<Self, FormatError> {
        match d.u8("track kind")? {
            1 => Ok(TrackKind::Audio),
            2 => Ok(TrackKind::Video),
            3 => Ok(TrackKind::Data),
            _ => Err(FormatError::Malformed {
                what: "track kind",
                why: "is unknown",
            }),
        }
    }
}

/// The preamble (magic, version, no flags, body length) before `body`.
fn with_preamble(body: Vec<u8>) -> Result<Vec<u8>, FormatError> {
    limits::check_len("header", body.len(), limits::HEADER)?;
    let mut out = Vec::with_capacity(PREAMBLE_LEN + body.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&body);
    Ok(out)
}

/// The body of an encoded header, after checking its preamble and that the length it states is
/// exactly what follows.
fn body_of(bytes: &[u8]) -> Result<&[u8], FormatError> {
    let pre: &[u8; PREAMBLE_LEN] = bytes
        .get(..PREAMBLE_LEN)
        .and_then(|p| p.try_into().ok())
        .ok_or(FormatError::Truncated { what: "preamble" })?;
    let body_len = Header::parse_preamble(pre)?;
    if bytes.len() != PREAMBLE_LEN + body_len {
        return Err(FormatError::Truncated { what: "header" });
    }
    Ok(&bytes[PREAMBLE_LEN..])
}

fn encode_metadata(e: &mut Enc, m: &Metadata) {
    e.str(&m.title);
    e.str(&m.creator);
    e.str(&m.mime_type);
    e.u64(m.duration_ms);
    e.u64(m.original_size);
    e.str(&m.original_name);
    encode_attachment(e, &m.thumbnail);
    encode_attachment(e, &m.preview);
    e.list(&m.extra, |e, (k, v)| {
        e.str(k);
        e.str(v);
    });
}

fn decode_metadata(d: &mut Dec<'_>) -> Result<Metadata, FormatError> {
    let s = limits::STRING;
    Ok(Metadata {
        title: d.str("title", s)?,
        creator: d.str("creator", s)?,
        mime_type: d.str("mime type", s)?,
        duration_ms: d.u64("duration")?,
        original_size: d.u64("original size")?,
        original_name: d.str("original name", s)?,
        thumbnail: decode_attachment(d, "thumbnail", limits::THUMBNAIL)?,
        preview: decode_attachment(d, "preview", limits::PREVIEW)?,
        extra: d.list("extra metadata", limits::EXTRA, |d| {
            Ok((d.str("extra key", s)?, d.str("extra value", s)?))
        })?,
    })
}

/// A presence byte (0 or 1), then the attachment when present.
fn encode_attachment(e: &mut Enc, att: &Option<Attachment>) {
    match att {
        None => e.u8(0),
        Some(a) => {
            e.u8(1);
            e.str(&a.mime_type);
            e.bytes(&a.bytes);
        }
    }
}

fn decode_attachment(
    d: &mut Dec<'_>,
    what: &'static str,
    max: usize,
) -> Result<Option<Attachment>, FormatError> {
    match d.u8(what)? {
        0 => Ok(None),
        1 => Ok(Some(Attachment {
            mime_type: d.str(what, limits::STRING)?,
            bytes: d.bytes(what, max)?,
        })),
        _ => Err(FormatError::Malformed {
            what,
            why: "has an invalid presence byte",
        }),
    }
}

fn encode_track(e: &mut Enc, t: &Track) {
    e.u8(t.kind.code());
    e.str(&t.codec);
    e.u32(t.timescale);
    e.u32(t.sample_rate);
    e.u16(t.channels);
    e.u32(t.width);
    e.u32(t.height);
    e.u32(t.frame_rate_num);
    e.u32(t.frame_rate_den);
    e.u64(t.bit_rate);
    e.bytes(&t.codec_private);
    e.str(&t.language);
}

fn decode_track(d: &mut Dec<'_>) -> Result<Track, FormatError> {
    Ok(Track {
        kind: TrackKind::decode(d)?,
        codec: d.str("codec", limits::STRING)?,
        timescale: d.u32("timescale")?,
        sample_rate: d.u32("sample rate")?,
        channels: d.u16("channels")?,
        width: d.u32("width")?,
        height: d.u32("height")?,
        frame_rate_num: d.u32("frame rate")?,
        frame_rate_den: d.u32("frame rate")?,
        bit_rate: d.u64("bit rate")?,
        codec_private: d.bytes("codec private data", limits::CODEC_PRIVATE)?,
        language: d.str("language", limits::STRING)?,
    })
}

fn encode_key(e: &mut Enc, key: &KeyEnvelope) {
    e.u8(key.scheme);
    e.fixed(&key.group_key_id);
    e.bytes(&key.ciphertext);
}

fn decode_key(d: &mut Dec<'_>) -> Result<KeyEnvelope, FormatError> {
    Ok(KeyEnvelope {
        scheme: d.u8("key scheme")?,
        group_key_id: d.fixed32("group key id")?.to_vec(),
        ciphertext: d.bytes("key ciphertext", limits::KEY_CIPHERTEXT)?,
    })
}

fn encode_segment(e: &mut Enc, s: &SegmentEntry) {
    e.u32(s.track);
    e.u64(s.offset);
    e.u32(s.size);
    e.i64(s.pts);
    e.u32(s.duration);
    e.u8(s.flags);
}

fn decode_segment(d: &mut Dec<'_>) -> Result<SegmentEntry, FormatError> {
    Ok(SegmentEntry {
        track: d.u32("segment track")?,
        offset: d.u64("segment offset")?,
        size: d.u32("segment size")?,
        pts: d.i64("segment pts")?,
        duration: d.u32("segment duration")?,
        flags: d.u8("segment flags")?,
    })
}

/// The header digest of an encoded header (preamble + body): SHA-256 over a domain tag and the
/// encoding. It covers everything in the header, the creator account and key ciphertext included.
pub fn header_digest_of(encoded: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(HEADER_DIGEST_DOMAIN);
    h.update(encoded);
    h.finalize().into()
}

/// The content id of a header: SHA-256(`ddrm/content-id/v2` ‖ creator (20 bytes) ‖ header
/// digest). `ContentRegistry.register` computes the same from `msg.sender`, so a registration
/// sent by any other account than the one the header names is refused.
pub fn content_id_for(creator: [u8; 20], header_digest: [u8; 32]) -> ContentId {
    let mut h = Sha256::new();
    h.update(CONTENT_ID_DOMAIN);
    h.update(creator);
    h.update(header_digest);
    ContentId(h.finalize().into())
}

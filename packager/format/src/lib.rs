//! `packager-format`: the `.ddrm` container, version 2 (see `packager/format/FORMAT.md`).
//!
//! A `.ddrm` file is a self-describing header followed by segments sealed with AES-256-GCM under
//! keys derived from a 256-bit content key. The content key itself is only present wrapped for
//! the licence network ([`KeyEnvelope`]); this crate never needs it except to seal or open.
//!
//! Core types: [`Header`] (metadata, tracks, renderers, key envelope, segment table) and its
//! canonical encoding; [`ContentId`]; [`ContentKey`] and [`Sealer`]; [`Container`] for reading
//! (random access through [`ByteSource`]); [`SegmentSealer`] for writing; [`Packet`] for the
//! plaintext of media segments. Pure Rust, no I/O beyond `std::io` traits: it builds for
//! `wasm32-wasip1`, where the player capsule uses it.

#[cfg(feature = "audio")]
pub mod audio_codec;
mod codec;
mod container;
mod header;
pub mod limits;
mod packets;
mod seal;

pub use container::{ByteSource, Container, EncodedHeader, SegmentSealer, Unlocked};
pub use header::{
    content_id_for, header_digest_of, Attachment, ContentId, ContentKind, Header, KeyEnvelope,
    Metadata, SegmentEntry, Track, TrackKind, CONTENT_ID_DOMAIN, KEY_SCHEME_LABELLED_BLS12_381,
    MAGIC, PREAMBLE_LEN, SEGMENT_KEYFRAME, TAG_LEN, VERSION,
};
pub use packets::{decode_packets, encode_packets, Packet};
pub use seal::{ContentKey, Sealer};

/// Plaintext bytes per segment of a data file.
pub const DATA_CHUNK: usize = 1 << 20;

/// Everything that can be wrong with a `.ddrm` file or its use.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    #[error("not a .ddrm file (bad magic bytes)")]
    NotDdrm,
    #[error("unsupported .ddrm version {0} (this build reads version 2)")]
    UnsupportedVersion(u16),
    #[error("malformed .ddrm: {what} {why}")]
    Malformed {
        what: &'static str,
        why: &'static str,
    },
    #[error("malformed .ddrm: {what} is {found} long, over the limit of {limit}")]
    TooLarge {
        what: &'static str,
        limit: u64,
        found: u64,
    },
    #[error("truncated .ddrm: the {what} ends early")]
    Truncated { what: &'static str },
    #[error("corrupt .ddrm: {extra} bytes after the last segment")]
    TrailingBytes { extra: u64 },
    #[error("integrity error in the header: it was changed, or the content key is wrong")]
    HeaderIntegrity,
    #[error("integrity error in segment {index} (track {track}): the segment was changed")]
    SegmentIntegrity { index: u64, track: u32 },
    #[error("no segment {0} in this file")]
    NoSuchSegment(usize),
    #[error("a content key is 64 hex digits")]
    BadKeyEncoding,
    #[error("I/O error reading .ddrm: {0}")]
    Io(#[from] std::io::Error),
}

#[cfg(test)]
mod tests;

//! Bounds on every length a reader accepts. A file that exceeds one is refused before any
//! allocation of that size.

use crate::FormatError;

/// Header body, including the segment table.
pub const HEADER: usize = 64 << 20;
/// Any metadata string.
pub const STRING: usize = 64 << 10;
pub const THUMBNAIL: usize = 4 << 20;
pub const PREVIEW: usize = 32 << 20;
pub const EXTRA: usize = 256;
pub const TRACKS: usize = 64;
pub const CODEC_PRIVATE: usize = 64 << 10;
pub const RENDERERS: usize = 256;
pub const KEY_CIPHERTEXT: usize = 4096;
/// Entries in the segment table.
pub const SEGMENTS: usize = 4 << 20;
/// Plaintext bytes in one segment.
pub const SEGMENT: usize = 64 << 20;
/// Packets in one media segment.
pub const PACKETS: usize = 1 << 20;

pub(crate) fn check_len(what: &'static str, len: usize, max: usize) -> Result<(), FormatError> {
    if len > max {
        return Err(FormatError::TooLarge {
            what,
            limit: max as u64,
            found: len as u64,
        });
    }
    Ok(())
}

pub(crate) fn check_str(what: &'static str, s: &str) -> Result<(), FormatError> {
    check_len(what, s.len(), STRING)
}

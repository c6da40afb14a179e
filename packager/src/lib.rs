//! `packager`: turns any file into an encrypted `.ddrm` (see `packager/format/FORMAT.md`).
//!
//! - [`package`]: media is probed, brought to the playback profile and segmented on keyframes
//!   ([`media`]); any other file is cut into 1 MiB chunks. Every segment is sealed with
//!   AES-256-GCM under a fresh content key, which is written only wrapped to the licence
//!   network's group key.
//! - [`job`]: packaging in a child process with limits, for servers that take untrusted files.
//! - [`inspect`]: the header, without any key.
//! - [`decrypt`]: the creator's recovery path with the content key: data comes back bit for bit,
//!   media remuxed into Matroska.
//!
//! Every output is written to a temporary file beside its destination and renamed into place
//! only when complete, so a failure never leaves a half-written file behind.

pub mod job;
pub mod media;

mod decrypt;
mod inspect;
mod output;
mod package;

pub use decrypt::{decrypt, DecryptReport};
pub use inspect::{inspect, InspectReport};
pub use package::{
    guess_mime, image_type, package, preview_type, PackageOptions, PackageReport, TrackSummary,
    DESCRIPTION_KEY, MAX_DESCRIPTION, MAX_PREVIEW, MAX_THUMBNAIL,
};

use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};

use licence_net_protocol::{Address, GroupKey};
use packager_format::{
    Container, ContentId, ContentKey, ContentKind, EncodedHeader, FormatError, Header, KeyEnvelope,
    Metadata, SegmentEntry, SegmentSealer, Track, TrackKind, DATA_CHUNK,
    KEY_SCHEME_LABELLED_BLS12_381, SEGMENT_KEYFRAME, TAG_LEN,
};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// Everything that can go wrong while packaging, inspecting or decrypting.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error("cannot read {path}: {source}")]
    Input {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Output {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} already exists; refusing to overwrite it")]
    Exists { path: PathBuf },
    #[error("{path}: {source}")]
    Format { path: PathBuf, source: FormatError },
    #[error(transparent)]
    Media(#[from] media::MediaError),
    #[error("{0} changed while it was being packaged")]
    InputChanged(PathBuf),
    #[error("{0}")]
    Invalid(String),
}

impl PackageError {
    /// `map_err` for a format error about the file at `path`.
    fn format_at(path: &Path) -> impl Fn(FormatError) -> Self + Copy + '_ {
        move |source| Self::Format {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Progress of a long operation, reported now and then.
#[derive(Debug, Clone, Copy)]
pub enum Progress {
    /// Bytes of a data file sealed so far, of the total.
    Bytes { done: u64, total: u64 },
    /// Milliseconds of media packaged so far, of the total (0 when unknown).
    Media { done_ms: u64, total_ms: u64 },
}

/// 32 bytes as `0x` + 64 hex digits in JSON, both ways (`#[serde(with = "hex32")]`).
mod hex32 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(b: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("0x{}", hex::encode(b)))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let text = String::deserialize(d)?;
        parse(&text).map_err(serde::de::Error::custom)
    }

    pub fn parse(text: &str) -> Result<[u8; 32], String> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(text.strip_prefix("0x").unwrap_or(text), &mut out).map_err(|_| {
            let shown: String = text.chars().take(80).collect();
            format!("expected 32 bytes of hex, got {shown:?}")
        })?;
        Ok(out)
    }
}

//! Media: probe an input with FFmpeg, bring it to the playback profile, cut it into segments,
//! verify audio with symphonia, and remux decrypted tracks back into Matroska.
//!
//! Playback profile: video AV1 8-bit 4:2:0 (encoded with SVT-AV1, a keyframe every
//! `segment_seconds`), audio AAC-LC mono/stereo, or FLAC when [`MediaOptions::lossless`] is set.
//! Streams already in the profile (AV1 8-bit 4:2:0, AAC-LC mono/stereo with an
//! AudioSpecificConfig or in ADTS frames, FLAC) are copied packet for packet. AAC is limited to
//! two channels because the player decodes it with symphonia, whose AAC decoder takes no more:
//! surround input is downmixed to stereo AAC, or kept whole as FLAC with `lossless`. Only the
//! first video stream (cover art excluded) and the first audio stream are packaged; subtitles
//! and data streams are ignored.
//!
//! Pictures are made plain for any player: non-square pixels are scaled to square ones, and a
//! display rotation (phone video) is applied to the pixels. An input that starts late (MPEG-TS)
//! is moved to start at 0.
//!
//! Track conventions (what the player relies on):
//! - timescale: audio = the sample rate; copied video = the input stream's time base
//!   denominator when its numerator is 1, otherwise 90 000; transcoded video = 90 000.
//! - `codec_private`: `aac` = AudioSpecificConfig; `flac` = the 34-byte STREAMINFO body (no
//!   `fLaC` marker, no block header); `av1` = the sequence header OBU(s) in low-overhead format
//!   (not an `av1C` box; empty when the input carried none — the sequence header is then only
//!   in-band, in keyframes).
//! - video packets are temporal units in decode order; audio packets are single frames, every
//!   one a keyframe (AAC without ADTS headers). Timestamps may start slightly below 0: encoder
//!   priming, which decoders drop.
//!
//! `unsafe` lives in one module, `ffi`, for the few FFmpeg fields `ffmpeg-next` has no safe
//! accessor for (codec extradata, profile, pixel format, filling muxer parameters).

mod audio;
pub use packager_format::audio_codec;
mod ffi;
mod package;
mod probe;
mod remux;
mod rotate;
mod segment;
mod thumbnail;
mod verify;
mod video;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub use audio_codec::AudioCodecError;
pub use package::package_media;

/// How to package media.
#[derive(Debug, Clone)]
pub struct MediaOptions {
    /// Transcode audio that is not already in the profile to FLAC instead of AAC-LC.
    pub lossless: bool,
    /// Target segment length in seconds (also the video keyframe interval when transcoding).
    pub segment_seconds: f64,
}

/// The default target segment length.
pub const DEFAULT_SEGMENT_SECONDS: f64 = 2.0;

impl Default for MediaOptions {
    fn default() -> Self {
        Self {
            lossless: false,
            segment_seconds: DEFAULT_SEGMENT_SECONDS,
        }
    }
}

/// What a probe found in an input.
#[derive(Debug, Clone)]
pub struct MediaProbe {
    /// Playing time, from the container (0 when it does not say).
    pub duration_ms: u64,
    /// MIME type of the input (`video/mp4`, `audio/flac`, ...).
    pub mime_type: String,
    /// FFmpeg's demuxer name (`mov,mp4,m4a,3gp,3g2,mj2`, `flac`, ...).
    pub format_name: String,
    /// The first video stream (cover art excluded), if any.
    pub video: Option<StreamProbe>,
    /// The first audio stream, if any.
    pub audio: Option<StreamProbe>,
}

/// One input stream a probe selected.
#[derive(Debug, Clone)]
pub struct StreamProbe {
    /// Index of the stream in the input container.
    pub index: usize,
    /// FFmpeg's codec name (`h264`, `av1`, `aac`, `opus`, ...).
    pub codec: String,
    pub width: u32,
    pub height: u32,
    pub sample_rate: u32,
    pub channels: u16,
    /// Already in the playback profile: it will be copied without re-encoding.
    pub fits_profile: bool,
}

/// One output segment: packets of one track in decode order, about `segment_seconds` long.
/// Video segments start on a keyframe unless a keyframe interval exceeds the segment size limits.
#[derive(Debug, Clone)]
pub struct MediaSegment {
    /// Index into [`MediaSummary::tracks`].
    pub track: u32,
    /// Presentation time of the earliest packet, in the track's timescale.
    pub pts: i64,
    /// From `pts` to the end of the last packet, in the track's timescale.
    pub duration: u32,
    /// The first packet is a random-access point.
    pub keyframe: bool,
    pub packets: Vec<packager_format::Packet>,
}

/// What [`package_media`] produced.
#[derive(Debug, Clone)]
pub struct MediaSummary {
    /// Output tracks; a segment's `track` indexes this list. Video (if any) comes first.
    pub tracks: Vec<packager_format::Track>,
    /// Playing time: the end of the longest track.
    pub duration_ms: u64,
    /// MIME type of the input.
    pub mime_type: String,
    /// A PNG of a video frame about one second in (at most 320 pixels wide), or else the
    /// cover art (JPEG or PNG) of an audio file.
    pub thumbnail: Option<packager_format::Attachment>,
}

/// Everything that can go wrong with media.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("FFmpeg could not be initialised: {0}")]
    Init(String),
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read media {}: {reason}", path.display())]
    Unreadable { path: PathBuf, reason: String },
    #[error("{} has no audio or video stream", path.display())]
    NoMediaStreams { path: PathBuf },
    #[error("no decoder for {0}")]
    NoDecoder(String),
    #[error("no {0} encoder in this FFmpeg build")]
    NoEncoder(String),
    #[error("cannot decode {what}: {reason}")]
    Decode { what: String, reason: String },
    #[error("cannot encode {codec}: {reason}")]
    Encode { codec: String, reason: String },
    #[error("invalid media options: {0}")]
    BadOptions(String),
    #[error("segment of track {track} cannot be stored: {why}")]
    Segment { track: u32, why: String },
    #[error("cannot set up symphonia for track {track}: {source}")]
    AudioCodec {
        track: u32,
        #[source]
        source: AudioCodecError,
    },
    #[error("symphonia failed to decode track {track} packet {packet}: {reason}")]
    AudioDecode {
        track: u32,
        packet: u64,
        reason: String,
    },
    #[error("cannot remux: {0}")]
    Remux(String),
    #[error("cannot write {}: {reason}", path.display())]
    Write { path: PathBuf, reason: String },
    /// An error from the caller's segment sink or segment source, passed through.
    #[error("{0}")]
    Sink(Box<dyn std::error::Error + Send + Sync + 'static>),
}

impl MediaError {
    /// Wraps a caller's error (a sink that failed, a segment that did not decrypt).
    pub fn sink(e: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>) -> Self {
        Self::Sink(e.into())
    }
}

/// Sends one input packet to a decoder. A damaged packet is skipped (`Ok(false)`): the decoder
/// resynchronises on the next keyframe; any other refusal is an error.
fn send_or_skip(
    decoder: &mut ffmpeg_next::decoder::Opened,
    packet: &ffmpeg_next::Packet,
) -> Result<bool, ffmpeg_next::Error> {
    match decoder.send_packet(packet) {
        Ok(()) => Ok(true),
        Err(ffmpeg_next::Error::InvalidData) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Initialises FFmpeg once per process and keeps its own logging to errors only.
fn init() -> Result<(), MediaError> {
    static INIT: OnceLock<Result<(), String>> = OnceLock::new();
    INIT.get_or_init(|| {
        ffmpeg_next::init().map_err(|e| e.to_string())?;
        ffmpeg_next::util::log::set_level(ffmpeg_next::util::log::Level::Error);
        Ok(())
    })
    .clone()
    .map_err(MediaError::Init)
}

/// Probes `path`. `Ok(None)` when it is not media: FFmpeg does not recognise it (and its name
/// does not claim a media type), or it has no audio and no video stream (still images, text).
/// A file named like media (`.mp4`, `.flac`, ...) that FFmpeg cannot read is an error.
pub fn probe(path: &Path) -> Result<Option<MediaProbe>, MediaError> {
    probe::probe(path)
}

/// Decodes every packet of audio track number `track_index` with symphonia; returns the number
/// of sample frames decoded. Fails on the first packet that does not decode (FLAC frames are
/// CRC-checked), and on a FLAC MD5 mismatch when STREAMINFO carries one.
pub fn verify_audio_track(
    track_index: u32,
    track: &packager_format::Track,
    packets: &mut dyn Iterator<Item = packager_format::Packet>,
) -> Result<u64, MediaError> {
    verify::verify_audio_track(track_index, track, packets)
}

/// Writes a Matroska file (`.mkv`/`.mka`) from the header's tracks and the segments in table
/// order. Segments of different tracks may come in any interleaving.
pub fn remux(
    header: &packager_format::Header,
    segments: &mut dyn Iterator<
        Item = Result<(packager_format::SegmentEntry, Vec<packager_format::Packet>), MediaError>,
    >,
    out: &Path,
) -> Result<(), MediaError> {
    remux::remux(header, segments, out)
}

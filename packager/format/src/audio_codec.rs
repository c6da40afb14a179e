//! The mapping from a `.ddrm` audio [`Track`] and its [`Packet`]s to a symphonia decoder.
//!
//! Pure Rust over this crate and `symphonia` only (no FFmpeg), behind the `audio` feature: the
//! packager's output check and the player capsule (inside its sandbox) share it.
//!
//! `codec_private` conventions (what the packager writes):
//! - `aac`: the MPEG-4 AudioSpecificConfig (2+ bytes), as in an MP4 `esds` or Matroska
//!   `CodecPrivate`.
//! - `flac`: the 34-byte STREAMINFO block body (no `fLaC` marker, no block header).

use crate::{Packet, Track, TrackKind};
use symphonia::core::audio::Channels;
use symphonia::core::codecs::{
    CodecParameters, CodecType, Decoder, DecoderOptions, CODEC_TYPE_AAC, CODEC_TYPE_FLAC,
    CODEC_TYPE_MP3,
};
use symphonia::core::units::TimeBase;

/// Length of a FLAC STREAMINFO block body.
pub const FLAC_STREAMINFO_LEN: usize = 34;

/// Why a track cannot be turned into a symphonia decoder.
#[derive(Debug, thiserror::Error)]
pub enum AudioCodecError {
    #[error("not an audio track")]
    NotAudio,
    #[error("no symphonia decoder for codec {0:?}")]
    UnsupportedCodec(String),
    #[error("codec private data of the {codec} track is invalid: {why}")]
    BadCodecPrivate { codec: String, why: &'static str },
    #[error("symphonia cannot open a {codec} decoder: {reason}")]
    Open { codec: String, reason: String },
}

/// The symphonia codec type for a track's codec name.
pub fn codec_type(codec: &str) -> Option<CodecType> {
    match codec {
        "aac" => Some(CODEC_TYPE_AAC),
        "flac" => Some(CODEC_TYPE_FLAC),
        "mp3" => Some(CODEC_TYPE_MP3),
        _ => None,
    }
}

/// Symphonia codec parameters for an audio track.
pub fn codec_parameters(track: &Track) -> Result<CodecParameters, AudioCodecError> {
    if track.kind != TrackKind::Audio {
        return Err(AudioCodecError::NotAudio);
    }
    let ty = codec_type(&track.codec)
        .ok_or_else(|| AudioCodecError::UnsupportedCodec(track.codec.clone()))?;
    let bad = |why| AudioCodecError::BadCodecPrivate {
        codec: track.codec.clone(),
        why,
    };
    match track.codec.as_str() {
        "aac" if track.codec_private.len() < 2 => {
            return Err(bad("an AudioSpecificConfig has at least 2 bytes"))
        }
        "flac" if track.codec_private.len() != FLAC_STREAMINFO_LEN => {
            return Err(bad("a FLAC STREAMINFO body is 34 bytes"))
        }
        _ => {}
    }
    let mut params = CodecParameters::new();
    params.for_codec(ty);
    if track.sample_rate > 0 {
        params.with_sample_rate(track.sample_rate);
    }
    if let Some(ch) = channels(track.channels) {
        params.with_channels(ch);
    }
    if track.timescale > 0 {
        params.with_time_base(TimeBase::new(1, track.timescale));
    }
    if !track.codec_private.is_empty() {
        params.with_extra_data(track.codec_private.clone().into_boxed_slice());
    }
    Ok(params)
}

/// A symphonia decoder for an audio track (CRC/MD5 verification on where the codec has it).
pub fn make_decoder(track: &Track) -> Result<Box<dyn Decoder>, AudioCodecError> {
    let params = codec_parameters(track)?;
    symphonia::default::get_codecs()
        .make(&params, &DecoderOptions { verify: true })
        .map_err(|e| AudioCodecError::Open {
            codec: track.codec.clone(),
            reason: e.to_string(),
        })
}

/// A `.ddrm` packet as a symphonia packet of track `track_id`. Timestamps before zero (encoder
/// priming) are clamped to 0: symphonia timestamps are unsigned.
pub fn to_symphonia_packet(track_id: u32, packet: &Packet) -> symphonia::core::formats::Packet {
    symphonia::core::formats::Packet::new_from_slice(
        track_id,
        u64::try_from(packet.pts).unwrap_or(0),
        u64::from(packet.duration),
        &packet.data,
    )
}

/// The first `n` standard channel positions, or `None` for 0 or more than symphonia knows.
fn channels(n: u16) -> Option<Channels> {
    if n == 0 || n > 18 {
        return None;
    }
    Channels::from_bits((1u32 << n) - 1)
}

/// The audio object type of an MPEG-4 AudioSpecificConfig (2 = AAC-LC).
pub fn aac_object_type(asc: &[u8]) -> Option<u8> {
    let first = *asc.first()?;
    let aot = first >> 3;
    if aot == 31 {
        // Escape: 6 more bits follow.
        let second = *asc.get(1)?;
        Some(32 + (((first & 0x07) << 3) | (second >> 5)))
    } else {
        Some(aot)
    }
}

/// One ADTS frame header: the AudioSpecificConfig it implies and where the payload starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdtsHeader {
    pub asc: [u8; 2],
    pub header_len: usize,
}

/// Parses the ADTS header of a packet that holds exactly one ADTS frame with one raw data block
/// (as FFmpeg demuxes raw `.aac` and MPEG-TS audio). `None` for anything else.
pub fn parse_adts(packet: &[u8]) -> Option<AdtsHeader> {
    let h = packet.get(..7)?;
    let sync = (u16::from(h[0]) << 4) | (u16::from(h[1]) >> 4);
    let layer = (h[1] >> 1) & 0x03;
    if sync != 0xfff || layer != 0 {
        return None;
    }
    let protection_absent = h[1] & 0x01 == 1;
    let object_type = (h[2] >> 6) + 1;
    let sample_rate_index = (h[2] >> 2) & 0x0f;
    let channel_config = ((h[2] & 0x01) << 2) | (h[3] >> 6);
    let frame_len =
        (usize::from(h[3] & 0x03) << 11) | (usize::from(h[4]) << 3) | (usize::from(h[5]) >> 5);
    let raw_blocks = h[6] & 0x03;
    let header_len = if protection_absent { 7 } else { 9 };
    if sample_rate_index > 12 || frame_len != packet.len() || raw_blocks != 0 {
        return None;
    }
    if frame_len <= header_len {
        return None;
    }
    let asc = (u16::from(object_type) << 11)
        | (u16::from(sample_rate_index) << 7)
        | (u16::from(channel_config) << 3);
    Some(AdtsHeader {
        asc: asc.to_be_bytes(),
        header_len,
    })
}

/// The 34-byte STREAMINFO body from FLAC extradata in any of the usual forms: the bare body
/// (FFmpeg's FLAC demuxer), or `fLaC` + block header + body (Matroska `CodecPrivate`).
pub fn flac_streaminfo(extradata: &[u8]) -> Option<Vec<u8>> {
    let body = match extradata.strip_prefix(b"fLaC") {
        // Block header: 1 bit last-block flag, 7 bits type (0 = STREAMINFO), 24 bits length.
        Some(rest) if rest.len() >= 4 + FLAC_STREAMINFO_LEN && rest[0] & 0x7f == 0 => &rest[4..],
        Some(_) => return None,
        None => extradata,
    };
    body.get(..FLAC_STREAMINFO_LEN).map(<[u8]>::to_vec)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn audio_track(codec: &str, codec_private: Vec<u8>) -> Track {
        Track {
            kind: TrackKind::Audio,
            codec: codec.into(),
            timescale: 48_000,
            sample_rate: 48_000,
            channels: 2,
            codec_private,
            ..Track::data()
        }
    }

    #[test]
    fn aac_object_type_reads_lc_and_escape() {
        // AAC-LC, 48 kHz, stereo: 00010 0011 0010 000
        assert_eq!(aac_object_type(&[0x11, 0x90]), Some(2));
        // HE-AAC (SBR) = 5
        assert_eq!(aac_object_type(&[0x2b, 0x92]), Some(5));
        // Escape 31 + 6 bits 000001 -> 33
        assert_eq!(aac_object_type(&[0xf8, 0x20]), Some(33));
        assert_eq!(aac_object_type(&[]), None);
    }

    #[test]
    fn adts_header_gives_asc_and_payload_offset() {
        // AAC-LC (profile 1), 44.1 kHz (index 4), mono, frame of 10 bytes, no CRC.
        let mut frame = vec![0xff, 0xf1, 0x50, 0x40, 0x01, 0x5f, 0xfc];
        frame.extend_from_slice(&[1, 2, 3]);
        let h = parse_adts(&frame).expect("valid ADTS");
        assert_eq!(h.header_len, 7);
        // 00010 0100 0001 000 = 0x12 0x08
        assert_eq!(h.asc, [0x12, 0x08]);
        assert_eq!(aac_object_type(&h.asc), Some(2));
        // Length field disagreeing with the packet, bad sync, or too short: refused.
        assert_eq!(parse_adts(&frame[..9]), None);
        let mut bad = frame.clone();
        bad[0] = 0xfe;
        assert_eq!(parse_adts(&bad), None);
        assert_eq!(parse_adts(&frame[..5]), None);
    }

    #[test]
    fn flac_streaminfo_accepts_both_forms() {
        let body: Vec<u8> = (0..34).collect();
        assert_eq!(flac_streaminfo(&body).as_deref(), Some(&body[..]));
        let mut mkv = b"fLaC".to_vec();
        mkv.extend_from_slice(&[0x80, 0, 0, 34]);
        mkv.extend_from_slice(&body);
        assert_eq!(flac_streaminfo(&mkv).as_deref(), Some(&body[..]));
        assert_eq!(flac_streaminfo(&body[..10]), None);
        assert_eq!(flac_streaminfo(b"fLaC\x01\0\0\x22"), None);
    }

    #[test]
    fn decoder_mapping_checks_codec_and_config() {
        assert!(matches!(
            make_decoder(&audio_track("opus", vec![])),
            Err(AudioCodecError::UnsupportedCodec(c)) if c == "opus"
        ));
        assert!(matches!(
            make_decoder(&audio_track("flac", vec![0; 10])),
            Err(AudioCodecError::BadCodecPrivate { .. })
        ));
        assert!(matches!(
            make_decoder(&Track::data()),
            Err(AudioCodecError::NotAudio)
        ));
        let dec = make_decoder(&audio_track("aac", vec![0x11, 0x90])).expect("aac decoder");
        assert_eq!(dec.codec_params().codec, CODEC_TYPE_AAC);
    }
}

//! Decrypted tracks back into a Matroska file FFmpeg and ffprobe read.

use std::path::Path;

use ffmpeg_next::{codec, media, Codec, Rational, Rescale};
use packager_format::{ContentKind, Header, Packet, SegmentEntry};

use super::ffi::{self, MuxParams};
use super::{init, MediaError};

pub(crate) fn remux(
    header: &Header,
    segments: &mut dyn Iterator<Item = Result<(SegmentEntry, Vec<Packet>), MediaError>>,
    out: &Path,
) -> Result<(), MediaError> {
    init()?;
    if header.kind != ContentKind::Media {
        return Err(MediaError::Remux("the file holds data, not media".into()));
    }
    let write_err = |e: ffmpeg_next::Error| MediaError::Write {
        path: out.to_path_buf(),
        reason: e.to_string(),
    };
    let mut octx = ffmpeg_next::format::output_as(&out, "matroska").map_err(write_err)?;
    for (i, track) in header.tracks.iter().enumerate() {
        let (medium, id) = match track.codec.as_str() {
            "av1" => (media::Type::Video, codec::Id::AV1),
            "aac" => (media::Type::Audio, codec::Id::AAC),
            "flac" => (media::Type::Audio, codec::Id::FLAC),
            "mp3" => (media::Type::Audio, codec::Id::MP3),
            other => {
                return Err(MediaError::Remux(format!(
                    "track {i} has codec {other:?}, which Matroska output does not support"
                )))
            }
        };
        let timescale = i32::try_from(track.timescale)
            .ok()
            .filter(|t| *t > 0)
            .ok_or_else(|| MediaError::Remux(format!("track {i} has an invalid timescale")))?;
        let params = ffi::mux_parameters(&MuxParams {
            medium,
            id,
            width: track.width,
            height: track.height,
            sample_rate: track.sample_rate,
            channels: track.channels,
            bit_rate: track.bit_rate,
            extradata: &track.codec_private,
        })
        .map_err(write_err)?;
        let mut ost = octx.add_stream(None::<Codec>).map_err(write_err)?;
        ost.set_parameters(params);
        ost.set_time_base(Rational(1, timescale));
        if track.frame_rate_num > 0 && track.frame_rate_den > 0 {
            let fps = Rational(track.frame_rate_num as i32, track.frame_rate_den as i32);
            ost.set_avg_frame_rate(fps);
            ost.set_rate(fps);
        }
    }
    octx.write_header().map_err(write_err)?;
    let out_tbs: Vec<Rational> = octx.streams().map(|s| s.time_base()).collect();

    for item in segments {
        let (entry, packets) = item?;
        let t = entry.track as usize;
        let Some(track) = header.tracks.get(t) else {
            return Err(MediaError::Remux(format!(
                "a segment names track {t}, which does not exist"
            )));
        };
        let from = Rational(1, track.timescale as i32);
        let to = out_tbs[t];
        for p in packets {
            let mut pkt = ffmpeg_next::Packet::copy(&p.data);
            pkt.set_stream(t);
            pkt.set_pts(Some(p.pts.rescale(from, to)));
            pkt.set_dts(Some(p.dts.rescale(from, to)));
            pkt.set_duration(i64::from(p.duration).rescale(from, to));
            if p.keyframe {
                pkt.set_flags(codec::packet::Flags::KEY);
            }
            pkt.write_interleaved(&mut octx).map_err(write_err)?;
        }
    }
    octx.write_trailer().map_err(write_err)?;
    Ok(())
}

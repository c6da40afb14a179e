//! Probing: which streams an input has, and whether they already fit the playback profile.

use std::path::Path;

use ffmpeg_next::format::stream::Disposition;
use ffmpeg_next::{codec, media};

use super::audio_codec::{aac_object_type, flac_streaminfo};
use super::ffi::{self, StreamParams};
use super::rotate::Rotation;
use super::{init, MediaError, MediaProbe, StreamProbe};

/// File name extensions that claim to be audio or video: FFmpeg failing on such a file is an
/// error, not a sign that the file is plain data.
const MEDIA_EXTENSIONS: &[&str] = &[
    "3gp", "aac", "ac3", "aif", "aiff", "avi", "caf", "flac", "flv", "ivf", "m2ts", "m4a", "m4v",
    "mka", "mkv", "mov", "mp3", "mp4", "mpeg", "mpg", "oga", "ogg", "ogv", "opus", "ts", "wav",
    "webm", "wma", "wmv",
];

/// Demuxers whose "video" is not moving pictures: text rendered as ANSI art, still images.
fn is_still_or_text_format(name: &str) -> bool {
    name == "tty" || name == "image2" || name.ends_with("_pipe") || name == "gif"
}

pub(crate) fn open_input(path: &Path) -> Result<ffmpeg_next::format::context::Input, MediaError> {
    ffmpeg_next::format::input(&path).map_err(|e| MediaError::Unreadable {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

pub(crate) fn probe(path: &Path) -> Result<Option<MediaProbe>, MediaError> {
    init()?;
    // Distinguish "no such file / no permission" from "not media" before FFmpeg does.
    std::fs::File::open(path).map_err(|source| MediaError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let ictx = match open_input(path) {
        Ok(c) => c,
        Err(e) if claims_media(path) => return Err(e),
        Err(_) => return Ok(None),
    };
    let format_name = ictx.format().name().to_string();
    let pictures_allowed = !is_still_or_text_format(&format_name);

    let mut video = None;
    let mut audio = None;
    for stream in ictx.streams() {
        let params = ffi::stream_params(&stream.parameters());
        match params.medium {
            media::Type::Video
                if video.is_none()
                    && pictures_allowed
                    && !stream.disposition().contains(Disposition::ATTACHED_PIC) =>
            {
                let mut probe = stream_probe(stream.index(), &params);
                // A rotated picture is turned upright, which needs a re-encode.
                probe.fits_profile &= Rotation::of_stream(&stream) == Rotation::None;
                video = Some(probe);
            }
            media::Type::Audio if audio.is_none() => {
                audio = Some(stream_probe(stream.index(), &params));
            }
            _ => {}
        }
    }
    if video.is_none() && audio.is_none() {
        return Ok(None);
    }
    let duration_ms = container_duration_ms(&ictx);
    let mime_type = mime_type(&format_name, path, video.is_some());
    Ok(Some(MediaProbe {
        duration_ms,
        mime_type,
        format_name,
        video,
        audio,
    }))
}

fn claims_media(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .map(|e| MEDIA_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        .unwrap_or(false)
}

fn stream_probe(index: usize, p: &StreamParams) -> StreamProbe {
    StreamProbe {
        index,
        codec: codec_name(p.id),
        width: p.width,
        height: p.height,
        sample_rate: p.sample_rate,
        channels: p.channels,
        fits_profile: fits_profile(p),
    }
}

pub(crate) fn codec_name(id: codec::Id) -> String {
    id.name().to_string()
}

/// Whether a stream can be copied as is into the playback profile.
pub(crate) fn fits_profile(p: &StreamParams) -> bool {
    match p.id {
        codec::Id::AV1 => {
            p.format == ffmpeg_next::ffi::AVPixelFormat::AV_PIX_FMT_YUV420P as i32
                && p.width > 0
                && p.height > 0
        }
        // Only with an AudioSpecificConfig: ADTS streams (raw .aac, MPEG-TS) carry their config
        // in every packet header, which neither Matroska nor symphonia's packet API expects.
        // Mono or stereo only: symphonia's AAC decoder (the player's) takes no more. Without an
        // AudioSpecificConfig the stream is ADTS (raw .aac, MPEG-TS): its headers are stripped
        // and the config rebuilt from them while copying.
        codec::Id::AAC => {
            let lc_profile = p.profile == ffmpeg_next::ffi::FF_PROFILE_AAC_LOW;
            let lc = if p.extradata.is_empty() {
                lc_profile
            } else {
                (p.profile < 0 || lc_profile) && aac_object_type(&p.extradata) == Some(2)
            };
            lc && p.sample_rate > 0 && (1..=2).contains(&p.channels)
        }
        codec::Id::FLAC => flac_streaminfo(&p.extradata).is_some(),
        _ => false,
    }
}

fn container_duration_ms(ictx: &ffmpeg_next::format::context::Input) -> u64 {
    let d = ictx.duration();
    if d > 0 {
        return u64::try_from(d / 1000).unwrap_or(0);
    }
    ictx.streams()
        .filter(|s| s.duration() > 0)
        .map(|s| {
            let tb = s.time_base();
            let ms = i128::from(s.duration()) * 1000 * i128::from(tb.numerator())
                / i128::from(tb.denominator().max(1));
            u64::try_from(ms).unwrap_or(0)
        })
        .max()
        .unwrap_or(0)
}

fn mime_type(format_name: &str, path: &Path, has_video: bool) -> String {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let av = |v: &str, a: &str| if has_video { v } else { a }.to_string();
    let first = format_name.split(',').next().unwrap_or("");
    match first {
        "mov" if ext == "mov" => "video/quicktime".into(),
        "mov" if ext == "3gp" => av("video/3gpp", "audio/3gpp"),
        "mov" => av("video/mp4", "audio/mp4"),
        "matroska" if ext == "webm" => av("video/webm", "audio/webm"),
        "matroska" => av("video/x-matroska", "audio/x-matroska"),
        "ogg" => av("video/ogg", "audio/ogg"),
        "flac" => "audio/flac".into(),
        "mp3" => "audio/mpeg".into(),
        "wav" => "audio/wav".into(),
        "aac" => "audio/aac".into(),
        "aiff" => "audio/aiff".into(),
        "avi" => "video/x-msvideo".into(),
        "mpegts" => "video/mp2t".into(),
        "mpeg" => av("video/mpeg", "audio/mpeg"),
        "flv" => "video/x-flv".into(),
        "asf" => av("video/x-ms-asf", "audio/x-ms-wma"),
        "ivf" => "video/x-ivf".into(),
        _ => "application/octet-stream".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mime_types_follow_demuxer_extension_and_video() {
        let p = Path::new;
        assert_eq!(
            mime_type("mov,mp4,m4a,3gp,3g2,mj2", p("a.mp4"), true),
            "video/mp4"
        );
        assert_eq!(
            mime_type("mov,mp4,m4a,3gp,3g2,mj2", p("a.m4a"), false),
            "audio/mp4"
        );
        assert_eq!(
            mime_type("mov,mp4,m4a,3gp,3g2,mj2", p("a.MOV"), true),
            "video/quicktime"
        );
        assert_eq!(mime_type("matroska,webm", p("a.webm"), true), "video/webm");
        assert_eq!(
            mime_type("matroska,webm", p("a.mka"), false),
            "audio/x-matroska"
        );
        assert_eq!(mime_type("flac", p("a"), false), "audio/flac");
        assert_eq!(
            mime_type("something_new", p("a.x"), true),
            "application/octet-stream"
        );
    }

    #[test]
    fn only_media_names_claim_media() {
        assert!(claims_media(Path::new("song.FLAC")));
        assert!(claims_media(Path::new("/x/film.mkv")));
        assert!(!claims_media(Path::new("book.pdf")));
        assert!(!claims_media(Path::new("noext")));
    }

    #[test]
    fn text_and_stills_are_not_moving_pictures() {
        assert!(is_still_or_text_format("tty"));
        assert!(is_still_or_text_format("png_pipe"));
        assert!(is_still_or_text_format("image2"));
        assert!(!is_still_or_text_format("mov,mp4,m4a,3gp,3g2,mj2"));
    }
}

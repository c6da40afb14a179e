//! Media: probe, transcode/copy, segment, symphonia verification and remux, on inputs made by
//! the `ffmpeg` CLI.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use packager::media::{self, MediaError, MediaOptions, MediaProbe, MediaSegment, MediaSummary};
use packager_format::{
    ContentKind, Header, KeyEnvelope, Metadata, Packet, SegmentEntry, TrackKind,
    KEY_SCHEME_LABELLED_BLS12_381, SEGMENT_KEYFRAME,
};
use tests::media::ffmpeg;

/// `ffprobe` output of one entry as `key=value` lines.
fn ffprobe(path: &Path, select: &str, entries: &str) -> String {
    let out = Command::new("ffprobe")
        .args(["-v", "error"])
        .args(if select.is_empty() {
            vec![]
        } else {
            vec!["-select_streams", select]
        })
        .args([
            "-show_entries",
            entries,
            "-of",
            "default=noprint_wrappers=1",
        ])
        .arg(path)
        .output()
        .expect("the ffprobe CLI is required for these tests");
    assert!(
        out.status.success(),
        "ffprobe failed on {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

fn probe_value(path: &Path, select: &str, entry: &str, key: &str) -> String {
    ffprobe(path, select, entry)
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")).map(str::to_string))
        .unwrap_or_else(|| panic!("ffprobe reported no {key} for {}", path.display()))
}

/// One property (`codec_name`, `width`, ...) of the stream `select` picks, as ffprobe reports it.
fn stream_value(path: &Path, select: &str, key: &str) -> String {
    probe_value(path, select, &format!("stream={key}"), key)
}

/// Decodes a file fully with the `ffmpeg` CLI and asserts it reports no error.
fn assert_ffmpeg_decodes(path: &Path) {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-v", "error", "-i"])
        .arg(path)
        .args(["-f", "null", "-"])
        .output()
        .expect("ffmpeg CLI");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.trim().is_empty(),
        "ffmpeg could not decode {}: {stderr}",
        path.display()
    );
}

const CLIP_SECONDS: f64 = 5.0;

fn make_h264_aac_mp4(dir: &Path) -> PathBuf {
    tests::media::make(
        &dir.join("clip.mp4"),
        CLIP_SECONDS as u32,
        "640x360",
        &[
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-b:a",
            "128k",
            "-shortest",
        ],
    )
}

/// H.264 video of the lavfi `source` (no audio) at `out`.
fn h264_video(source: &str, out: &Path) {
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        source,
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        out.to_str().unwrap(),
    ]);
}

fn make_flac(dir: &Path) -> PathBuf {
    tests::media::make(
        &dir.join("tone.flac"),
        CLIP_SECONDS as u32,
        "64x64",
        &["-map", "1:a", "-c:a", "flac"],
    )
}

fn make_opus(dir: &Path) -> PathBuf {
    tests::media::make(
        &dir.join("tone.ogg"),
        CLIP_SECONDS as u32,
        "64x64",
        &["-map", "1:a", "-ac", "2", "-c:a", "libopus", "-b:a", "96k"],
    )
}

struct Packaged {
    probe: MediaProbe,
    summary: MediaSummary,
    segments: Vec<MediaSegment>,
    /// Every `(done_ms, total_ms)` reported.
    progress: Vec<(u64, u64)>,
}

fn package(path: &Path, lossless: bool) -> Packaged {
    let probe = media::probe(path)
        .expect("probe")
        .expect("the input is media");
    let mut segments = Vec::new();
    let mut progress = Vec::new();
    let opts = MediaOptions {
        lossless,
        ..MediaOptions::default()
    };
    let summary = media::package_media(
        path,
        &probe,
        &opts,
        &mut |done, total| progress.push((done, total)),
        &mut |seg| {
            segments.push(seg);
            Ok(())
        },
    )
    .expect("package_media");
    Packaged {
        probe,
        summary,
        segments,
        progress,
    }
}

fn packets_of(p: &Packaged, track: u32) -> Vec<Packet> {
    p.segments
        .iter()
        .filter(|s| s.track == track)
        .flat_map(|s| s.packets.iter().cloned())
        .collect()
}

/// The packets of the first stream of `medium` in `path`, as FFmpeg demuxes them.
fn source_packets(path: &Path, medium: ffmpeg_next::media::Type) -> Vec<Vec<u8>> {
    ffmpeg_next::init().expect("ffmpeg init");
    let mut ictx = ffmpeg_next::format::input(&path).expect("open source");
    let index = ictx
        .streams()
        .find(|s| s.parameters().medium() == medium)
        .expect("stream")
        .index();
    ictx.packets()
        .filter(|(s, _)| s.index() == index)
        .filter_map(|(_, p)| p.data().map(<[u8]>::to_vec))
        .collect()
}

/// A header carrying the packaged tracks and a segment table in emission order (offsets and
/// sizes follow the plaintext sizes; remux does not read them).
fn header_for(p: &Packaged) -> Header {
    let mut offset = 0u64;
    let segments = p
        .segments
        .iter()
        .map(|s| {
            let size = 16 + packager_format::encode_packets(&s.packets).len() as u32;
            let e = SegmentEntry {
                track: s.track,
                offset,
                size,
                pts: s.pts,
                duration: s.duration,
                flags: if s.keyframe { SEGMENT_KEYFRAME } else { 0 },
            };
            offset += u64::from(size);
            e
        })
        .collect();
    let header = Header {
        salt: vec![7; 32],
        creator_account: [0xC1; 20],
        kind: ContentKind::Media,
        metadata: Metadata {
            mime_type: p.summary.mime_type.clone(),
            duration_ms: p.summary.duration_ms,
            thumbnail: p.summary.thumbnail.clone(),
            ..Metadata::default()
        },
        tracks: p.summary.tracks.clone(),
        renderers: Vec::new(),
        key: KeyEnvelope {
            scheme: KEY_SCHEME_LABELLED_BLS12_381,
            group_key_id: vec![1; 32],
            ciphertext: vec![2; 8],
        },
        segments,
    };
    header
        .validate()
        .expect("the packaged tracks make a valid header");
    header
}

fn remux_to(p: &Packaged, out: &Path) {
    let header = header_for(p);
    let mut items = header
        .segments
        .clone()
        .into_iter()
        .zip(p.segments.iter().map(|s| s.packets.clone()))
        .map(Ok);
    media::remux(&header, &mut items, out).expect("remux");
}

/// Remuxes `p` to `out` and checks the file as FFmpeg sees it: it lasts `seconds` and decodes
/// without error.
fn remux_checked(p: &Packaged, out: &Path, seconds: f64) {
    remux_to(p, out);
    assert_duration_close(out, seconds);
    assert_ffmpeg_decodes(out);
}

/// Symphonia's verification of track `track`: the sample frames it decoded.
fn verified_frames(p: &Packaged, track: u32) -> u64 {
    let t = &p.summary.tracks[track as usize];
    media::verify_audio_track(track, t, &mut packets_of(p, track).into_iter())
        .unwrap_or_else(|e| panic!("{} track {track} does not verify: {e}", t.codec))
}

fn assert_duration_ms_close(p: &Packaged, expected_ms: u64) {
    let ms = p.summary.duration_ms;
    assert!(
        ms.abs_diff(expected_ms) <= 100,
        "{ms} ms, expected {expected_ms} ms"
    );
}

fn assert_duration_close(path: &Path, expected_s: f64) {
    let d: f64 = probe_value(path, "", "format=duration", "duration")
        .parse()
        .expect("duration is a number");
    assert!(
        (d - expected_s).abs() <= 0.1,
        "{} lasts {d} s, expected {expected_s} s",
        path.display()
    );
}

fn start_us(p: &Packaged, s: &MediaSegment) -> i128 {
    i128::from(s.pts) * 1_000_000 / i128::from(p.summary.tracks[s.track as usize].timescale)
}

#[test]
fn h264_aac_mp4_becomes_av1_with_aac_copied_then_remuxes() {
    let dir = tempfile::tempdir().unwrap();
    let input = make_h264_aac_mp4(dir.path());

    let started = Instant::now();
    let p = package(&input, false);
    eprintln!(
        "packaged the {CLIP_SECONDS} s 640x360 clip in {:.2} s",
        started.elapsed().as_secs_f64()
    );

    assert_eq!(p.probe.mime_type, "video/mp4");
    let v = p.probe.video.as_ref().expect("video stream");
    let a = p.probe.audio.as_ref().expect("audio stream");
    assert_eq!((v.codec.as_str(), v.fits_profile), ("h264", false));
    assert_eq!((a.codec.as_str(), a.fits_profile), ("aac", true));
    // Progress: from 0, about once per second, never backwards, ending done.
    assert_eq!(p.progress.first(), Some(&(0, 5000)));
    assert!(p.progress.len() >= 5, "{:?}", p.progress);
    assert!(p
        .progress
        .windows(2)
        .all(|w| w[0].0 <= w[1].0 && w[1].0 <= w[1].1));
    let (done, total) = *p.progress.last().unwrap();
    assert_eq!(done, total);

    let tracks = &p.summary.tracks;
    assert_eq!(tracks.len(), 2);
    assert_eq!(tracks[0].kind, TrackKind::Video);
    assert_eq!(tracks[0].codec, "av1");
    assert_eq!((tracks[0].width, tracks[0].height), (640, 360));
    assert_eq!(
        (tracks[0].frame_rate_num, tracks[0].frame_rate_den),
        (24, 1)
    );
    // SVT-AV1's sequence header OBU: type 1 in the OBU header.
    assert_eq!(
        tracks[0].codec_private.first().map(|b| (b >> 3) & 0x0f),
        Some(1)
    );
    assert!(
        tracks[0].bit_rate > 50_000 && tracks[0].bit_rate < 4_000_000,
        "{}",
        tracks[0].bit_rate
    );
    assert_eq!(tracks[1].kind, TrackKind::Audio);
    assert_eq!(tracks[1].codec, "aac");
    assert_eq!((tracks[1].sample_rate, tracks[1].channels), (44_100, 1));
    assert_eq!(tracks[1].timescale, 44_100);
    assert_duration_ms_close(&p, 5000);
    let thumb = p.summary.thumbnail.as_ref().expect("thumbnail");
    assert_eq!(thumb.mime_type, "image/png");
    assert!(thumb.bytes.starts_with(b"\x89PNG\r\n\x1a\n"));

    // AAC was copied, not re-encoded: the very same packets, in order.
    let copied: Vec<Vec<u8>> = packets_of(&p, 1).into_iter().map(|p| p.data).collect();
    assert_eq!(
        copied,
        source_packets(&input, ffmpeg_next::media::Type::Audio)
    );

    // Video segments start on keyframes and last about 2 s (the last one is what remains).
    let video: Vec<&MediaSegment> = p.segments.iter().filter(|s| s.track == 0).collect();
    assert_eq!(video.len(), 3, "5 s in 2 s segments");
    for (i, s) in video.iter().enumerate() {
        assert!(
            s.keyframe && s.packets[0].keyframe,
            "video segment {i} starts on a keyframe"
        );
        assert_eq!(s.packets.iter().filter(|p| p.keyframe).count(), 1);
        let secs = f64::from(s.duration) / f64::from(tracks[0].timescale);
        if i + 1 < video.len() {
            assert!((secs - 2.0).abs() < 0.1, "video segment {i} lasts {secs} s");
        }
    }
    let frames: usize = video.iter().map(|s| s.packets.len()).sum();
    assert_eq!(frames, 120, "5 s at 24 fps");
    // Audio segments are about 2 s too.
    for s in p.segments.iter().filter(|s| s.track == 1).rev().skip(1) {
        let secs = f64::from(s.duration) / 44_100.0;
        assert!((2.0..2.1).contains(&secs), "audio segment lasts {secs} s");
    }
    // Segments are emitted interleaved, in start-time order.
    let starts: Vec<i128> = p.segments.iter().map(|s| start_us(&p, s)).collect();
    assert!(
        starts.windows(2).all(|w| w[0] <= w[1]),
        "not in time order: {starts:?}"
    );
    assert_ne!(
        p.segments[0].track, p.segments[1].track,
        "tracks are interleaved"
    );

    // Symphonia decodes the AAC track.
    let frames = verified_frames(&p, 1);
    assert!(frames >= 5 * 44_100, "decoded {frames} sample frames");

    // Remux: ffprobe sees AV1 + AAC and the duration, ffmpeg decodes without error.
    let mkv = dir.path().join("out.mkv");
    remux_checked(&p, &mkv, CLIP_SECONDS);
    assert_eq!(stream_value(&mkv, "v:0", "codec_name"), "av1");
    assert_eq!(stream_value(&mkv, "a:0", "codec_name"), "aac");
    assert_eq!(stream_value(&mkv, "v:0", "width"), "640");
}

#[test]
fn flac_is_kept_verifies_and_remuxes() {
    let dir = tempfile::tempdir().unwrap();
    let input = make_flac(dir.path());
    let p = package(&input, false);
    assert_eq!(p.probe.mime_type, "audio/flac");
    assert!(p.probe.video.is_none());
    let tracks = &p.summary.tracks;
    assert_eq!(tracks.len(), 1);
    assert_eq!(tracks[0].codec, "flac");
    // codec_private is the STREAMINFO body exactly as in the file (after "fLaC" + block header).
    let file = std::fs::read(&input).unwrap();
    assert_eq!(tracks[0].codec_private, file[8..42].to_vec());
    let packets = packets_of(&p, 0);
    assert_eq!(
        packets.iter().map(|p| p.data.clone()).collect::<Vec<_>>(),
        source_packets(&input, ffmpeg_next::media::Type::Audio),
        "FLAC frames copied unchanged"
    );
    let frames = verified_frames(&p, 0);
    assert_eq!(frames, 5 * 44_100);

    let mka = dir.path().join("out.mka");
    remux_checked(&p, &mka, CLIP_SECONDS);
    assert_eq!(stream_value(&mka, "a:0", "codec_name"), "flac");
}

#[test]
fn opus_becomes_aac_or_flac_when_lossless() {
    let dir = tempfile::tempdir().unwrap();
    let input = make_opus(dir.path());

    let p = package(&input, false);
    assert_eq!(p.probe.mime_type, "audio/ogg");
    let a = p.probe.audio.as_ref().unwrap();
    assert_eq!((a.codec.as_str(), a.fits_profile), ("opus", false));
    let t = &p.summary.tracks[0];
    assert_eq!(t.codec, "aac");
    assert_eq!(
        (t.sample_rate, t.channels, t.timescale),
        (48_000, 2, 48_000)
    );
    assert!(t.codec_private.len() >= 2);
    assert_duration_ms_close(&p, 5000);
    let frames = verified_frames(&p, 0);
    assert!(frames >= 5 * 48_000, "decoded {frames}");
    let mka = dir.path().join("aac.mka");
    remux_checked(&p, &mka, CLIP_SECONDS);
    assert_eq!(stream_value(&mka, "a:0", "codec_name"), "aac");

    let p = package(&input, true);
    let t = &p.summary.tracks[0];
    assert_eq!(t.codec, "flac");
    assert_eq!(t.codec_private.len(), 34);
    let frames = verified_frames(&p, 0);
    assert!(
        (frames as f64 - 5.0 * 48_000.0).abs() < 4800.0,
        "decoded {frames}"
    );
    let mka = dir.path().join("flac.mka");
    remux_checked(&p, &mka, CLIP_SECONDS);
    assert_eq!(stream_value(&mka, "a:0", "codec_name"), "flac");
}

/// Symphonia's verification of track 0 of `p` with every byte of packet `n` after its first
/// one flipped: the error naming that packet.
fn corrupted_packet_error(p: &Packaged, n: usize) -> MediaError {
    let mut packets = packets_of(p, 0);
    for b in packets[n].data.iter_mut().skip(1) {
        *b ^= 0xa5;
    }
    let t = &p.summary.tracks[0];
    let err = media::verify_audio_track(0, t, &mut packets.into_iter())
        .expect_err("corrupted packets must not verify");
    assert!(
        matches!(err, MediaError::AudioDecode { track: 0, packet, .. } if packet == n as u64),
        "{} packet {n}: {err:?}",
        t.codec
    );
    err
}

#[test]
fn corrupted_flac_packets_fail_symphonia_verification() {
    let dir = tempfile::tempdir().unwrap();
    let p = package(&make_flac(dir.path()), false);
    let err = corrupted_packet_error(&p, 3);
    assert!(err
        .to_string()
        .starts_with("symphonia failed to decode track 0 packet 3: "));
}

#[test]
fn corrupted_aac_packets_fail_symphonia_verification() {
    let dir = tempfile::tempdir().unwrap();
    let p = package(&make_opus(dir.path()), false);
    corrupted_packet_error(&p, 5);
}

#[test]
fn text_is_not_media_and_garbage_media_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "just some words\nnothing to play here\n").unwrap();
    assert!(media::probe(&text).expect("a text file probes").is_none());

    let blob = dir.path().join("blob.bin");
    std::fs::write(
        &blob,
        (0..4096u32)
            .map(|i| (i * 7919 % 251) as u8)
            .collect::<Vec<_>>(),
    )
    .unwrap();
    assert!(media::probe(&blob).expect("unknown bytes probe").is_none());

    let garbage = dir.path().join("broken.mp4");
    std::fs::write(&garbage, b"this is not an mp4 at all, just text pretending").unwrap();
    let err = media::probe(&garbage).expect_err("garbage named .mp4 is an error");
    assert!(matches!(err, MediaError::Unreadable { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.starts_with("cannot read media ") && msg.contains("broken.mp4"),
        "{msg}"
    );

    let missing = dir.path().join("missing.flac");
    let err = media::probe(&missing).expect_err("missing file");
    assert!(matches!(err, MediaError::Io { .. }), "{err:?}");
}

#[test]
fn bad_segment_length_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let input = make_flac(dir.path());
    let probe = media::probe(&input).unwrap().unwrap();
    let opts = MediaOptions {
        lossless: false,
        segment_seconds: 0.0,
    };
    let err = media::package_media(&input, &probe, &opts, &mut |_, _| {}, &mut |_| Ok(()))
        .expect_err("zero-length segments");
    assert!(matches!(err, MediaError::BadOptions(_)), "{err:?}");
}

#[test]
fn sink_error_stops_packaging() {
    let dir = tempfile::tempdir().unwrap();
    let input = make_flac(dir.path());
    let probe = media::probe(&input).unwrap().unwrap();
    let mut calls = 0;
    let err = media::package_media(
        &input,
        &probe,
        &MediaOptions::default(),
        &mut |_, _| {},
        &mut |_| {
            calls += 1;
            Err(MediaError::sink("disk full"))
        },
    )
    .expect_err("the sink failed");
    assert_eq!(calls, 1, "no segment after the sink failed");
    assert_eq!(err.to_string(), "disk full");
}

#[test]
fn av1_input_is_copied_without_reencoding() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("av1.mkv");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=duration=3:size=320x240:rate=25",
        "-c:v",
        "libsvtav1",
        "-preset",
        "12",
        "-g",
        "25",
        "-pix_fmt",
        "yuv420p",
        input.to_str().unwrap(),
    ]);
    let p = package(&input, false);
    let v = p.probe.video.as_ref().unwrap();
    assert_eq!((v.codec.as_str(), v.fits_profile), ("av1", true));
    let t = &p.summary.tracks[0];
    assert_eq!((t.codec.as_str(), t.width, t.height), ("av1", 320, 240));
    assert_eq!(t.codec_private.first().map(|b| (b >> 3) & 0x0f), Some(1));
    let copied: Vec<Vec<u8>> = packets_of(&p, 0).into_iter().map(|p| p.data).collect();
    assert_eq!(
        copied,
        source_packets(&input, ffmpeg_next::media::Type::Video)
    );
    assert!(p.segments.iter().all(|s| s.keyframe));
    let thumb = p
        .summary
        .thumbnail
        .as_ref()
        .expect("thumbnail of copied video");
    assert!(thumb.bytes.starts_with(b"\x89PNG\r\n\x1a\n"));
    let mkv = dir.path().join("out.mkv");
    remux_checked(&p, &mkv, 3.0);
}

#[test]
fn cover_art_is_the_thumbnail_not_a_video_track() {
    let dir = tempfile::tempdir().unwrap();
    let flac = make_flac(dir.path());
    let cover = dir.path().join("cover.png");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "color=c=red:size=64x64",
        "-frames:v",
        "1",
        cover.to_str().unwrap(),
    ]);
    // A still image alone is not media: it is packaged as data.
    assert!(media::probe(&cover).expect("png probes").is_none());

    let with_cover = dir.path().join("with-cover.flac");
    ffmpeg(&[
        "-i",
        flac.to_str().unwrap(),
        "-i",
        cover.to_str().unwrap(),
        "-map",
        "0:a",
        "-map",
        "1:v",
        "-c",
        "copy",
        "-disposition:v",
        "attached_pic",
        with_cover.to_str().unwrap(),
    ]);
    let p = package(&with_cover, false);
    assert!(p.probe.video.is_none(), "cover art is not a video stream");
    assert_eq!(p.summary.tracks.len(), 1);
    assert_eq!(p.summary.tracks[0].codec, "flac");
    let thumb = p.summary.thumbnail.expect("cover art thumbnail");
    assert_eq!(thumb.mime_type, "image/png");
    assert_eq!(thumb.bytes, std::fs::read(&cover).unwrap());
}

#[test]
fn odd_size_high_depth_video_and_surround_pcm_are_normalised() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("odd.mkv");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=duration=3:size=321x241:rate=30000/1001",
        "-f",
        "lavfi",
        "-i",
        "sine=f=300:d=3:sample_rate=48000",
        "-filter_complex",
        "[1:a]pan=5.1|c0=c0|c1=c0|c2=c0|c3=c0|c4=c0|c5=c0[a]",
        "-map",
        "0:v",
        "-map",
        "[a]",
        "-pix_fmt",
        "yuv444p10le",
        "-c:v",
        "ffv1",
        "-c:a",
        "pcm_s24le",
        input.to_str().unwrap(),
    ]);
    let p = package(&input, false);
    assert_eq!(p.probe.mime_type, "video/x-matroska");
    let v = &p.summary.tracks[0];
    // 4:2:0 needs even dimensions: one row and one column are dropped by scaling.
    assert_eq!((v.codec.as_str(), v.width, v.height), ("av1", 320, 240));
    assert_eq!((v.frame_rate_num, v.frame_rate_den), (30000, 1001));
    // Symphonia decodes AAC mono/stereo only: 5.1 becomes stereo AAC...
    let a = &p.summary.tracks[1];
    assert_eq!(
        (a.codec.as_str(), a.channels, a.sample_rate),
        ("aac", 2, 48_000)
    );
    let frames = verified_frames(&p, 1);
    assert!(frames >= 3 * 48_000, "decoded {frames}");
    let mkv = dir.path().join("out.mkv");
    remux_checked(&p, &mkv, 3.0);
    assert_eq!(stream_value(&mkv, "v:0", "pix_fmt"), "yuv420p");
    assert_eq!(stream_value(&mkv, "a:0", "channels"), "2");

    // ...and lossless keeps all six channels, as 24-bit FLAC (the input is 24-bit PCM).
    let p = package(&input, true);
    let a = &p.summary.tracks[1];
    assert_eq!(
        (a.codec.as_str(), a.channels, a.sample_rate),
        ("flac", 6, 48_000)
    );
    // STREAMINFO: bits per sample - 1 in bits 4..9 of bytes 12..13.
    let bits = (((a.codec_private[12] & 0x01) << 4) | (a.codec_private[13] >> 4)) + 1;
    assert_eq!(bits, 24);
    let frames = verified_frames(&p, 1);
    assert_eq!(frames, 3 * 48_000);
    let mkv = dir.path().join("lossless.mkv");
    remux_checked(&p, &mkv, 3.0);
    assert_eq!(stream_value(&mkv, "a:0", "channels"), "6");
}

#[test]
fn adts_aac_is_copied_with_headers_stripped() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("tone.aac");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "sine=f=440:d=5",
        "-c:a",
        "aac",
        "-f",
        "adts",
        input.to_str().unwrap(),
    ]);
    let p = package(&input, false);
    assert_eq!(p.probe.mime_type, "audio/aac");
    let a = p.probe.audio.as_ref().unwrap();
    assert_eq!((a.codec.as_str(), a.fits_profile), ("aac", true));
    let t = &p.summary.tracks[0];
    assert_eq!(t.codec, "aac");
    // AAC-LC, 44.1 kHz, mono, rebuilt from the ADTS headers.
    assert_eq!(t.codec_private, vec![0x12, 0x08]);
    let source = source_packets(&input, ffmpeg_next::media::Type::Audio);
    let copied: Vec<Vec<u8>> = packets_of(&p, 0).into_iter().map(|p| p.data).collect();
    assert_eq!(copied.len(), source.len());
    for (c, s) in copied.iter().zip(&source) {
        assert_eq!(&s[..2], &[0xff, 0xf1], "source packets are ADTS frames");
        assert_eq!(
            c[..],
            s[7..],
            "payload copied unchanged, 7-byte header dropped"
        );
    }
    let frames = verified_frames(&p, 0);
    assert!(frames >= 5 * 44_100, "decoded {frames}");
    let mka = dir.path().join("out.mka");
    remux_checked(&p, &mka, CLIP_SECONDS);
    assert_eq!(stream_value(&mka, "a:0", "codec_name"), "aac");
}

#[test]
fn mpegts_starting_late_is_moved_to_zero() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("clip.ts");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=duration=3:size=320x240:rate=25",
        "-f",
        "lavfi",
        "-i",
        "sine=f=440:d=3",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-c:a",
        "aac",
        "-shortest",
        "-f",
        "mpegts",
        input.to_str().unwrap(),
    ]);
    let start: f64 = probe_value(&input, "", "format=start_time", "start_time")
        .parse()
        .unwrap();
    assert!(start > 1.0, "MPEG-TS starts late ({start} s)");
    let p = package(&input, false);
    assert_eq!(p.probe.mime_type, "video/mp2t");
    let a = p.probe.audio.as_ref().unwrap();
    assert!(a.fits_profile, "ADTS AAC in MPEG-TS is copied");
    // Every track now starts within a frame of 0.
    for (t, track) in p.summary.tracks.iter().enumerate() {
        let first = p.segments.iter().find(|s| s.track == t as u32).unwrap();
        let secs = first.pts as f64 / f64::from(track.timescale);
        assert!(secs.abs() < 0.05, "track {t} starts at {secs} s");
    }
    assert_duration_ms_close(&p, 3000);
    let mkv = dir.path().join("out.mkv");
    remux_checked(&p, &mkv, 3.0);
}

#[test]
fn anamorphic_video_gets_square_pixels() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("anamorphic.mp4");
    // 16:9 picture stored as 480x360 with 4:3 pixels.
    h264_video(
        "testsrc2=duration=1:size=480x360:rate=25,setsar=4/3",
        &input,
    );
    let p = package(&input, false);
    let v = &p.summary.tracks[0];
    assert_eq!((v.width, v.height), (640, 360));
    let mkv = dir.path().join("out.mkv");
    remux_to(&p, &mkv);
    assert_eq!(stream_value(&mkv, "v:0", "width"), "640");
    assert_ffmpeg_decodes(&mkv);
}

#[test]
fn remux_refuses_data_and_passes_source_errors_through() {
    let dir = tempfile::tempdir().unwrap();
    let p = package(&make_flac(dir.path()), false);
    let out = dir.path().join("out.mka");

    let mut data = header_for(&p);
    data.kind = ContentKind::Data;
    let err = media::remux(&data, &mut std::iter::empty(), &out).expect_err("data is not media");
    assert!(matches!(err, MediaError::Remux(_)), "{err:?}");

    let header = header_for(&p);
    let first = (header.segments[0], p.segments[0].packets.clone());
    let mut items = vec![Ok(first), Err(MediaError::sink("segment 1 failed its tag"))].into_iter();
    let err = media::remux(&header, &mut items, &out).expect_err("the source failed");
    assert_eq!(err.to_string(), "segment 1 failed its tag");
}

/// The PSNR (dB, all planes) between two videos of the same size, as FFmpeg's `psnr` filter
/// computes it. The first input is decoded with FFmpeg's own autorotation.
fn psnr(a: &Path, b: &Path) -> f64 {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-i"])
        .arg(a)
        .arg("-i")
        .arg(b)
        .args(["-lavfi", "[0:v][1:v]psnr", "-f", "null", "-"])
        .output()
        .expect("ffmpeg CLI");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "psnr failed: {stderr}");
    stderr
        .split("average:")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no PSNR in: {stderr}"))
}

/// Writes a 90° clockwise display matrix into the (only) track header of an MP4, the way a
/// phone does; this FFmpeg's CLI has no option for it.
fn set_mp4_clockwise_quarter_turn(path: &Path) {
    let mut bytes = std::fs::read(path).unwrap();
    let tkhd = bytes
        .windows(4)
        .position(|w| w == b"tkhd")
        .expect("an MP4 track header");
    assert_eq!(bytes[tkhd + 4], 0, "version 0 track header");
    // After the type: version+flags, created, modified, track id, reserved, duration (4 bytes
    // each), reserved (8), layer, group, volume, reserved (2 each): the matrix follows.
    let matrix = tkhd + 4 + 40;
    let fixed = |v: i32| (v << 16).to_be_bytes();
    let values = [
        fixed(0),
        fixed(1),
        [0; 4],
        fixed(-1),
        fixed(0),
        [0; 4],
        fixed(240),
        [0; 4],
    ];
    for (i, v) in values.iter().enumerate() {
        bytes[matrix + 4 * i..matrix + 4 * i + 4].copy_from_slice(v);
    }
    bytes[matrix + 32..matrix + 36].copy_from_slice(&(1i32 << 30).to_be_bytes());
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn rotated_phone_video_is_turned_upright() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("portrait.mp4");
    // A landscape picture with a display matrix saying "turn 90° clockwise", as phones write.
    h264_video("testsrc2=duration=1:size=320x240:rate=25", &input);
    set_mp4_clockwise_quarter_turn(&input);
    assert!(
        ffprobe(&input, "v:0", "stream_side_data=rotation").contains("rotation=-90"),
        "the input carries a rotation"
    );
    let p = package(&input, false);
    let v = &p.summary.tracks[0];
    assert_eq!((v.width, v.height), (240, 320), "portrait after rotation");
    let mkv = dir.path().join("out.mkv");
    remux_to(&p, &mkv);
    assert_eq!(stream_value(&mkv, "v:0", "height"), "320");
    // Same picture as FFmpeg shows the input (it autorotates): a wrong turn scores ~10 dB.
    let db = psnr(&input, &mkv);
    eprintln!("PSNR of the upright output against the autorotated input: {db} dB");
    assert!(db > 25.0, "PSNR {db} dB against the upright input");
}

//! Test media for every suite: the one maker of test clips ([`make`]) and ffmpeg runner
//! ([`ffmpeg`]); decoded media as the journeys and player tests compare it: ffmpeg's own
//! decoding of a file, the WAV and YUV4MPEG2 files `ddrm play` writes, and the signal measures
//! (SNR, PSNR).

use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs the ffmpeg CLI (`-y`, errors only) and returns its standard output; fails loudly when
/// ffmpeg is missing or fails.
pub fn ffmpeg(args: &[&str]) -> Vec<u8> {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-v", "error", "-y"])
        .args(args)
        .output()
        .expect("the ffmpeg CLI is required for these tests (apt-get install ffmpeg)");
    assert!(
        out.status.success(),
        "ffmpeg {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Frames per second of [`make`]'s video.
pub const CLIP_FPS: u32 = stack::demo::TEST_CLIP_FPS;

/// Makes a test clip at `out`: `seconds` s of `testsrc2` at `size` (`WxH`, 24 fps) as input 0
/// and a 440 Hz sine as input 1, then `extra` (stream maps and codecs), with the same maker
/// as `ddrm up --demo`'s sample. Returns `out`.
pub fn make(out: &Path, seconds: u32, size: &str, extra: &[&str]) -> PathBuf {
    stack::demo::make_test_clip(out, seconds, size, extra)
        .unwrap_or_else(|e| panic!("cannot make {}: {e}", out.display()));
    out.to_path_buf()
}

/// Stereo FLAC at 48 kHz of the sine: `seconds` s, at `out`.
pub fn stereo_flac(out: &Path, seconds: u32) -> PathBuf {
    make(
        out,
        seconds,
        "64x64",
        &["-map", "1:a", "-ac", "2", "-ar", "48000", "-c:a", "flac"],
    )
}

/// Runs `ffmpeg <input_args> -i input <args> -` and returns what it wrote to standard output.
fn ffmpeg_raw(input_args: &[&str], input: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-nostdin"])
        .args(input_args)
        .arg("-i")
        .arg(input)
        .args(args)
        .arg("-")
        .output()
        .expect("ffmpeg is required (apt-get install ffmpeg)");
    assert!(
        out.status.success(),
        "ffmpeg decoding {} failed: {}",
        input.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// ffmpeg's decoding of `input`'s audio as interleaved 32-bit floats, resampled to `rate` Hz
/// and `channels` channels when they differ.
pub fn ffmpeg_decode_f32(input: &Path, rate: u32, channels: u16) -> Vec<f32> {
    let (rate, channels) = (rate.to_string(), channels.to_string());
    ffmpeg_raw(
        &[],
        input,
        &[
            "-map", "0:a:0", "-f", "f32le", "-ac", &channels, "-ar", &rate,
        ],
    )
    .chunks_exact(4)
    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    .collect()
}

/// ffmpeg's decoding of `input`'s AV1 video track with libdav1d, as 8-bit 4:2:0 frames in
/// decoding order without frame-rate conversion, one `Vec` per frame.
pub fn ffmpeg_decode_av1(input: &Path, width: usize, height: usize) -> Vec<Vec<u8>> {
    let frame = yuv420p_len(width, height);
    let bytes = ffmpeg_raw(
        &["-c:v", "libdav1d"],
        input,
        &[
            "-map",
            "0:v:0",
            "-fps_mode",
            "passthrough",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "yuv420p",
        ],
    );
    assert_eq!(bytes.len() % frame, 0, "whole frames of {width}x{height}");
    bytes.chunks_exact(frame).map(<[u8]>::to_vec).collect()
}

/// Bytes of one tightly packed 8-bit 4:2:0 frame.
pub fn yuv420p_len(width: usize, height: usize) -> usize {
    width * height + 2 * (width.div_ceil(2) * height.div_ceil(2))
}

/// The sample rate, channel count and samples of a 32-bit float WAV written by `ddrm play`.
pub fn read_wav_f32(path: &Path) -> (u32, u16, Vec<f32>) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        bytes.len() >= 46,
        "{} is too short for a WAV",
        path.display()
    );
    assert_eq!(&bytes[0..4], b"RIFF");
    assert_eq!(u16::from_le_bytes([bytes[20], bytes[21]]), 3, "IEEE float");
    let channels = u16::from_le_bytes([bytes[22], bytes[23]]);
    let rate = u32::from_le_bytes(bytes[24..28].try_into().unwrap());
    let len = u32::from_le_bytes(bytes[42..46].try_into().unwrap()) as usize;
    let samples = bytes[46..46 + len]
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    (rate, channels, samples)
}

/// The width, height and frames of a YUV4MPEG2 (4:2:0) file written by `ddrm play`.
pub fn read_y4m(path: &Path) -> (usize, usize, Vec<Vec<u8>>) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let header_end = bytes
        .iter()
        .position(|&b| b == b'\n')
        .expect("a YUV4MPEG2 header line");
    let header = std::str::from_utf8(&bytes[..header_end]).expect("an ASCII header");
    assert!(header.starts_with("YUV4MPEG2 "), "{header}");
    let field = |tag: char| -> usize {
        header
            .split(' ')
            .find_map(|f| f.strip_prefix(tag))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {tag} in {header}"))
    };
    let (width, height) = (field('W'), field('H'));
    let frame = yuv420p_len(width, height);
    let mut frames = Vec::new();
    let mut at = header_end + 1;
    while at < bytes.len() {
        assert!(
            bytes[at..].starts_with(b"FRAME\n"),
            "a FRAME marker at {at}"
        );
        at += 6;
        frames.push(bytes[at..at + frame].to_vec());
        at += frame;
    }
    (width, height, frames)
}

/// Signal-to-noise ratio of `got` against `want` in dB over their common length; infinite when
/// they are identical.
pub fn snr_db(want: &[f32], got: &[f32]) -> f64 {
    let (mut signal, mut noise) = (0f64, 0f64);
    for (w, g) in want.iter().zip(got) {
        signal += f64::from(*w).powi(2);
        noise += f64::from(w - g).powi(2);
    }
    if noise == 0.0 {
        return f64::INFINITY;
    }
    10.0 * (signal / noise).log10()
}

/// Peak signal-to-noise ratio of two 8-bit pictures of the same size, in dB; infinite when
/// they are identical.
pub fn psnr_db(want: &[u8], got: &[u8]) -> f64 {
    assert_eq!(want.len(), got.len(), "pictures of the same size");
    let sse: f64 = want
        .iter()
        .zip(got)
        .map(|(a, b)| (f64::from(*a) - f64::from(*b)).powi(2))
        .sum();
    if sse == 0.0 {
        return f64::INFINITY;
    }
    let mse = sse / want.len() as f64;
    10.0 * (255.0f64 * 255.0 / mse).log10()
}

//! Capsule AV1 decode speed, native: a 10 s 720p 24 fps clip made by ffmpeg and packaged by the
//! real packager (SVT-AV1), then decrypted segment by segment and decoded by the capsule's
//! decoder (rav1d, one thread, frames packed as the capsule presents them), beside FFmpeg's
//! libdav1d decoding the same AV1 track (decrypted by the packager) to null with one thread and
//! with its default threads, in the same run. Prints each as a multiple of real time.
//!
//! `cargo bench -p ddrm-capsule --bench av1_decode`
//!
//! With `DDRM_AV1_PACKETS=FILE` it also writes the clip's AV1 packets to `FILE` for
//! `examples/av1_stdin.rs`, which times the same decoder natively and in wasm.

use std::process::Command;
use std::time::{Duration, Instant};

#[allow(dead_code)]
#[path = "../tests/it/support.rs"]
mod support;

const SECONDS: f64 = 10.0;
const RUNS: usize = 3;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn rav1d(clip: &support::Clip) -> (Duration, usize) {
    let start = Instant::now();
    let (mut planes, mut frames) = (Vec::new(), 0);
    support::decode_packaged(clip, |p| {
        p.write_packed(&mut planes);
        frames += 1;
    });
    (start.elapsed(), frames)
}

fn ffmpeg(plain: &std::path::Path, threads: Option<&str>) -> Duration {
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-v", "error", "-nostdin"]);
    if let Some(t) = threads {
        cmd.args(["-threads", t]);
    }
    cmd.args(["-c:v", "libdav1d", "-i"])
        .arg(plain)
        .args(["-map", "0:v:0", "-f", "null", "-"]);
    let start = Instant::now();
    let status = cmd.status().expect("the ffmpeg CLI is required");
    let took = start.elapsed();
    assert!(status.success(), "ffmpeg failed");
    took
}

/// Writes the clip's decrypted AV1 packets, framed for `examples/av1_stdin.rs`, to `path`.
fn write_packets(clip: &support::Clip, path: &str) {
    let mut out = Vec::new();
    for p in support::video_packets(clip) {
        out.extend_from_slice(&(p.data.len() as u32).to_le_bytes());
        out.extend_from_slice(&p.pts.to_le_bytes());
        out.extend_from_slice(&p.data);
    }
    std::fs::write(path, out).expect("writes the packets");
    println!("wrote the AV1 packets to {path}");
}

fn main() {
    let clip = support::Clip::make_sized(1280, 720, SECONDS as u32);
    let plain = clip.path("plain.mkv");
    packager::decrypt(&clip.ddrm, &clip.key, &plain).expect("decrypts");
    if let Ok(path) = std::env::var("DDRM_AV1_PACKETS") {
        write_packets(&clip, &path);
    }

    let mut ours = Vec::new();
    let mut frames = 0;
    for _ in 0..RUNS {
        let (took, n) = rav1d(&clip);
        ours.push(took);
        frames = n;
    }
    let one: Vec<Duration> = (0..RUNS).map(|_| ffmpeg(&plain, Some("1"))).collect();
    let default: Vec<Duration> = (0..RUNS).map(|_| ffmpeg(&plain, None)).collect();

    let x = |d: Duration| SECONDS / d.as_secs_f64();
    let (ours, one, default) = (median(ours), median(one), median(default));
    println!("720p 24 fps AV1, {SECONDS} s, {frames} frames; median of {RUNS} runs");
    println!(
        "capsule decoder (rav1d, 1 thread, native): {:>7.1} ms  {:>6.2}x real time",
        ours.as_secs_f64() * 1e3,
        x(ours)
    );
    println!(
        "ffmpeg libdav1d -threads 1:                 {:>7.1} ms  {:>6.2}x real time",
        one.as_secs_f64() * 1e3,
        x(one)
    );
    println!(
        "ffmpeg libdav1d default threads:            {:>7.1} ms  {:>6.2}x real time",
        default.as_secs_f64() * 1e3,
        x(default)
    );
    println!(
        "rav1d / libdav1d (1 thread): {:.2}",
        one.as_secs_f64() / ours.as_secs_f64()
    );
}

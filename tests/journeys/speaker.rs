//! `ddrm play` without file outputs plays the audio on the default output device. The device is
//! an ALSA PCM of type `file` over `null` (named by `ALSA_CONFIG_PATH`, so no sound card,
//! kernel module or sound server is needed): it records what was played, which must be what
//! ffmpeg decodes. A machine whose ALSA has no default device is told so.

use std::path::Path;

use tests::media::{ffmpeg_decode_f32, snr_db};
use tests::up::{dev_account, stack_arg, Up};
use tests::Journey;

const DDRM: &str = env!("CARGO_BIN_EXE_ddrm");

/// An ALSA configuration whose default PCM records to `file` (raw, in the format played).
fn file_sink(file: &Path) -> String {
    format!(
        "pcm.!default {{\n  type file\n  slave.pcm {{ type null }}\n  file \"{}\"\n  format \"raw\"\n}}\n",
        file.display()
    )
}

#[test]
fn play_without_outputs_plays_the_audio_on_the_default_device() {
    let j = Journey::new(DDRM);
    let mut up = Up::start(DDRM, &j.path("stack"));
    let stack = up.wait_ready();
    let s = stack_arg(&stack);
    // 3 s of a 440 Hz sine, 44.1 kHz mono AAC.
    let tone = j.make_clip("tone.m4a", 3, &["-map", "1:a", "-c:a", "aac"]);
    let creator = dev_account(&stack, "creator").address.to_string();
    let published = j.publish(
        &stack,
        &tone,
        "tone.ddrm",
        &format!("{creator}:10000"),
        [&["--export-key", "tone.key"], &[]],
    );
    j.buy(&stack, &published.content_id, "buyer");
    j.ddrm([
        "decrypt",
        "tone.ddrm",
        "--content-key-file",
        "tone.key",
        "--out",
        "tone.mkv",
    ])
    .ok();
    let buyer = &dev_account(&stack, "buyer").private_key;
    let play = ["play", "tone.ddrm", "--wallet-key", buyer, "--stack", &s];

    let recorded = j.path("played.f32");
    let config = j.path("asound.conf");
    std::fs::write(&config, file_sink(&recorded)).unwrap();
    let run = j.ddrm_env(&[("ALSA_CONFIG_PATH", &config)], play).ok();
    let said = run.stdout();
    println!("{said}");
    assert!(said.contains("played on default"), "{said}");
    assert!(!said.contains("silence"), "no gap: {said}");

    let bytes = std::fs::read(&recorded).expect("the device recorded what it played");
    let got: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let want = ffmpeg_decode_f32(&j.path("tone.mkv"), 44_100, 1);
    // ffmpeg also decodes the AAC priming frame, which the capsule does not present.
    let priming = 1024;
    let want = &want[priming..];
    assert!(
        got.len() >= want.len(),
        "every sample played ({} recorded, ffmpeg {})",
        got.len(),
        want.len()
    );
    let snr = snr_db(want, &got[..want.len()]);
    assert!(snr >= 40.0, "played audio SNR {snr:.1} dB against ffmpeg");
    // Then only the silence a device plays after the end, until it is closed.
    let tail = &got[want.len()..];
    assert!(
        tail.iter().all(|s| *s == 0.0),
        "{} samples after the end, not all silence",
        tail.len()
    );

    // No default device (an ALSA configuration that defines none): said plainly, nothing
    // asked of the licence network.
    let none = j.path("none.conf");
    std::fs::write(&none, "").unwrap();
    let e = j.ddrm_env(&[("ALSA_CONFIG_PATH", &none)], play).fails();
    println!("without a device: {e}");
    assert!(e.contains("no audio output device"), "{e}");
    assert!(e.contains("--audio-out"), "{e}");
    up.stop("INT");
}

//! Issue 5's journeys: `ddrm up` starts a whole stack and stops every process it started; on it,
//! `--stack` is all a user passes besides what matters: package (video + audio, audio only),
//! pin, mint, buy, play; and the refusals a user can run into.

use std::path::Path;

use stack::StackFile;
use tests::media::{ffmpeg_decode_av1, ffmpeg_decode_f32, psnr_db, read_wav_f32, read_y4m, snr_db};
use tests::up::{alive, curl, rpc, sale_terms, signal_pid, Up};
use tests::Journey;

const DDRM: &str = env!("CARGO_BIN_EXE_ddrm");

fn pids(stack: &StackFile) -> Vec<u32> {
    let mut p: Vec<u32> = stack.licence.nodes.iter().filter_map(|n| n.pid).collect();
    p.extend(stack.chain.anvil_pid);
    p
}

#[test]
fn up_writes_a_complete_stack_file_refuses_a_second_up_and_stops_every_child() {
    let j = Journey::new(DDRM);
    let data = j.path("stack");
    let mut up = Up::start(DDRM, &data);
    let stack = up.wait_ready();

    assert_eq!(stack.chain.chain_id, 20);
    assert_eq!(stack.pid, up.pid());
    assert_eq!(stack.licence.nodes.len(), 5);
    assert_eq!(stack.licence.threshold, 3);
    assert!(stack.capsule.is_some(), "the bundled capsule is registered");
    assert_eq!(stack.dev_accounts.accounts.len(), 10);
    assert!(stack.dev_accounts.warning.contains("dev only"));
    let dep = stack.deployment().unwrap();
    assert_eq!(dep.chain_id, 20);
    let chain_id = rpc(&stack.chain.rpc, "eth_chainId", "[]");
    assert!(chain_id.contains("\"0x14\""), "{chain_id}");
    for n in &stack.licence.nodes {
        assert_eq!(curl(&[&format!("{}/health", n.url)]), "ok");
        assert!(alive(n.pid.unwrap()));
    }
    let children = pids(&stack);
    assert_eq!(children.len(), 6);

    // The licence tools take the chain, deployment, group key and endpoints from the stack: the
    // deployer registers the running network in LicenceNetworkRegistry.
    let s = up.stack_path();
    let registered = j
        .ddrm([
            "licence",
            "register",
            "--stack",
            s.to_str().unwrap(),
            "--private-key",
            key(&stack, "deployer"),
        ])
        .ok()
        .stdout();
    assert!(
        registered.contains("3-of-5") && registered.contains("registered: epoch"),
        "{registered}"
    );

    // A second `ddrm up` on the same data directory refuses, naming the first.
    let second = j.ddrm(["up", "--data-dir", data.to_str().unwrap()]).fails();
    assert!(
        second.contains("another `ddrm up`") && second.contains(&stack.pid.to_string()),
        "{second}"
    );

    let out = up.stop("INT");
    for i in 1..=5 {
        assert!(
            out.contains(&format!("stopped licence node {i} (pid")),
            "{out}"
        );
    }
    assert!(out.contains("stopped anvil"), "{out}");
    for pid in children {
        assert!(!alive(pid), "process {pid} outlived ddrm up");
    }
    assert!(
        !data.join("stack.json").exists(),
        "stack.json removed on stop"
    );

    // After a clean stop the same data directory starts again (keys reused), and SIGTERM stops
    // it too.
    let mut again = Up::start(DDRM, &data);
    let restarted = again.wait_ready();
    assert_eq!(
        std::fs::read(&restarted.licence.group_key).unwrap(),
        std::fs::read(&stack.licence.group_key).unwrap()
    );
    let out = again.stop("TERM");
    assert!(out.contains("SIGTERM: stopping"), "{out}");
    for pid in pids(&restarted) {
        assert!(!alive(pid), "process {pid} outlived ddrm up");
    }
}

fn key<'a>(stack: &'a StackFile, label: &str) -> &'a str {
    &stack.dev_accounts.get(label).unwrap().private_key
}

fn addr(stack: &StackFile, label: &str) -> String {
    stack.dev_accounts.get(label).unwrap().address.to_string()
}

/// Bytes of 32-bit float samples in a WAV file, over all channels.
fn wav_seconds(path: &Path, rate: f64, channels: f64) -> f64 {
    let len = std::fs::metadata(path).unwrap().len() as f64;
    (len - 44.0).max(0.0) / (rate * channels * 4.0)
}

/// The capsule's audio equals ffmpeg's own decoding of the packaged track (SNR at least 40 dB).
/// The packaged AAC track starts with the encoder's priming frame at a negative time, which the
/// capsule drops as players do; the Matroska file `ddrm decrypt` writes cannot hold negative
/// times, so there ffmpeg decodes that frame too. It is exactly one AAC frame (1024 samples per
/// channel), and nothing else may differ.
fn same_audio_as_ffmpeg(packaged: &Path, played: &Path) {
    let (rate, channels, got) = read_wav_f32(played);
    let want = ffmpeg_decode_f32(packaged, rate, channels);
    let priming = want.len() - got.len();
    assert_eq!(
        priming,
        1024 * usize::from(channels),
        "ffmpeg decodes exactly the priming frame more ({} against {} samples)",
        want.len(),
        got.len()
    );
    let snr = snr_db(&want[priming..], &got);
    assert!(snr >= 40.0, "audio SNR {snr:.1} dB against ffmpeg");
}

/// The capsule's frames equal ffmpeg's own decoding of the packaged AV1 track: `frames` of
/// them, each at PSNR at least 40 dB.
fn same_video_as_ffmpeg(packaged: &Path, played: &Path, frames: usize) {
    let (width, height, got) = read_y4m(played);
    let want = ffmpeg_decode_av1(packaged, width, height);
    assert_eq!(got.len(), frames, "frames presented");
    assert_eq!(want.len(), frames, "frames ffmpeg decodes");
    for (i, (w, g)) in want.iter().zip(&got).enumerate() {
        let psnr = psnr_db(w, g);
        assert!(psnr >= 40.0, "frame {i}: PSNR {psnr:.1} dB against ffmpeg");
    }
}

#[test]
fn package_pin_mint_buy_play_with_stack_and_refusals() {
    let j = Journey::new(DDRM);
    // This journey moves the chain's clock and expects the very next request to be refused:
    // the nodes must read the head for every request, not reuse one fetched before the jump.
    let mut up = Up::start_with(DDRM, &j.path("stack"), &["--head-ttl-ms", "0"]);
    let stack = up.wait_ready();
    let s = up.stack_path();
    let s = s.to_str().unwrap();

    let clip = j.make_clip(
        "clip.mp4",
        3,
        &[
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-shortest",
        ],
    );
    let tone = j.make_clip("tone.m4a", 3, &["-map", "1:a", "-c:a", "aac"]);

    let mut ids = Vec::new();
    for (input, name) in [(&clip, "clip.ddrm"), (&tone, "tone.ddrm")] {
        let p = j
            .ddrm([
                "package",
                input.to_str().unwrap(),
                "--out",
                name,
                "--creator-account",
                &addr(&stack, "creator"),
                "--export-key",
                &format!("{name}.key"),
                "--pin",
                "--json",
                "--stack",
                s,
            ])
            .ok()
            .json();
        // The creator's own recovery path gives the packaged tracks in the clear, for ffmpeg to
        // decode as the reference of what the capsule must present.
        j.ddrm([
            "decrypt",
            name,
            "--content-key-file",
            &format!("{name}.key"),
            "--out",
            &format!("{name}.mkv"),
        ])
        .ok();
        let cid = p["cid"]
            .as_str()
            .expect("pinned to the stack's store")
            .to_owned();
        let id = p["content_id"].as_str().unwrap().to_owned();
        // The bundled capsule is the renderer by default.
        let shown = j.ddrm(["inspect", name]).ok().stdout();
        let measurement = stack.capsule.as_ref().unwrap().measurement.to_string();
        assert!(
            shown.contains(&format!("renderer        {measurement}")),
            "{shown}"
        );
        let split = format!(
            "{}:8000,{}:2000",
            addr(&stack, "creator"),
            addr(&stack, "producer")
        );
        let mut mint = vec![
            "mint",
            name,
            "--cid",
            &cid,
            "--private-key",
            key(&stack, "creator"),
            "--stack",
            s,
        ];
        mint.extend(sale_terms(&split));
        j.ddrm(mint).ok();
        ids.push((name, cid, id));
    }

    // Buy the clip, play it by CID from the stack's store.
    let (clip_ddrm, clip_cid, clip_id) = &ids[0];
    j.ddrm([
        "buy",
        clip_id,
        "--private-key",
        key(&stack, "buyer"),
        "--stack",
        s,
    ])
    .ok();
    let played = j
        .ddrm([
            "play",
            clip_cid,
            "--wallet-key",
            key(&stack, "buyer"),
            "--audio-out",
            "clip.wav",
            "--video-out",
            "clip.y4m",
            "--stack",
            s,
        ])
        .ok()
        .stdout();
    let secs = wav_seconds(&j.path("clip.wav"), 44_100.0, 1.0);
    assert!((2.8..=3.3).contains(&secs), "{secs} s of audio: {played}");
    same_audio_as_ffmpeg(&j.path("clip.ddrm.mkv"), &j.path("clip.wav"));
    same_video_as_ffmpeg(&j.path("clip.ddrm.mkv"), &j.path("clip.y4m"), 72);

    // Audio only: rented, played from the file.
    let (tone_ddrm, _, tone_id) = &ids[1];
    j.ddrm([
        "rent",
        tone_id,
        "--private-key",
        key(&stack, "buyer"),
        "--stack",
        s,
    ])
    .ok();
    j.ddrm([
        "play",
        tone_ddrm,
        "--wallet-key",
        key(&stack, "buyer"),
        "--audio-out",
        "tone.wav",
        "--stack",
        s,
    ])
    .ok();
    let secs = wav_seconds(&j.path("tone.wav"), 44_100.0, 1.0);
    assert!((2.8..=3.3).contains(&secs), "{secs} s of audio");
    same_audio_as_ffmpeg(&j.path("tone.ddrm.mkv"), &j.path("tone.wav"));

    // Refusals, each with its cause and no output file.
    let refused = |who: &str, out: &str, file: &str| -> String {
        let e = j
            .ddrm([
                "play",
                file,
                "--wallet-key",
                key(&stack, who),
                "--audio-out",
                out,
                "--stack",
                s,
            ])
            .fails();
        assert!(!j.path(out).exists(), "{out} written despite: {e}");
        e.to_lowercase()
    };
    let e = refused("other", "other.wav", clip_ddrm);
    assert!(e.contains("access"), "an account that did not buy: {e}");

    // The rental expires: two hours later on chain.
    rpc(&stack.chain.rpc, "evm_increaseTime", "[7200]");
    rpc(&stack.chain.rpc, "evm_mine", "[]");
    let e = refused("buyer", "expired.wav", tone_ddrm);
    assert!(
        e.contains("expired") || e.contains("access"),
        "an expired rental: {e}"
    );

    // Three of five licence nodes down: fewer than t answer.
    for n in &stack.licence.nodes[..3] {
        signal_pid(n.pid.unwrap(), "KILL");
    }
    let e = refused("buyer", "down.wav", clip_ddrm);
    assert!(e.contains("node"), "three nodes down: {e}");
}

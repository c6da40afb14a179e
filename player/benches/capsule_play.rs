//! Player capsule benchmarks against a real local stack (anvil, five licence nodes, a clip
//! packaged by the real packager):
//!
//! - capsule start with a cached module → first decoded audio sample, and licence granted →
//!   first sample;
//! - in-capsule decrypt + decode speed of a 60 s FLAC clip as a multiple of real time, beside
//!   ffmpeg decoding the same clip natively in the same run;
//! - in-capsule decrypt + decode speed of a 10 s 1280x720 24 fps AV1 video (packaged by the
//!   real packager with SVT-AV1), beside ffmpeg's libdav1d decoding the same AV1 track
//!   natively (one thread and default threads) in the same run.
//!
//! `cargo bench -p player --bench capsule_play`

#[path = "../tests/it/harness.rs"]
#[allow(dead_code)]
mod harness;

use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ddrm_capsule::wire::{Event, PlayParams};
use harness::*;
use licence_net_client::LicenceClient;
use licence_net_protocol::address_of;
use player::capsule_host::{Presenter, Session};
use player::play::NetworkGate;
use player::{bundled_capsule, verify_package, RunLimits};
use wasmtime::Module;

const CLIP_SECONDS: u32 = 60;
const RUNS: usize = 5;
const VIDEO_SECONDS: u32 = 10;

struct Times {
    started: Instant,
    licensed: Option<Instant>,
    first_sample: Option<Instant>,
    finished: Option<Instant>,
    frames: u64,
}

struct Timing(Arc<Mutex<Times>>);

impl Presenter for Timing {
    fn audio(&mut self, interleaved: &[f32], _: i64) -> io::Result<()> {
        let mut t = self.0.lock().unwrap();
        t.first_sample.get_or_insert_with(Instant::now);
        t.frames += (interleaved.len() / 2) as u64;
        Ok(())
    }
    fn video(&mut self, _: &[u8], _: i64) -> io::Result<()> {
        let mut t = self.0.lock().unwrap();
        t.first_sample.get_or_insert_with(Instant::now);
        t.frames += 1;
        Ok(())
    }
    fn event(&mut self, event: &Event) {
        let mut t = self.0.lock().unwrap();
        match event {
            Event::Licensed { .. } => t.licensed = Some(Instant::now()),
            Event::Finished { .. } => t.finished = Some(Instant::now()),
            _ => {}
        }
    }
}

/// One capsule run over `ddrm` with a cached module; the times it reached each point.
fn run(s: &Stack, module: &Module, verified: &player::Verified, ddrm: &Path, video: bool) -> Times {
    let wallet = s.network.wallet(BUYER);
    let times = Arc::new(Mutex::new(Times {
        started: Instant::now(),
        licensed: None,
        first_sample: None,
        finished: None,
        frames: 0,
    }));
    let session = Session {
        source: Box::new(std::fs::File::open(ddrm).unwrap()),
        params: PlayParams {
            chain_id: s.network.dep.chain_id,
            access_contract: s.network.dep.contracts.access,
            account: address_of(wallet.verifying_key()),
            group_key: s.network.group.to_json(),
            start_ms: 0,
            audio: !video,
            video,
        },
        measurement: verified.measurement,
        runtime: s.runtime.clone(),
        wallet,
        gate: Box::new(NetworkGate::new(
            LicenceClient::new(
                s.network.urls.clone(),
                s.network.group.clone(),
                Duration::from_secs(5),
            )
            .unwrap(),
        )),
        presenter: Box::new(Timing(times.clone())),
        control: player::Controller::new(),
    };
    let limits = RunLimits {
        memory_bytes: 512 << 20,
        timeout: Duration::from_secs(600),
        ..RunLimits::default()
    };
    times.lock().unwrap().started = Instant::now();
    let outcome =
        tokio::task::block_in_place(|| s.host.run_capsule(module, session, &limits)).unwrap();
    assert_eq!(outcome.code, 0, "{:?}", outcome.stopped);
    let t = times.lock().unwrap();
    Times { ..*t }
}

/// Makes a `secs` s 1280x720 24 fps test pattern (H.264, which the packager turns into AV1).
fn make_720p(dir: &Path, secs: u32) -> PathBuf {
    tests::media::make(
        &dir.join("video-720p.mp4"),
        secs,
        "1280x720",
        &["-map", "0:v", "-c:v", "libx264", "-pix_fmt", "yuv420p"],
    )
}

fn ffmpeg_dav1d(plain: &Path, threads: Option<&str>) -> f64 {
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-v", "error", "-nostdin"]);
    if let Some(t) = threads {
        cmd.args(["-threads", t]);
    }
    cmd.args(["-c:v", "libdav1d", "-i"])
        .arg(plain)
        .args(["-map", "0:v:0", "-f", "null", "-"]);
    let t0 = Instant::now();
    assert!(cmd.status().expect("ffmpeg").success());
    t0.elapsed().as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let b = bought_clip(CLIP_SECONDS).await;
    let s = &b.stack;
    let verified = verify_package(&bundled_capsule()).unwrap();
    let t0 = Instant::now();
    let module = s.host.capsule_module(&verified).unwrap();
    let compile = t0.elapsed();
    let t0 = Instant::now();
    let _ = s.host.capsule_module(&verified).unwrap();
    let cached = t0.elapsed();
    println!(
        "capsule: {} bytes; first compile {:.0} ms, cached lookup {:.3} ms",
        verified.wasm.len(),
        compile.as_secs_f64() * 1e3,
        cached.as_secs_f64() * 1e3
    );

    let (mut to_first, mut licence_to_first, mut speed) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..RUNS {
        let t = run(s, &module, &verified, &b.ddrm, false);
        to_first.push((t.first_sample.unwrap() - t.started).as_secs_f64() * 1e3);
        licence_to_first.push((t.first_sample.unwrap() - t.licensed.unwrap()).as_secs_f64() * 1e3);
        let played = t.frames as f64 / 48_000.0;
        speed.push(played / (t.finished.unwrap() - t.licensed.unwrap()).as_secs_f64());
    }
    println!(
        "capsule start (cached module) -> first decoded sample: median {:.1} ms (includes the licence round trip)",
        median(to_first)
    );
    println!(
        "licence granted -> first decoded sample: median {:.2} ms",
        median(licence_to_first)
    );
    println!(
        "in-capsule decrypt + decode, {CLIP_SECONDS} s FLAC stereo 48 kHz: median {:.0}x real time",
        median(speed)
    );

    let mut native = Vec::new();
    for _ in 0..RUNS {
        let t0 = Instant::now();
        let st = Command::new("ffmpeg")
            .args(["-v", "error", "-threads", "1", "-i"])
            .arg(&b.source)
            .args(["-f", "f32le", "-y", "/dev/null"])
            .status()
            .unwrap();
        assert!(st.success());
        native.push(f64::from(CLIP_SECONDS) / t0.elapsed().as_secs_f64());
    }
    println!(
        "ffmpeg native decode of the same FLAC (process included): median {:.0}x real time",
        median(native)
    );

    // 720p AV1 in the capsule.
    let capsule = bundled_capsule();
    let source = make_720p(s.network.dir.path(), VIDEO_SECONDS);
    let key_file = s.network.dir.path().join("video.key");
    let ddrm = source.with_extension("ddrm");
    packager::package(
        &packager::PackageOptions {
            input: source.clone(),
            output: ddrm.clone(),
            group_key: s.network.group.clone(),
            renderers: vec![capsule.measurement().0],
            title: Some("720p".into()),
            creator: "bench".into(),
            creator_account: s.network.keys[CREATOR].address(),
            as_data: false,
            lossless: false,
            export_key: Some(key_file.clone()),
            description: None,
            thumbnail: None,
            preview: None,
        },
        &mut |_| {},
    )
    .expect("package the 720p clip");
    let content = s.mint_file(&ddrm, vec![capsule.measurement()]).await;
    s.network
        .purchase(BUYER, content, contracts_bindings::ops::Purchase::Buy)
        .await;
    let mut video = Vec::new();
    let mut frames = 0;
    for _ in 0..3 {
        let t = run(s, &module, &verified, &ddrm, true);
        frames = t.frames;
        video.push(
            f64::from(VIDEO_SECONDS) / (t.finished.unwrap() - t.licensed.unwrap()).as_secs_f64(),
        );
    }
    let key = packager_format::ContentKey::from_hex(&std::fs::read_to_string(&key_file).unwrap())
        .unwrap();
    let plain = s.network.dir.path().join("video-plain.mkv");
    packager::decrypt(&ddrm, &key, &plain).expect("decrypt the 720p clip");
    let one: Vec<f64> = (0..3)
        .map(|_| f64::from(VIDEO_SECONDS) / ffmpeg_dav1d(&plain, Some("1")))
        .collect();
    let all: Vec<f64> = (0..3)
        .map(|_| f64::from(VIDEO_SECONDS) / ffmpeg_dav1d(&plain, None))
        .collect();
    let (video, one, all) = (median(video), median(one), median(all));
    println!(
        "in-capsule decrypt + decode, {VIDEO_SECONDS} s 1280x720 24 fps AV1 ({frames} frames): median {video:.2}x real time"
    );
    println!(
        "ffmpeg libdav1d native decode of the same AV1 track: -threads 1 {one:.1}x, default threads {all:.1}x real time (capsule / ffmpeg 1 thread: {:.3})",
        video / one
    );
}

//! Player capsule benchmarks against a real local stack (anvil, five licence nodes, a clip
//! packaged by the real packager):
//!
//! - capsule start with a cached module → first decoded audio sample, and licence granted →
//!   first sample;
//! - in-capsule decrypt + decode speed of a 60 s FLAC clip as a multiple of real time, beside
//!   ffmpeg decoding the same clip natively in the same run.
//!
//! `cargo bench -p player --bench capsule_play`

#[path = "../tests/it/harness.rs"]
#[allow(dead_code)]
mod harness;

use std::io;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ddrm_capsule::wire::{Event, PlayParams};
use harness::*;
use licence_net::client::LicenceClient;
use licence_net_protocol::address_of;
use player::capsule_host::{Presenter, Session};
use player::play::NetworkGate;
use player::{bundled_capsule, verify_package, RunLimits};

const CLIP_SECONDS: u32 = 60;
const RUNS: usize = 5;

#[derive(Default)]
struct Times {
    licensed: Option<Instant>,
    first_sample: Option<Instant>,
    finished: Option<Instant>,
    frames: u64,
}

struct Timing(Arc<Mutex<Times>>);

impl Presenter for Timing {
    fn audio(&mut self, interleaved: &[f32]) -> io::Result<()> {
        let mut t = self.0.lock().unwrap();
        t.first_sample.get_or_insert_with(Instant::now);
        t.frames += (interleaved.len() / 2) as u64;
        Ok(())
    }
    fn video(&mut self, _: &[u8], _: i64) -> io::Result<()> {
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

    let wallet = k256::ecdsa::SigningKey::from_slice(s.keys[BUYER].to_bytes().as_slice()).unwrap();
    let (mut to_first, mut licence_to_first, mut speed) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..RUNS {
        let times = Arc::new(Mutex::new(Times::default()));
        let session = Session {
            source: Box::new(std::fs::File::open(&b.ddrm).unwrap()),
            params: PlayParams {
                chain_id: s.dep.chain_id,
                access_contract: s.dep.contracts.access,
                account: address_of(wallet.verifying_key()),
                group_key: s.group.to_json(),
                start_ms: 0,
                audio: true,
                video: false,
            },
            measurement: verified.measurement,
            runtime: s.runtime.clone(),
            wallet: wallet.clone(),
            gate: Box::new(NetworkGate::new(
                LicenceClient::new(s.urls.clone(), s.group.clone(), Duration::from_secs(5))
                    .unwrap(),
            )),
            presenter: Box::new(Timing(times.clone())),
        };
        let limits = RunLimits {
            memory_bytes: 256 << 20,
            timeout: Duration::from_secs(300),
            ..RunLimits::default()
        };
        let start = Instant::now();
        let outcome =
            tokio::task::block_in_place(|| s.host.run_capsule(&module, session, &limits)).unwrap();
        assert_eq!(outcome.code, 0, "{:?}", outcome.stopped);
        let t = times.lock().unwrap();
        let (lic, first, fin) = (
            t.licensed.unwrap(),
            t.first_sample.unwrap(),
            t.finished.unwrap(),
        );
        to_first.push((first - start).as_secs_f64() * 1e3);
        licence_to_first.push((first - lic).as_secs_f64() * 1e3);
        let played = t.frames as f64 / 48_000.0;
        speed.push(played / (fin - lic).as_secs_f64());
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
}

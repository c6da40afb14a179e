//! End to end: `ddrm play` of a 60 s clip (video + audio) on a running `ddrm up`, from spawning
//! the command to the first decoded output it presents (the command says "playing" on stderr at
//! that moment), and to its exit. Each run is a fresh process: a new wasm engine, the capsule
//! compiled from scratch, the chain checks and the licence round trip.
//!
//! `cargo bench --bench play_command`

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Instant;

use tests::up::Up;
use tests::Journey;

const DDRM: &str = env!("CARGO_BIN_EXE_ddrm");
const RUNS: usize = 5;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    let j = Journey::new(DDRM);
    let mut up = Up::start(DDRM, &j.path("stack"));
    let stack = up.wait_ready();
    let s = up.stack_path();
    let s = s.to_str().unwrap();
    let key = |label: &str| stack.dev_accounts.get(label).unwrap().private_key.clone();
    let creator = stack.dev_accounts.get("creator").unwrap().address;

    let clip = j.make_clip("clip.mp4", 60, stack::demo::H264_AAC);
    let tests::up::Published {
        cid,
        content_id: id,
    } = j.publish(
        &stack,
        &clip,
        "clip.ddrm",
        &format!("{creator}:10000"),
        [&[], &[]],
    );
    j.buy(&stack, &id, "buyer");

    for (what, input) in [("file", "clip.ddrm"), ("CID from the store", cid.as_str())] {
        let (mut first, mut total) = (Vec::new(), Vec::new());
        for _ in 0..RUNS {
            let t0 = Instant::now();
            let mut child = Command::new(DDRM)
                .args([
                    "play",
                    input,
                    "--audio-out",
                    "out.wav",
                    "--video-out",
                    "out.y4m",
                    "--stack",
                    s,
                ])
                .env("DDRM_WALLET_KEY", key("buyer"))
                .current_dir(j.dir())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("ddrm play starts");
            let mut seen = None;
            let mut lines = Vec::new();
            for line in BufReader::new(child.stderr.take().unwrap()).lines() {
                let line = line.unwrap();
                if seen.is_none() && line.starts_with("playing:") {
                    seen = Some(t0.elapsed());
                }
                lines.push(line);
            }
            let status = child.wait().unwrap();
            assert!(status.success(), "ddrm play failed: {}", lines.join("\n"));
            first.push(seen.expect("a 'playing' line").as_secs_f64() * 1e3);
            total.push(t0.elapsed().as_secs_f64());
        }
        println!(
            "ddrm play of a 60 s clip ({what}), command start -> first output: median {:.0} ms \
             (min {:.0}, max {:.0}); whole run: median {:.1} s",
            median(first.clone()),
            first.iter().cloned().fold(f64::INFINITY, f64::min),
            first.iter().cloned().fold(0.0, f64::max),
            median(total)
        );
    }
    up.stop("INT");
}

//! Issue 2's segment decryption benchmark: the same program,
//! `packager/format/examples/segment_throughput.rs`, natively and as a `wasm32-wasip1` module
//! under the embedded wasmtime of [`player::Host`], in the same run, alternating.
//!
//! `cargo bench -p player --bench wasm_decrypt`
//!
//! It builds both artifacts first with `cargo build --release --example segment_throughput
//! -p packager-format [--target wasm32-wasip1]` into the workspace's target directory.
//!
//! - `DDRM_BENCH_MIB`: MiB of segments decrypted per round (default 256).
//! - `DDRM_BENCH_ROUNDS`: rounds inside each run of the program (default 3; its median counts).
//! - `DDRM_BENCH_RUNS`: runs of each side, alternating (default 3; the median is reported).
//!
//! The last line is machine readable: `wasm_decrypt mib=… native_mb_s=… wasm_mb_s=… ratio=…`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};
use player::{Host, RunLimits};

const EXAMPLE: &str = "segment_throughput";
const FORMAT_CRATE: &str = "packager-format";
const WASM_TARGET: &str = "wasm32-wasip1";

fn env_or(name: &str, default: usize) -> Result<usize> {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .with_context(|| format!("{name}={v:?} is not a positive integer")),
        Err(_) => Ok(default),
    }
}

fn main() -> Result<()> {
    let mib = env_or("DDRM_BENCH_MIB", 256)?;
    let rounds = env_or("DDRM_BENCH_ROUNDS", 3)?;
    let runs = env_or("DDRM_BENCH_RUNS", 3)?;

    let native = build(None)?;
    let wasm = build(Some(WASM_TARGET))?;
    let host = Host::new()?;
    let module = host
        .compile_file(&wasm)
        .with_context(|| format!("compiling {}", wasm.display()))?;
    let limits = RunLimits {
        // The sealed segments live in the module's memory, plus room for the program itself.
        memory_bytes: (mib + 64) << 20,
        timeout: Duration::from_secs(1800),
        stdout_bytes: 64 << 10,
    };
    let args = [
        EXAMPLE.to_string(),
        "--mib".into(),
        mib.to_string(),
        "--rounds".into(),
        rounds.to_string(),
    ];
    let arg_refs: Vec<&str> = args.iter().map(String::as_str).collect();

    println!(
        "{mib} MiB of 1 MiB segments, {rounds} rounds per run, {runs} runs of each, alternating"
    );
    let mut native_rates = Vec::with_capacity(runs);
    let mut wasm_rates = Vec::with_capacity(runs);
    for run in 1..=runs {
        let out = Command::new(&native)
            .args(&args[1..])
            .output()
            .with_context(|| format!("running {}", native.display()))?;
        ensure!(
            out.status.success(),
            "{} failed ({}): {}",
            native.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        let n = median_rate(&out.stdout).context("native output")?;

        let out = host.run_command(&module, &arg_refs, &limits)?;
        ensure!(
            out.exit_code == 0,
            "{} exited with {}",
            wasm.display(),
            out.exit_code
        );
        let w = median_rate(&out.stdout).context("wasm output")?;
        println!(
            "run {run}: native {n:.1} MB/s, wasm {w:.1} MB/s, ratio {:.3}",
            w / n
        );
        native_rates.push(n);
        wasm_rates.push(w);
    }
    let n = median(&mut native_rates);
    let w = median(&mut wasm_rates);
    let ratio = w / n;
    println!(
        "median: native {n:.1} MB/s, wasm {w:.1} MB/s, wasm/native {ratio:.3} (target >= 0.333)"
    );
    println!("wasm_decrypt mib={mib} native_mb_s={n:.1} wasm_mb_s={w:.1} ratio={ratio:.3}");
    Ok(())
}

/// Builds the example natively or for `target` with the cargo running this bench, and returns
/// the artifact's path, or fails naming what is missing.
fn build(target: Option<&str>) -> Result<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(&cargo);
    cmd.args([
        "build",
        "--release",
        "--example",
        EXAMPLE,
        "-p",
        FORMAT_CRATE,
    ]);
    if let Some(t) = target {
        cmd.args(["--target", t]);
    }
    let shown = format!(
        "cargo build --release --example {EXAMPLE} -p {FORMAT_CRATE}{}",
        target.map(|t| format!(" --target {t}")).unwrap_or_default()
    );
    println!("building: {shown}");
    let status = cmd
        .status()
        .with_context(|| format!("cannot run `{shown}`"))?;
    if !status.success() {
        bail!(
            "`{shown}` failed ({status}){}",
            match target {
                Some(t) => format!("; is the target installed (`rustup target add {t}`)?"),
                None => String::new(),
            }
        );
    }
    let dir = target_dir(&cargo)?;
    let path = match target {
        Some(t) => dir
            .join(t)
            .join("release/examples")
            .join(format!("{EXAMPLE}.wasm")),
        None => dir.join("release/examples").join(EXAMPLE),
    };
    ensure!(
        path.is_file(),
        "`{shown}` succeeded but {} is missing",
        path.display()
    );
    Ok(path)
}

/// The workspace's target directory as cargo resolves it (`CARGO_TARGET_DIR` included).
fn target_dir(cargo: &std::ffi::OsStr) -> Result<PathBuf> {
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .context("running cargo metadata")?;
    ensure!(
        out.status.success(),
        "cargo metadata failed: {}",
        out.status
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let dir = meta["target_directory"]
        .as_str()
        .context("cargo metadata gave no target_directory")?;
    Ok(Path::new(dir).to_path_buf())
}

/// The `median_mb_s` figure of the example's machine-readable line.
fn median_rate(stdout: &[u8]) -> Result<f64> {
    let text = String::from_utf8_lossy(stdout);
    let line = text
        .lines()
        .rev()
        .find(|l| l.starts_with(EXAMPLE))
        .with_context(|| format!("no `{EXAMPLE} ...` line in {text:?}"))?;
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix("median_mb_s="))
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("no median_mb_s in {line:?}"))
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

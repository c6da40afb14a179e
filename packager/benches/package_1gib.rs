//! Issue 2's packaging benchmark: packaging a large data file (1 GiB unless `DDRM_BENCH_BYTES`
//! says otherwise) against `sha256sum` of the same file, in the same run, alternating, and the
//! packager's peak memory measured in a child process of its own.
//!
//! `cargo bench -p packager --bench package_1gib`
//!
//! - `DDRM_BENCH_BYTES`: input size (default 1 GiB); a smaller one makes a quick smoke run.
//! - `DDRM_BENCH_ROUNDS`: rounds of each measurement (default 3); medians are reported.
//! - `DDRM_BENCH_DIR`: where the input is kept between runs (default `/var/tmp/ddrm-bench`).
//!
//! The last line is machine readable: `package_1gib bytes=… sha256sum_s=… package_s=… ratio=…
//! peak_rss_mib=…`.

use std::fs::File;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use licence_net_protocol::GroupKey;
use packager::PackageOptions;

const DEFAULT_BYTES: u64 = 1 << 30;
const DEFAULT_ROUNDS: usize = 3;
const DEFAULT_DIR: &str = "/var/tmp/ddrm-bench";
/// The argument that turns this binary into the child whose peak memory is measured.
const CHILD_ARG: &str = "--peak-rss-child";
const MIB: f64 = (1 << 20) as f64;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some(CHILD_ARG) {
        let [input, output, group] = &args[2..] else {
            bail!("usage: {CHILD_ARG} INPUT OUTPUT GROUP_KEY");
        };
        return child(Path::new(input), Path::new(output), Path::new(group));
    }
    // `cargo bench` passes `--bench` and maybe a filter: nothing here to select.
    parent()
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> Result<T> {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .map_err(|_| anyhow::anyhow!("{name}={v:?} is not a number")),
        Err(_) => Ok(default),
    }
}

fn parent() -> Result<()> {
    let bytes: u64 = env_or("DDRM_BENCH_BYTES", DEFAULT_BYTES)?;
    let rounds: usize = env_or("DDRM_BENCH_ROUNDS", DEFAULT_ROUNDS)?;
    ensure!(rounds > 0, "DDRM_BENCH_ROUNDS must be at least 1");
    let dir = std::env::var_os("DDRM_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DIR));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let input = dir.join(format!("input-{bytes}.bin"));
    ensure_input(&input, bytes)?;

    let work = tempfile::Builder::new()
        .prefix("package-bench-")
        .tempdir_in(&dir)?;
    let dealt = licence_net::dealer::deal(5, 3, &work.path().join("keys"))?;
    let output = work.path().join("out.ddrm");
    let opts = bench_options(&input, &output, dealt.group);

    println!(
        "input {} ({bytes} bytes), {rounds} rounds, alternating sha256sum and package",
        input.display()
    );
    let mut hash_times = Vec::with_capacity(rounds);
    let mut package_times = Vec::with_capacity(rounds);
    for round in 1..=rounds {
        let t = time_sha256sum(&input)?;
        hash_times.push(t);
        let p = time_package(&opts)?;
        package_times.push(p);
        println!(
            "round {round}: sha256sum {:.3} s, package {:.3} s ({:.0} MB/s), ratio {:.2}",
            t.as_secs_f64(),
            p.as_secs_f64(),
            bytes as f64 / p.as_secs_f64() / 1e6,
            p.as_secs_f64() / t.as_secs_f64()
        );
    }
    let hash = median(&mut hash_times);
    let package = median(&mut package_times);
    let ratio = package.as_secs_f64() / hash.as_secs_f64();
    println!(
        "median: sha256sum {:.3} s ({:.0} MB/s), package {:.3} s ({:.0} MB/s), ratio {ratio:.2} (target <= 2.5)",
        hash.as_secs_f64(),
        bytes as f64 / hash.as_secs_f64() / 1e6,
        package.as_secs_f64(),
        bytes as f64 / package.as_secs_f64() / 1e6,
    );

    let peak_kib = peak_rss_of_child(&input, &output, &dealt.group_path)?;
    let peak_mib = peak_kib as f64 * 1024.0 / MIB;
    println!("peak RSS of a process packaging the file: {peak_mib:.1} MiB (target < 64 MiB)");
    println!(
        "package_1gib bytes={bytes} sha256sum_s={:.3} package_s={:.3} ratio={ratio:.3} peak_rss_mib={peak_mib:.1}",
        hash.as_secs_f64(),
        package.as_secs_f64()
    );
    Ok(())
}

/// Writes `bytes` pseudo-random bytes to `path` through a small buffer, unless a file of that
/// size is already there from an earlier run.
fn ensure_input(path: &Path, bytes: u64) -> Result<()> {
    if std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() == bytes) {
        return Ok(());
    }
    println!("writing {} ({bytes} bytes)", path.display());
    let partial = path.with_extension("partial");
    let mut f =
        File::create(&partial).with_context(|| format!("creating {}", partial.display()))?;
    let mut state = 0x2545_F491_4F6C_DD1Du64 ^ bytes;
    let mut buf = vec![0u8; 1 << 16];
    let mut left = bytes;
    while left > 0 {
        for word in buf.chunks_exact_mut(8) {
            // xorshift64: incompressible enough that no layer below can shortcut the work.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            word.copy_from_slice(&state.to_le_bytes());
        }
        let n = left.min(buf.len() as u64) as usize;
        f.write_all(&buf[..n])?;
        left -= n as u64;
    }
    f.sync_all()?;
    std::fs::rename(&partial, path)?;
    Ok(())
}

fn time_sha256sum(input: &Path) -> Result<Duration> {
    let start = Instant::now();
    let out = Command::new("sha256sum")
        .arg(input)
        .stderr(Stdio::inherit())
        .output()
        .context("running sha256sum (coreutils)")?;
    let elapsed = start.elapsed();
    ensure!(out.status.success(), "sha256sum failed: {}", out.status);
    Ok(elapsed)
}

fn time_package(opts: &PackageOptions) -> Result<Duration> {
    let _ = std::fs::remove_file(&opts.output);
    let start = Instant::now();
    let report = packager::package(opts, &mut |_| {})?;
    let elapsed = start.elapsed();
    ensure!(report.input_bytes == std::fs::metadata(&opts.input)?.len());
    std::fs::remove_file(&opts.output)?;
    Ok(elapsed)
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// Runs this binary again as a child that only packages, and returns the peak resident set
/// size (VmHWM, KiB) the child reports for itself at its end.
fn peak_rss_of_child(input: &Path, output: &Path, group: &Path) -> Result<u64> {
    let _ = std::fs::remove_file(output);
    let exe = std::env::current_exe()?;
    let out = Command::new(exe)
        .arg(CHILD_ARG)
        .arg(input)
        .arg(output)
        .arg(group)
        .stderr(Stdio::inherit())
        .output()
        .context("running the peak-memory child")?;
    ensure!(
        out.status.success(),
        "peak-memory child failed: {}",
        out.status
    );
    let _ = std::fs::remove_file(output);
    out.stdout
        .lines()
        .map_while(Result::ok)
        .find_map(|l| l.strip_prefix("VmHWM_kib ")?.trim().parse().ok())
        .context("the peak-memory child printed no VmHWM_kib line")
}

fn child(input: &Path, output: &Path, group: &Path) -> Result<()> {
    let group = GroupKey::from_json(&std::fs::read_to_string(group)?)?;
    let opts = bench_options(input, output, group);
    packager::package(&opts, &mut |_| {})?;
    println!("VmHWM_kib {}", own_vm_hwm_kib()?);
    Ok(())
}

/// The peak resident set size of this process so far, from `/proc/self/status` (Linux).
fn own_vm_hwm_kib() -> Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .context("no VmHWM in /proc/self/status")?;
    line.trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .context("parsing VmHWM")
}

/// Packaging `input` as data to `output`, wrapped to `group_key`, as both measurements do it.
fn bench_options(input: &Path, output: &Path, group_key: GroupKey) -> PackageOptions {
    PackageOptions {
        input: input.to_path_buf(),
        output: output.to_path_buf(),
        group_key,
        renderers: Vec::new(),
        title: None,
        creator: "bench".into(),
        creator_account: licence_net_protocol::Address::repeat_byte(0xC1),
        as_data: true,
        lossless: false,
        export_key: None,
        description: None,
        thumbnail: None,
        preview: None,
    }
}

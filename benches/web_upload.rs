//! Upload throughput: one file (1 GiB by default) through the browser — the creator studio in
//! real Chromium (`web/bench/upload.mjs`) sending it to `ddrm serve`'s pc2 role, which spools
//! it, packages it in its confined `ddrm package-job` child and pins it — against
//! `ddrm package` of the same file from the command line, with and without `--pin`, on one
//! local stack and with the same binary, compared as ratios in one run. The file is packaged
//! as data (pseudo-random bytes: nothing to transcode), so the figures are the pipeline's own.
//! Needs `web/dist` built and Debian's chromium (scripts/setup.sh).
//!
//! `cargo bench --bench web_upload` (`DDRM_UPLOAD_MIB=256` for a smaller file)

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use tests::up::{dev_account, MarketServices, Up};
use tests::Journey;

const DDRM: &str = env!("CARGO_BIN_EXE_ddrm");

/// Writes `mib` MiB of pseudo-random bytes (xorshift; incompressible, fast to make).
fn write_file(path: &Path, mib: u64) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).expect("create the input"));
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let mut chunk = vec![0u8; 1 << 20];
    for _ in 0..mib {
        for word in chunk.chunks_exact_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            word.copy_from_slice(&x.to_le_bytes());
        }
        out.write_all(&chunk).expect("write the input");
    }
    out.flush().expect("write the input");
}

fn main() {
    let web = Path::new(env!("CARGO_MANIFEST_DIR")).join("web");
    assert!(
        web.join("dist/index.html").is_file(),
        "build the web app first: cd web && npm run build"
    );
    let mib: u64 = std::env::var("DDRM_UPLOAD_MIB")
        .ok()
        .map(|v| v.parse().expect("DDRM_UPLOAD_MIB is a whole number of MiB"))
        .unwrap_or(1024);
    let j = Journey::new(DDRM);
    let mut up = Up::start(DDRM, &j.path("stack"));
    let stack = up.wait_ready();
    let s = up.stack_path();
    let s = s.to_str().unwrap();
    let creator = dev_account(&stack, "creator");
    let account = creator.address.to_string();
    let input = j.path("upload.bin");
    write_file(&input, mib);
    let input_text = input.to_str().unwrap();

    let cli = |out: &str, pin: bool| {
        let out = j.path(out);
        let mut args = vec!["package", input_text, "--out", out.to_str().unwrap()];
        args.extend(["--data", "--creator-account", &account, "--stack", s]);
        if pin {
            args.push("--pin");
        }
        let start = Instant::now();
        j.ddrm(&args).ok();
        start.elapsed()
    };
    let package = cli("cli.ddrm", false);
    let package_pin = cli("cli-pinned.ddrm", true);

    let max_upload = (mib + 16).to_string();
    let mut market = MarketServices::start_with(
        DDRM,
        j.dir(),
        s,
        &web.join("dist"),
        &["--max-upload-mib", &max_upload],
    );
    market.wait_for("the API", "/v1/health", Duration::from_secs(60), |_| true);
    let out = Command::new("node")
        .arg(web.join("bench/upload.mjs"))
        .args([
            "--base",
            &market.base,
            "--rpc",
            &stack.chain.rpc,
            "--file",
            input_text,
        ])
        .env("DDRM_BENCH_KEY", &creator.private_key)
        .current_dir(&web)
        .output()
        .expect("node runs web/bench/upload.mjs");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the upload bench failed: {report}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = report
        .lines()
        .find_map(|l| l.strip_prefix("upload "))
        .unwrap_or_else(|| panic!("no result line in {report}"));
    let browser: serde_json::Value = serde_json::from_str(line).expect("the result line");
    let ms = |key: &str| browser[key].as_u64().expect("a time in ms") as f64;
    let (sent, ready) = (ms("sent_ms"), ms("ready_ms"));
    let secs = |d: Duration| d.as_secs_f64() * 1000.0;
    let rate = |t_ms: f64| mib as f64 / (t_ms / 1000.0);
    println!("upload of {mib} MiB (data), one run each, same binary, loopback:");
    println!(
        "  ddrm package (CLI)              {:>9.0} ms  {:>7.1} MiB/s",
        secs(package),
        rate(secs(package))
    );
    println!(
        "  ddrm package --pin (CLI)        {:>9.0} ms  {:>7.1} MiB/s",
        secs(package_pin),
        rate(secs(package_pin))
    );
    println!(
        "  browser: last byte sent         {sent:>9.0} ms  {:>7.1} MiB/s",
        rate(sent)
    );
    println!(
        "  browser: packaged and pinned    {ready:>9.0} ms  {:>7.1} MiB/s",
        rate(ready)
    );
    println!(
        "  ratio browser / package: {:.2}×   browser / package --pin: {:.2}×",
        ready / secs(package),
        ready / secs(package_pin)
    );
    market.stop();
    up.stop("INT");
}

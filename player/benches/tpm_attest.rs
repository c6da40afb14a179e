//! What a TPM-held runtime key costs the player: attestations by a file key and by a TPM key
//! on a software TPM (swtpm on loopback: key load, PCR 23 reset and extend, quote, flush, and
//! the quote checked as a node would), alternating, in one run.
//!
//! `cargo bench -p player --bench tpm_attest`
//!
//! - `DDRM_BENCH_ATTESTATIONS`: attestations of each kind (default 50).
//!
//! The last line is machine readable:
//! `tpm_attest n=… create_ms=… file_p50_ms=… tpm_p50_ms=… tpm_p95_ms=… ratio=…`.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use licence_net_protocol::B256;
use player::runtime::{RuntimeKey, SwTpm};

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i].as_secs_f64() * 1e3
}

fn main() -> Result<()> {
    let n: usize =
        match std::env::var("DDRM_BENCH_ATTESTATIONS") {
            Ok(v) => v.trim().parse().ok().filter(|n| *n > 0).with_context(|| {
                format!("DDRM_BENCH_ATTESTATIONS={v:?} is not a positive integer")
            })?,
            Err(_) => 50,
        };
    let dir = tempfile::tempdir()?;
    let tpm = SwTpm::start(&dir.path().join("tpm"))?;
    let started = Instant::now();
    let tpm_key = RuntimeKey::load_or_create_tpm(&tpm.tcti(), &dir.path().join("runtime.json"))?;
    let create = started.elapsed();
    let file_key = RuntimeKey::generate();

    let measurement = B256::repeat_byte(7);
    let mut file = Vec::with_capacity(n);
    let mut quoted = Vec::with_capacity(n);
    for i in 0..n {
        let capsule_key = B256::left_padding_from(&(i as u64).to_be_bytes());
        let now = 1_800_000_000 + i as u64;
        let t = Instant::now();
        std::hint::black_box(file_key.attest(measurement, capsule_key, now)?);
        file.push(t.elapsed());
        let t = Instant::now();
        std::hint::black_box(tpm_key.attest(measurement, capsule_key, now)?);
        quoted.push(t.elapsed());
    }
    file.sort();
    quoted.sort();
    let (file_p50, tpm_p50) = (percentile(&file, 0.5), percentile(&quoted, 0.5));
    println!(
        "file-secp256k1: p50 {file_p50:.3} ms; tpm2-p256 on swtpm: p50 {tpm_p50:.2} ms, p95 {:.2} ms; \
         key creation {:.1} ms",
        percentile(&quoted, 0.95),
        create.as_secs_f64() * 1e3
    );
    println!(
        "tpm_attest n={n} create_ms={:.1} file_p50_ms={file_p50:.3} tpm_p50_ms={tpm_p50:.2} tpm_p95_ms={:.2} ratio={:.0}",
        create.as_secs_f64() * 1e3,
        percentile(&quoted, 0.95),
        tpm_p50 / file_p50
    );
    Ok(())
}

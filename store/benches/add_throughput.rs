//! Embedded-store add throughput against plain SHA-256 of the same bytes.
//!
//! `cargo bench -p store --bench add_throughput` (size: `DDRM_BENCH_MIB`, default 256).
//! Both sides read the same (page-cached) file in 256 KiB chunks; the add also builds the
//! DAG and writes every block to a fresh store. Prints MiB/s of each, their ratio, and the
//! process's peak resident memory, which must stay far below the file size.

use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use store::{ContentStore, EmbeddedStore, CHUNK_SIZE};

const DEFAULT_MIB: u64 = 256;
const ROUNDS: usize = 3;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // `cargo bench` passes `--bench`; there is nothing to select.
    let mib: u64 = match std::env::var("DDRM_BENCH_MIB") {
        Ok(text) => text.parse()?,
        Err(_) => DEFAULT_MIB,
    };
    let dir = tempfile::tempdir()?;
    let input = dir.path().join("input.bin");
    write_input(&input, mib << 20)?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;

    let mut hash_times = Vec::new();
    let mut add_times = Vec::new();
    for round in 0..ROUNDS {
        let started = Instant::now();
        let digest = sha256_file(&input)?;
        hash_times.push(started.elapsed());

        let store = EmbeddedStore::open(dir.path().join(format!("store-{round}")))?;
        let started = Instant::now();
        let cid = runtime.block_on(store.add_file(&input))?;
        add_times.push(started.elapsed());
        std::fs::remove_dir_all(store.data_dir())?;
        if round == 0 {
            println!(
                "input: {mib} MiB, sha256 {}, cid {cid}",
                hex::encode(digest)
            );
        }
    }

    let hash = median(&mut hash_times);
    let add = median(&mut add_times);
    let rate = |d: Duration| mib as f64 / d.as_secs_f64();
    println!(
        "sha256 only:        {:>8.1} MiB/s (median of {ROUNDS}: {hash:?})",
        rate(hash)
    );
    println!(
        "embedded add_file:  {:>8.1} MiB/s (median of {ROUNDS}: {add:?})",
        rate(add)
    );
    println!(
        "add / sha256 time ratio: {:.2}",
        add.as_secs_f64() / hash.as_secs_f64()
    );
    if let Some(peak) = peak_rss_kib() {
        println!("peak resident memory: {} MiB", peak / 1024);
    }
    Ok(())
}

fn write_input(path: &Path, len: u64) -> std::io::Result<()> {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut chunk = vec![0u8; CHUNK_SIZE];
    let mut written = 0;
    while written < len {
        for word in chunk.chunks_exact_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            word.copy_from_slice(&state.to_le_bytes());
        }
        let take = (len - written).min(CHUNK_SIZE as u64) as usize;
        file.write_all(&chunk[..take])?;
        written += take as u64;
    }
    file.flush()
}

fn sha256_file(path: &Path) -> std::io::Result<[u8; 32]> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut chunk = vec![0u8; CHUNK_SIZE];
    loop {
        let n = file.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        hasher.update(&chunk[..n]);
    }
    Ok(hasher.finalize().into())
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// `VmHWM` of this process, in KiB (Linux only).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

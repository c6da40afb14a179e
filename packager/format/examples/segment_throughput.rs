//! Segment decryption throughput: seals `--mib` MiB of 1 MiB data segments into an in-memory
//! `.ddrm`, then reads every segment back through [`Unlocked::segment`] (copy out of the file,
//! verify the tag, decrypt) for `--rounds` rounds.
//!
//! It builds natively and for `wasm32-wasip1`, so the same work can be timed on both; the runner
//! is `cargo bench -p player --bench wasm_decrypt`. The last line printed is machine readable:
//!
//! `segment_throughput mib=256 rounds=5 median_mb_s=… best_mb_s=…` (MB = 10^6 bytes).

use std::io::Cursor;
use std::time::Instant;

use packager_format::{
    Container, ContentKey, ContentKind, Header, KeyEnvelope, Metadata, SegmentEntry, SegmentSealer,
    Track, DATA_CHUNK, KEY_SCHEME_LABELLED_BLS12_381, SEGMENT_KEYFRAME, TAG_LEN,
};

const DEFAULT_MIB: usize = 256;
const DEFAULT_ROUNDS: usize = 5;

fn main() {
    let (mib, rounds) = match parse_args() {
        Ok(v) => v,
        Err(msg) => {
            eprintln!(
                "segment_throughput: {msg}\nusage: segment_throughput [--mib N] [--rounds R]"
            );
            std::process::exit(2);
        }
    };
    let key = ContentKey::from_bytes([7; 32]);
    let file = sealed_file(&key, mib);
    let mut unlocked = Container::open(Cursor::new(file))
        .and_then(|c| c.unlock(&key))
        .expect("the file just sealed opens");
    let segments = unlocked.header().segments.len();

    let mut buf = Vec::with_capacity(DATA_CHUNK + TAG_LEN);
    // Warm-up and a correctness check outside the timing.
    for i in [0, segments - 1] {
        unlocked.segment(i, &mut buf).expect("segment opens");
        assert_eq!(buf, plaintext(i, buf.len()), "segment {i} decrypts wrongly");
    }

    let bytes = (mib * DATA_CHUNK) as f64;
    let mut rates = Vec::with_capacity(rounds);
    for round in 1..=rounds {
        let start = Instant::now();
        for i in 0..segments {
            unlocked.segment(i, &mut buf).expect("segment opens");
        }
        let secs = start.elapsed().as_secs_f64();
        let rate = bytes / secs / 1e6;
        eprintln!("round {round}: {mib} MiB in {secs:.3} s, {rate:.1} MB/s");
        rates.push(rate);
    }
    rates.sort_by(f64::total_cmp);
    let median = rates[rates.len() / 2];
    let best = rates[rates.len() - 1];
    println!(
        "segment_throughput mib={mib} rounds={rounds} median_mb_s={median:.1} best_mb_s={best:.1}"
    );
}

fn parse_args() -> Result<(usize, usize), String> {
    let mut mib = DEFAULT_MIB;
    let mut rounds = DEFAULT_ROUNDS;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let target = match flag.as_str() {
            "--mib" => &mut mib,
            "--rounds" => &mut rounds,
            // `cargo bench`/`cargo run` style flags that do not concern this program.
            "--bench" => continue,
            other => return Err(format!("unknown argument {other:?}")),
        };
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        *target = value
            .parse()
            .ok()
            .filter(|v| *v > 0)
            .ok_or(format!("{flag} takes a positive integer, not {value:?}"))?;
    }
    Ok((mib, rounds))
}

/// Deterministic plaintext of segment `index` (xorshift64 seeded by the index).
fn plaintext(index: usize, len: usize) -> Vec<u8> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64 ^ (index as u64 + 1);
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// An in-memory data `.ddrm` of `mib` 1 MiB segments, header first, built in one allocation.
fn sealed_file(key: &ContentKey, mib: usize) -> Vec<u8> {
    let size = (DATA_CHUNK + TAG_LEN) as u32;
    let table = (0..mib)
        .map(|i| SegmentEntry {
            track: 0,
            offset: i as u64 * u64::from(size),
            size,
            pts: (i * DATA_CHUNK) as i64,
            duration: DATA_CHUNK as u32,
            flags: SEGMENT_KEYFRAME,
        })
        .collect();
    let header = Header {
        salt: vec![0; 32],
        creator_account: [0xC1; 20],
        kind: ContentKind::Data,
        metadata: Metadata {
            title: "segment throughput".into(),
            mime_type: "application/octet-stream".into(),
            original_size: (mib * DATA_CHUNK) as u64,
            original_name: "throughput.bin".into(),
            ..Metadata::default()
        },
        tracks: vec![Track::data()],
        renderers: Vec::new(),
        key: KeyEnvelope {
            scheme: KEY_SCHEME_LABELLED_BLS12_381,
            group_key_id: vec![0; 32],
            ciphertext: b"not a real key envelope".to_vec(),
        },
        segments: table,
    };
    let mut sealer = SegmentSealer::new(key, [0x5A; 32]);
    let head = sealer.seal_planned(&header).expect("a valid header");
    let mut file = Vec::with_capacity(head.file_len() as usize);
    head.write_to(&mut file).expect("writing to memory");
    let mut buf = Vec::with_capacity(DATA_CHUNK + TAG_LEN);
    for (i, planned) in header.segments.iter().enumerate() {
        buf.clear();
        buf.extend_from_slice(&plaintext(i, planned.plain_len()));
        let entry = sealer
            .seal_next(0, planned.pts, planned.duration, planned.flags, &mut buf)
            .expect("a segment within limits");
        assert_eq!(&entry, planned);
        file.extend_from_slice(&buf);
    }
    file
}

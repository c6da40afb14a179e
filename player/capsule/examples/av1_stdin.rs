//! The capsule's AV1 decoder as a stand-alone program, to time it natively and as a
//! `wasm32-wasip1` module with the same input: reads AV1 packets from stdin, each framed as
//! `u32 len LE ‖ i64 pts LE ‖ len bytes` (the `av1_decode` bench writes such a file when
//! `DDRM_AV1_PACKETS` names one), decodes them all with [`Av1Decoder`] packing every frame as
//! the capsule presents it, and prints `frames=N decode_ms=T` (decoding only, input read first).
//!
//! ```text
//! cargo run --release -p ddrm-capsule --example av1_stdin < packets.bin
//! cargo build --release -p ddrm-capsule --example av1_stdin --target wasm32-wasip1
//! cargo run --release -p player --example wasm_stdin -- \
//!     $CARGO_TARGET_DIR/wasm32-wasip1/release/examples/av1_stdin.wasm packets.bin
//! ```

use std::io::Read;
use std::process::ExitCode;
use std::time::Instant;

use ddrm_capsule::av1::Av1Decoder;

fn main() -> ExitCode {
    let mut input = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut input) {
        eprintln!("av1_stdin: cannot read stdin: {e}");
        return ExitCode::FAILURE;
    }
    let mut packets = Vec::new();
    let mut rest = input.as_slice();
    while !rest.is_empty() {
        let Some((head, tail)) = rest.split_first_chunk::<12>() else {
            eprintln!("av1_stdin: a truncated packet header");
            return ExitCode::FAILURE;
        };
        let len = u32::from_le_bytes(head[..4].try_into().expect("4 bytes")) as usize;
        let pts = i64::from_le_bytes(head[4..].try_into().expect("8 bytes"));
        if tail.len() < len {
            eprintln!("av1_stdin: a truncated packet");
            return ExitCode::FAILURE;
        }
        packets.push((pts, &tail[..len]));
        rest = &tail[len..];
    }

    let start = Instant::now();
    let mut decoder = match Av1Decoder::new() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("av1_stdin: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (mut planes, mut frames) = (Vec::new(), 0u64);
    for (pts, data) in packets {
        if let Err(e) = decoder.send(data, pts) {
            eprintln!("av1_stdin: {e}");
            return ExitCode::FAILURE;
        }
        while let Some(p) = decoder.picture() {
            p.write_packed(&mut planes);
            frames += 1;
        }
    }
    if let Err(e) = decoder.finish() {
        eprintln!("av1_stdin: {e}");
        return ExitCode::FAILURE;
    }
    while let Some(p) = decoder.picture() {
        p.write_packed(&mut planes);
        frames += 1;
    }
    println!(
        "frames={frames} decode_ms={:.1}",
        start.elapsed().as_secs_f64() * 1e3
    );
    ExitCode::SUCCESS
}

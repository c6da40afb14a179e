//! Runs a `wasm32-wasip1` command module under wasmtime with a file as its stdin and prints
//! its stdout and the size its linear memory grew to, for benchmarks of guest programs that need input (the capsule's AV1 decoder:
//! `player/capsule/examples/av1_stdin.rs`). Same engine settings as [`player::Host`]: Cranelift,
//! wasmtime's default features (SIMD included); WASI preview 1 with stdin, stdout and stderr
//! only, no files, no environment; any other import traps when called.
//!
//! `cargo run --release -p player --example wasm_stdin -- MODULE.wasm INPUT`

use std::process::ExitCode;
use std::time::Instant;

use wasmtime::{Config, Engine, Linker, Module, Store};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::pipe::{MemoryInputPipe, MemoryOutputPipe};
use wasmtime_wasi::{I32Exit, WasiCtxBuilder};

fn run(module: &str, input: &str) -> wasmtime::Result<i32> {
    let engine = Engine::new(&Config::new())?;
    let compiled = Instant::now();
    let module = Module::from_file(&engine, module)?;
    eprintln!(
        "wasm_stdin: compiled in {:.0} ms",
        compiled.elapsed().as_secs_f64() * 1e3
    );
    let stdin = std::fs::read(input)?;
    let stdout = MemoryOutputPipe::new(1 << 20);
    let wasi = WasiCtxBuilder::new()
        .args(&["guest"])
        .stdin(MemoryInputPipe::new(stdin))
        .stdout(stdout.clone())
        .inherit_stderr()
        .build_p1();
    let mut linker: Linker<WasiP1Ctx> = Linker::new(&engine);
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |s| s)?;
    // Anything else the module imports (a capsule's `ddrm` calls, unused by a stand-alone
    // program) traps if called.
    linker.define_unknown_imports_as_traps(&module)?;
    let mut store = Store::new(&engine, wasi);
    let instance = linker.instantiate(&mut store, &module)?;
    let start = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
    let code = match start.call(&mut store, ()) {
        Ok(()) => 0,
        Err(e) => match e.downcast_ref::<I32Exit>() {
            Some(exit) => exit.0,
            None => return Err(e),
        },
    };
    let memory = instance
        .get_memory(&mut store, "memory")
        .map_or(0, |m| m.data_size(&store));
    drop(store);
    print!("{}", String::from_utf8_lossy(&stdout.contents()));
    println!("wasm_linear_memory_bytes={memory}");
    Ok(code)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let [_, module, input] = args.as_slice() else {
        eprintln!("usage: wasm_stdin MODULE.wasm INPUT");
        return ExitCode::from(2);
    };
    match run(module, input) {
        Ok(0) => ExitCode::SUCCESS,
        Ok(code) => {
            eprintln!("wasm_stdin: the module exited with {code}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("wasm_stdin: {e:#}");
            ExitCode::FAILURE
        }
    }
}

//! `player`: the wasmtime host of the player capsule.
//!
//! The capsule is untrusted WebAssembly: it gets no authority the host does not hand it, a
//! bounded amount of memory and a bounded amount of time. This crate holds the host pieces:
//!
//! - [`Host`]: the one [`wasmtime::Engine`] of the process, configured for untrusted code
//!   (epoch interruption driven by a background ticker, so every run has a wall-clock deadline),
//!   and the WASI preview 1 [`Linker`], filled once.
//! - [`Host::run_command`]: runs a WASI preview 1 command module (`_start`) in a fresh
//!   [`Store`] with [`RunLimits`], no files, no environment, no network, stdin empty, stdout
//!   captured into the returned [`CommandOutput`] and stderr passed to the host's stderr.
//!
//! - [`bundled_capsule`]: the capsule shipped inside this build (built by `build.rs` from
//!   `player/capsule` for `wasm32-wasip1`) with its publisher-signed [`CapsuleManifest`].
//! - [`runtime::RuntimeKey`]: this install's attestation key, which signs a checked capsule's
//!   measurement and ephemeral key.
//!
//! - [`capsule_host`]: the capsule's import list (its whole authority) and the [`Presenter`]
//!   of what it presents; [`control`]: the [`Controller`] it asks between units (pause,
//!   resume, seek, stop).
//! - [`play`]: a capsule session ([`start`]: checks, then the capsule on its own thread,
//!   presenting to a [`Presenter`], controlled by a [`Controller`]), and `ddrm play`'s file
//!   outputs over it ([`play()`]); [`speaker`]: the default audio output device as a
//!   presenter ([`speaker::play_aloud`], `ddrm play` without file outputs).
//!
//! [`Presenter`]: capsule_host::Presenter

mod bundled;
pub mod capsule_host;
pub mod control;
mod error;
pub mod manifest;
pub mod play;
pub mod runtime;
pub mod speaker;
mod verify;

pub use bundled::{bundled_capsule, CapsulePackage};
pub use control::Controller;
pub use error::PlayError;
pub use manifest::{CapsuleManifest, ManifestError, DEV_PUBLISHER_ADDRESS, DEV_PUBLISHER_KEY};
pub use play::{play, start, Ended, FileOutputs, PlayOptions, PlayReport, Playing};
pub use verify::{check_on_chain, verify_package, Verified};

use std::path::Path;
use std::time::Duration;

use licence_net_protocol::B256;
use wasmtime::{Config, Engine, Linker, Module, Store, StoreLimits, StoreLimitsBuilder, Trap};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{I32Exit, WasiCtxBuilder};

/// How often the engine's epoch advances: the granularity of [`RunLimits::timeout`].
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// `timeout` in [`EPOCH_TICK`]s, rounded up, at least one.
fn epoch_ticks(timeout: Duration) -> u64 {
    let ticks = timeout.as_nanos().div_ceil(EPOCH_TICK.as_nanos()).max(1);
    u64::try_from(ticks).unwrap_or(u64::MAX)
}

/// Arms `store` to trap once `timeout` has passed (counted in [`EPOCH_TICK`]s, at least one).
fn trap_after<T>(store: &mut Store<T>, timeout: Duration) {
    store.set_epoch_deadline(epoch_ticks(timeout));
    store.epoch_deadline_trap();
}

/// What can go wrong while hosting a module.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error("cannot configure the wasm engine: {0:#}")]
    Engine(wasmtime::Error),
    #[error("cannot read the module {path}: {source}")]
    Read {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("cannot compile the module: {0:#}")]
    Compile(wasmtime::Error),
    #[error(
        "cannot instantiate the module (imports beyond WASI preview 1, or over the limits): {0:#}"
    )]
    Instantiate(wasmtime::Error),
    #[error("the module ran past its deadline of {0:?}")]
    Timeout(Duration),
    #[error("the module trapped: {0:#}")]
    Trap(wasmtime::Error),
}

/// Bounds on one run of a module.
#[derive(Debug, Clone)]
pub struct RunLimits {
    /// Largest linear memory the module may grow to, in bytes.
    pub memory_bytes: usize,
    /// Wall-clock time after which the module is interrupted (rounded up to [`EPOCH_TICK`]).
    pub timeout: Duration,
    /// Bytes of stdout kept; a module writing more traps.
    pub stdout_bytes: usize,
}

impl Default for RunLimits {
    fn default() -> Self {
        Self {
            memory_bytes: 64 << 20,
            timeout: Duration::from_secs(10),
            stdout_bytes: 1 << 20,
        }
    }
}

/// The result of a command module that ran to completion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandOutput {
    /// The module's exit status: 0 when `_start` returned, else the value given to `proc_exit`.
    pub exit_code: i32,
    pub stdout: Vec<u8>,
}

struct RunState {
    wasi: WasiP1Ctx,
    limits: StoreLimits,
}

/// The process's wasm engine, its linkers (filled once) and its compiled capsules. Create one
/// and share it.
pub struct Host {
    engine: Engine,
    linker: Linker<RunState>,
    capsule_linker: Linker<capsule_host::CapsuleState>,
    /// Compiled capsules by measurement: a capsule is compiled once per process.
    modules: std::sync::Mutex<std::collections::HashMap<B256, Module>>,
}

impl Host {
    /// Builds the engine (Cranelift, wasmtime's default feature set including SIMD, epoch
    /// interruption on) and starts the thread that advances its epoch every [`EPOCH_TICK`] for as
    /// long as the engine lives.
    pub fn new() -> Result<Self, HostError> {
        Self::build(None)
    }

    /// Like [`Host::new`], and compiled modules are also kept on disk under `dir` (wasmtime's
    /// cache, keyed by the module's bytes and the engine's settings), so a later process starts
    /// a capsule it has run before without compiling it again. A cached artifact is native code
    /// the host runs: `dir` must be writable only by the user (as the rest of the data
    /// directory); the capsule's SHA-256 is checked against its manifest and the chain before
    /// the cache is consulted, so another capsule never maps to a cached one.
    pub fn with_module_cache(dir: &Path) -> Result<Self, HostError> {
        std::fs::create_dir_all(dir).map_err(|source| HostError::Read {
            path: dir.to_path_buf(),
            source,
        })?;
        let mut cache = wasmtime::CacheConfig::new();
        cache.with_directory(dir);
        let cache = wasmtime::Cache::new(cache).map_err(HostError::Engine)?;
        Self::build(Some(cache))
    }

    fn build(cache: Option<wasmtime::Cache>) -> Result<Self, HostError> {
        let mut config = Config::new();
        config.epoch_interruption(true);
        config.cache(cache);
        let engine = Engine::new(&config).map_err(HostError::Engine)?;
        let weak = engine.weak();
        std::thread::Builder::new()
            .name("wasm-epoch".into())
            .spawn(move || loop {
                std::thread::sleep(EPOCH_TICK);
                match weak.upgrade() {
                    Some(engine) => engine.increment_epoch(),
                    None => break,
                }
            })
            .map_err(|e| {
                HostError::Engine(wasmtime::format_err!("cannot start the epoch thread: {e}"))
            })?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |s: &mut RunState| &mut s.wasi)
            .map_err(HostError::Engine)?;
        let mut capsule_linker = Linker::new(&engine);
        wasmtime_wasi::p1::add_to_linker_sync(
            &mut capsule_linker,
            |s: &mut capsule_host::CapsuleState| &mut s.wasi,
        )
        .map_err(HostError::Engine)?;
        capsule_host::add_to_linker(&mut capsule_linker).map_err(HostError::Engine)?;
        Ok(Self {
            engine,
            linker,
            capsule_linker,
            modules: Default::default(),
        })
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Compiles a module from its binary (or, for tests, text) form.
    pub fn compile(&self, bytes: &[u8]) -> Result<Module, HostError> {
        Module::new(&self.engine, bytes).map_err(HostError::Compile)
    }

    /// Compiles the module in the file at `path`.
    pub fn compile_file(&self, path: &Path) -> Result<Module, HostError> {
        let bytes = std::fs::read(path).map_err(|source| HostError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        self.compile(&bytes)
    }

    /// Runs `module`'s `_start` with `args` (`args[0]` is the program name) in a fresh store.
    /// The module sees nothing of the host beyond its arguments, the clocks and randomness.
    pub fn run_command(
        &self,
        module: &Module,
        args: &[&str],
        limits: &RunLimits,
    ) -> Result<CommandOutput, HostError> {
        let stdout = MemoryOutputPipe::new(limits.stdout_bytes);
        let wasi = WasiCtxBuilder::new()
            .args(args)
            .stdout(stdout.clone())
            .inherit_stderr()
            .build_p1();
        let state = RunState {
            wasi,
            limits: StoreLimitsBuilder::new()
                .memory_size(limits.memory_bytes)
                .instances(1)
                .build(),
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        trap_after(&mut store, limits.timeout);

        let instance = self
            .linker
            .instantiate(&mut store, module)
            .map_err(HostError::Instantiate)?;
        let start = instance
            .get_typed_func::<(), ()>(&mut store, "_start")
            .map_err(HostError::Instantiate)?;
        let exit_code = match start.call(&mut store, ()) {
            Ok(()) => 0,
            Err(e) => match (e.downcast_ref::<I32Exit>(), e.downcast_ref::<Trap>()) {
                (Some(exit), _) => exit.0,
                (None, Some(Trap::Interrupt)) => return Err(HostError::Timeout(limits.timeout)),
                _ => return Err(HostError::Trap(e)),
            },
        };
        drop(store);
        Ok(CommandOutput {
            exit_code,
            stdout: stdout.contents().to_vec(),
        })
    }
}

impl Host {
    /// Compiles a capsule that [`verify_package`] accepted, once per process (by measurement).
    pub fn capsule_module(&self, verified: &verify::Verified) -> Result<Module, HostError> {
        let mut modules = self.modules.lock().expect("module cache lock");
        if let Some(m) = modules.get(&verified.measurement) {
            return Ok(m.clone());
        }
        let m = self.compile(&verified.wasm)?;
        modules.insert(verified.measurement, m.clone());
        Ok(m)
    }

    /// Runs a capsule's `ddrm_play` in a fresh store under `limits`. The capsule's stdout and
    /// stderr are kept (bounded) in the returned diagnostics, never shown to it again.
    pub fn run_capsule(
        &self,
        module: &Module,
        session: capsule_host::Session,
        limits: &RunLimits,
    ) -> Result<capsule_host::Outcome, PlayError> {
        let diagnostics = MemoryOutputPipe::new(capsule_host::DIAGNOSTICS_BYTES);
        let wasi = WasiCtxBuilder::new()
            .stdout(diagnostics.clone())
            .stderr(diagnostics.clone())
            .build_p1();
        let store_limits = StoreLimitsBuilder::new()
            .memory_size(limits.memory_bytes)
            .instances(1)
            .trap_on_grow_failure(true)
            .build();
        let mut state = capsule_host::CapsuleState::new(session, wasi, store_limits, diagnostics);
        let now = std::time::Instant::now();
        state.deadline = now
            .checked_add(limits.timeout)
            .unwrap_or_else(|| now + Duration::from_secs(1 << 32));
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        trap_after(&mut store, limits.timeout);

        let stopped = |e: wasmtime::Error, limits: &RunLimits| match e.downcast_ref::<Trap>() {
            Some(Trap::Interrupt) => PlayError::CapsuleTimeout(limits.timeout),
            _ if format!("{e:#}").contains("memory") => {
                PlayError::CapsuleMemory(limits.memory_bytes, format!("{e:#}"))
            }
            _ => PlayError::CapsuleTrap(format!("{e:#}")),
        };
        let instance = self
            .capsule_linker
            .instantiate(&mut store, module)
            .map_err(|e| PlayError::CapsuleInstantiate(format!("{e:#}")))?;
        if let Ok(init) = instance.get_typed_func::<(), ()>(&mut store, "_initialize") {
            init.call(&mut store, ()).map_err(|e| stopped(e, limits))?;
        }
        let version = instance
            .get_typed_func::<(), u32>(&mut store, "ddrm_abi_version")
            .and_then(|f| f.call(&mut store, ()))
            .map_err(|e| PlayError::CapsuleInstantiate(format!("no ddrm_abi_version: {e:#}")))?;
        if version != ddrm_capsule::ABI_VERSION {
            return Err(PlayError::CapsuleAbi(version));
        }
        let play = instance
            .get_typed_func::<(), i32>(&mut store, "ddrm_play")
            .map_err(|e| PlayError::CapsuleInstantiate(format!("no ddrm_play: {e:#}")))?;
        let code = play.call(&mut store, ()).map_err(|e| stopped(e, limits))?;
        let state = store.into_data();
        Ok(state.finish(code))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes "hello\n" to fd 1 through WASI preview 1, then exits with status 3.
    const HELLO: &str = r#"
        (module
          (import "wasi_snapshot_preview1" "fd_write"
            (func $fd_write (param i32 i32 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
          (memory (export "memory") 1)
          (data (i32.const 16) "hello\n")
          (func (export "_start")
            (i32.store (i32.const 0) (i32.const 16))
            (i32.store (i32.const 4) (i32.const 6))
            (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
            (call $proc_exit (i32.const 3))))
    "#;

    #[test]
    fn captures_stdout_and_exit_code() {
        let host = Host::new().unwrap();
        let module = host.compile(HELLO.as_bytes()).unwrap();
        let out = host
            .run_command(&module, &["hello"], &RunLimits::default())
            .unwrap();
        assert_eq!(out.stdout, b"hello\n");
        assert_eq!(out.exit_code, 3);
    }

    #[test]
    fn a_module_cache_keeps_compiled_modules_on_disk_for_the_next_host() {
        fn walk(dir: &Path) -> Vec<String> {
            let mut out = Vec::new();
            for e in std::fs::read_dir(dir).unwrap() {
                let e = e.unwrap();
                if e.file_type().unwrap().is_dir() {
                    out.extend(walk(&e.path()));
                } else {
                    out.push(e.path().display().to_string());
                }
            }
            out
        }
        // Compiled modules only (named by their hash, no extension): not the cache's usage
        // statistics (`.stats`), files being written or recompressed in the background
        // (`.wip-…`) or its cleanup markers.
        fn files(dir: &Path) -> usize {
            walk(dir)
                .iter()
                .filter(|p| {
                    !Path::new(p)
                        .file_name()
                        .unwrap()
                        .to_string_lossy()
                        .contains('.')
                })
                .count()
        }
        let dir = tempfile::tempdir().unwrap();
        let first = Host::with_module_cache(dir.path()).unwrap();
        let module = first.compile(HELLO.as_bytes()).unwrap();
        assert_eq!(
            first
                .run_command(&module, &["hello"], &RunLimits::default())
                .unwrap()
                .stdout,
            b"hello\n"
        );
        let cached = files(dir.path());
        assert!(cached >= 1, "the compiled module is on disk");
        drop(first);
        // A second host (as the next process) finds it and runs it the same.
        let second = Host::with_module_cache(dir.path()).unwrap();
        let module = second.compile(HELLO.as_bytes()).unwrap();
        let out = second
            .run_command(&module, &["hello"], &RunLimits::default())
            .unwrap();
        assert_eq!(out.stdout, b"hello\n");
        let listing: Vec<String> = walk(dir.path());
        assert_eq!(
            files(dir.path()),
            cached,
            "no second copy compiled: {listing:?}"
        );
    }

    #[test]
    fn an_endless_loop_hits_the_deadline() {
        let host = Host::new().unwrap();
        let module = host
            .compile(br#"(module (func (export "_start") (loop $l (br $l))))"#)
            .unwrap();
        let limits = RunLimits {
            timeout: Duration::from_millis(50),
            ..RunLimits::default()
        };
        let err = host.run_command(&module, &["spin"], &limits).unwrap_err();
        assert!(matches!(err, HostError::Timeout(_)), "{err}");
    }

    #[test]
    fn memory_beyond_the_limit_is_refused() {
        let host = Host::new().unwrap();
        // 2 pages minimum (128 KiB) against a 64 KiB limit: instantiation must fail.
        let module = host
            .compile(br#"(module (memory (export "memory") 2) (func (export "_start")))"#)
            .unwrap();
        let limits = RunLimits {
            memory_bytes: 64 << 10,
            ..RunLimits::default()
        };
        let err = host.run_command(&module, &["big"], &limits).unwrap_err();
        assert!(matches!(err, HostError::Instantiate(_)), "{err}");
    }
}

//! Capsules that misbehave are stopped by the limits, and the host stays usable.

use std::time::Duration;

use std::sync::Arc;

use ddrm_capsule::wire::PlayParams;
use licence_net_protocol::{Address, B256};
use player::capsule_host::{Discard, Offline, Session};
use player::runtime::RuntimeKey;
use player::{Controller, Host, PlayError, RunLimits};

/// A session with nothing behind it: an empty file, no licence network, output dropped.
fn session() -> Session {
    Session {
        source: Box::new(std::io::Cursor::new(Vec::new())),
        params: PlayParams {
            chain_id: 20,
            access_contract: Address::ZERO,
            account: Address::ZERO,
            group_key: String::new(),
            start_ms: 0,
            audio: true,
            video: false,
        },
        measurement: B256::ZERO,
        runtime: Arc::new(RuntimeKey::generate()),
        wallet: k256::ecdsa::SigningKey::random(&mut rand_core::OsRng),
        gate: Box::new(Offline),
        presenter: Box::new(Discard),
        control: Controller::new(),
    }
}

/// A capsule-shaped module (the `ddrm` ABI exports) whose `ddrm_play` never returns.
const SPIN: &str = r#"
(module
  (memory (export "memory") 1)
  (func (export "ddrm_abi_version") (result i32) (i32.const 2))
  (func (export "ddrm_play") (result i32) (loop $l (br $l)) (i32.const 0)))
"#;

/// One whose `ddrm_play` grows its memory without bound.
const HOG: &str = r#"
(module
  (memory (export "memory") 1)
  (func (export "ddrm_abi_version") (result i32) (i32.const 2))
  (func (export "ddrm_play") (result i32)
    (loop $l (br_if $l (i32.ne (memory.grow (i32.const 16)) (i32.const -1))))
    (i32.const 0)))
"#;

/// One that hands the host a frame far larger than its own memory.
const OVERSIZED: &str = r#"
(module
  (import "ddrm" "present_video" (func $present (param i32 i32 i64) (result i32)))
  (memory (export "memory") 1)
  (func (export "ddrm_abi_version") (result i32) (i32.const 2))
  (func (export "ddrm_play") (result i32)
    (call $present (i32.const 0) (i32.const -16) (i64.const 0))))
"#;

/// One that asks the host to read 64 MiB of the content into the last bytes of its one page.
const OVERREAD: &str = r#"
(module
  (import "ddrm" "source_read" (func $read (param i64 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "ddrm_abi_version") (result i32) (i32.const 2))
  (func (export "ddrm_play") (result i32)
    (call $read (i64.const 0) (i32.const 65520) (i32.const 67108864))))
"#;

/// A content source that counts the bytes asked of it.
struct Counted(std::io::Cursor<Vec<u8>>, Arc<std::sync::atomic::AtomicU64>);

impl std::io::Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.1
            .fetch_add(buf.len() as u64, std::sync::atomic::Ordering::SeqCst);
        self.0.read(buf)
    }
}

impl std::io::Seek for Counted {
    fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
        self.0.seek(pos)
    }
}

/// Security review (ac16717) finding 13: `source_read` allocated and filled up to 64 MiB from
/// the content before checking where the capsule wanted it. Now the capsule is trapped first,
/// and the source is never read.
#[test]
fn a_read_into_memory_the_capsule_does_not_have_reads_nothing() {
    let host = Host::new().unwrap();
    let asked = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut s = session();
    s.source = Box::new(Counted(
        std::io::Cursor::new(vec![7u8; 1 << 20]),
        asked.clone(),
    ));
    let capsule = host.compile(OVERREAD.as_bytes()).unwrap();
    let e = host
        .run_capsule(&capsule, s, &RunLimits::default())
        .unwrap_err();
    assert!(
        matches!(&e, PlayError::CapsuleTrap(m) if m.contains("out of bounds")),
        "{e}"
    );
    assert_eq!(asked.load(std::sync::atomic::Ordering::SeqCst), 0);
}

#[test]
fn runaway_capsules_are_stopped_and_the_host_stays_up() {
    let host = Host::new().unwrap();
    let limits = RunLimits {
        memory_bytes: 16 << 20,
        timeout: Duration::from_millis(200),
        ..RunLimits::default()
    };
    let spin = host.compile(SPIN.as_bytes()).unwrap();
    let e = host.run_capsule(&spin, session(), &limits).unwrap_err();
    assert!(matches!(e, PlayError::CapsuleTimeout(_)), "{e}");

    let hog = host.compile(HOG.as_bytes()).unwrap();
    let e = host.run_capsule(&hog, session(), &limits).unwrap_err();
    assert!(matches!(e, PlayError::CapsuleMemory(..)), "{e}");

    // A length beyond the capsule's memory traps it before the host allocates for it.
    let oversized = host.compile(OVERSIZED.as_bytes()).unwrap();
    let e = host
        .run_capsule(&oversized, session(), &limits)
        .unwrap_err();
    assert!(
        matches!(&e, PlayError::CapsuleTrap(m) if m.contains("out of bounds")),
        "{e}"
    );

    // The same host still runs modules.
    let ok = host
        .compile(br#"(module (func (export "_start")))"#)
        .unwrap();
    let out = host
        .run_command(&ok, &["ok"], &RunLimits::default())
        .unwrap();
    assert_eq!(out.exit_code, 0);
}

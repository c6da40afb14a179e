//! The sandbox boundary, host side: the capsule's whole authority.
//!
//! Imports of module `ddrm` (all integers are wasm `i32`/`i64`; pointers are offsets into the
//! capsule's exported `memory`, checked against its bounds on every call):
//!
//! | import | what the host does |
//! |---|---|
//! | `params() -> i64` | replies [`PlayParams`] (JSON) |
//! | `source_len() -> i64` | length of the `.ddrm` |
//! | `source_read(offset i64, ptr, len) -> i32` | copies that byte range of the `.ddrm` into the capsule |
//! | `now() -> i64` | host clock, unix seconds |
//! | `attest(key_ptr) -> i64` | signs an [`Attestation`] of the capsule's measurement (computed by the host) and the 32-byte key; replies it |
//! | `licence_ask(ptr, len) -> i64` | takes an [`AskDraft`], checks it carries the host's attestation, has the wallet sign the fields, asks the licence network; replies the sealed responses |
//! | `licence_more(ptr, len) -> i64` | takes the [`BadShare`]s the capsule found, waits for the other nodes; replies the usable responses |
//! | `take_reply(ptr, len) -> i32` | copies the pending reply (exactly `len` bytes) into the capsule |
//! | `present_audio(ptr, samples, pts_us i64) -> i32` | takes interleaved `f32` samples, the first presented at `pts_us` |
//! | `present_video(ptr, len, pts_us) -> i32` | takes one 8-bit 4:2:0 frame |
//! | `control(position_us i64) -> i64` | asked between units: replies a [`Control`](ddrm_capsule::wire::Control) from the run's [`Controller`] (continue, seek, stop), waiting first while paused |
//! | `report(ptr, len)` | takes an [`Event`] (JSON) |
//!
//! Replies: `>= 0` is the length of a reply waiting for `take_reply`; `< 0` means the host
//! refused, and the host records why (its error is the one the user sees). WASI preview 1 is
//! linked for the Rust standard library with nothing behind it: no files, no environment, no
//! arguments, no sockets; stdout and stderr go to bounded buffers kept for diagnostics.

use std::io;

use std::time::{Duration, Instant};

use ddrm_capsule::wire::{AskDraft, BadShare, Event, PlayParams, StopKind, MAX_MESSAGE};
use licence_net_protocol::{
    Attestation, LicenceAsk, LicencePolicy, LicenceResponse, ShareFault, B256, MAX_KEY_CIPHERTEXT,
};
use packager_format::ByteSource;
use wasmtime::{AsContextMut, Caller, Extern, Linker, Memory, StoreLimits};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;

use crate::control::Controller;
use crate::runtime::RuntimeKey;
use crate::PlayError;

/// Largest single read of the `.ddrm` a capsule may ask for.
pub const MAX_READ: u32 = 64 << 20;
/// Bytes of capsule stdout/stderr kept for diagnostics.
pub const DIAGNOSTICS_BYTES: usize = 64 << 10;

/// Asks the licence network on the capsule's behalf. The host never holds an opened share.
pub trait LicenceGate: Send {
    /// Sends the ask to the nodes; returns responses whose envelope checked out.
    fn ask(&mut self, ask: &LicenceAsk) -> Result<Vec<LicenceResponse>, PlayError>;
    /// Records the capsule's complaints and waits for the remaining nodes.
    fn more(&mut self, bad: &[ShareFault]) -> Result<Vec<LicenceResponse>, PlayError>;
}

/// Where presented samples, frames and events go. Called on the capsule's thread, in the
/// order the capsule presents (interleaved by presentation time); a presenter that blocks
/// (a full queue to a device or a socket) holds the capsule back, which is its flow control.
pub trait Presenter: Send {
    /// Interleaved `f32` samples in the format of the last [`Event::Audio`]; the first is
    /// presented at `pts_us` (microseconds from the start of the content).
    fn audio(&mut self, interleaved: &[f32], pts_us: i64) -> io::Result<()>;
    /// One 8-bit 4:2:0 frame (Y, U, V tightly packed) in the size of the last
    /// [`Event::Video`], presented at `pts_us`.
    fn video(&mut self, planes: &[u8], pts_us: i64) -> io::Result<()>;
    fn event(&mut self, event: &Event);
    /// The capsule is held by a pause before the unit at `position_us` (`true`), or goes on
    /// (`false`).
    fn waiting(&mut self, _waiting: bool, _position_us: i64) {}
}

/// Everything one capsule run may touch.
pub struct CapsuleState {
    pub(crate) wasi: WasiP1Ctx,
    pub(crate) limits: StoreLimits,
    pub(crate) diagnostics: MemoryOutputPipe,
    source: Box<dyn ByteSource + Send>,
    params: Vec<u8>,
    measurement: B256,
    runtime: std::sync::Arc<RuntimeKey>,
    wallet: k256::ecdsa::SigningKey,
    gate: Box<dyn LicenceGate>,
    presenter: Box<dyn Presenter>,
    control: Controller,
    /// When the run's deadline falls: moved later by the time spent paused.
    pub(crate) deadline: Instant,
    reply: Vec<u8>,
    attestation: Option<Attestation>,
    /// The host-side cause of the first refusal, reported instead of the capsule's account.
    pub(crate) failure: Option<PlayError>,
    stopped: Option<(StopKind, String)>,
    licensed: Option<(LicencePolicy, Vec<u32>, Vec<BadShare>)>,
    decrypted: Vec<u32>,
    presented: Presented,
}

/// What the host was handed, counted by the host.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Presented {
    /// The announced audio format: sample rate and channels.
    pub sample_rate: u32,
    pub channels: u16,
    /// Audio frames (one sample per channel) and video frames presented.
    pub audio_frames: u64,
    pub video_frames: u64,
}

/// How a capsule run ended (it ran to its end, or stopped on its own account).
#[derive(Debug)]
pub struct Outcome {
    /// `ddrm_play`'s result: 0 played to the end.
    pub code: i32,
    /// Why the host refused a call, when it did.
    pub failure: Option<PlayError>,
    /// Why the capsule says it stopped.
    pub stopped: Option<(StopKind, String)>,
    /// The licence the capsule enforced, the nodes whose shares it used, bad shares met.
    pub licensed: Option<(LicencePolicy, Vec<u32>, Vec<BadShare>)>,
    /// Segment indices the capsule decrypted, in order.
    pub decrypted: Vec<u32>,
    pub presented: Presented,
    /// What the capsule wrote to stdout/stderr (bounded).
    pub diagnostics: Vec<u8>,
}

/// What a capsule run is given.
pub struct Session {
    pub source: Box<dyn ByteSource + Send>,
    pub params: PlayParams,
    pub measurement: B256,
    pub runtime: std::sync::Arc<RuntimeKey>,
    pub wallet: k256::ecdsa::SigningKey,
    pub gate: Box<dyn LicenceGate>,
    pub presenter: Box<dyn Presenter>,
    /// Pause, resume, seek and stop, asked by the capsule between units.
    pub control: Controller,
}

impl CapsuleState {
    pub(crate) fn new(
        session: Session,
        wasi: WasiP1Ctx,
        limits: StoreLimits,
        diagnostics: MemoryOutputPipe,
    ) -> Self {
        Self {
            wasi,
            limits,
            diagnostics,
            source: session.source,
            params: serde_json::to_vec(&session.params).expect("params serialize"),
            measurement: session.measurement,
            runtime: session.runtime,
            wallet: session.wallet,
            gate: session.gate,
            presenter: session.presenter,
            control: session.control,
            deadline: Instant::now(),
            reply: Vec::new(),
            attestation: None,
            failure: None,
            stopped: None,
            licensed: None,
            decrypted: Vec::new(),
            presented: Presented::default(),
        }
    }

    pub(crate) fn finish(self, code: i32) -> Outcome {
        Outcome {
            code,
            failure: self.failure,
            stopped: self.stopped,
            licensed: self.licensed,
            decrypted: self.decrypted,
            presented: self.presented,
            diagnostics: self.diagnostics.contents().to_vec(),
        }
    }

    fn record(&mut self, event: &Event) {
        match event {
            Event::Stopped { kind, message } => self.stopped = Some((*kind, message.clone())),
            Event::Licensed {
                policy,
                nodes,
                bad_shares,
            } => self.licensed = Some((policy.clone(), nodes.clone(), bad_shares.clone())),
            Event::Decrypted { segment } => self.decrypted.push(*segment),
            _ => {
                if let Some((rate, channels)) = event.audio_format() {
                    self.presented.sample_rate = rate;
                    self.presented.channels = channels;
                }
            }
        }
    }

    fn refuse(&mut self, e: PlayError) -> i64 {
        self.reply.clear();
        if self.failure.is_none() {
            self.failure = Some(e);
        }
        -1
    }

    fn answer(&mut self, bytes: Vec<u8>) -> i64 {
        let len = bytes.len() as i64;
        self.reply = bytes;
        len
    }
}

fn memory(caller: &mut Caller<'_, CapsuleState>) -> wasmtime::Result<Memory> {
    match caller.get_export("memory") {
        Some(Extern::Memory(m)) => Ok(m),
        _ => Err(wasmtime::format_err!("the capsule exports no memory")),
    }
}

/// The capsule's memory, once `ptr .. ptr + len` is inside it. Bounds come first: a length the
/// capsule's memory cannot hold is refused (trapping the capsule) before the host allocates or
/// reads anything for it.
fn guest_range(
    caller: &mut Caller<'_, CapsuleState>,
    ptr: u32,
    len: u32,
) -> wasmtime::Result<Memory> {
    let mem = memory(caller)?;
    let end = u64::from(ptr) + u64::from(len);
    if end > mem.data_size(&*caller) as u64 {
        return Err(wasmtime::format_err!("capsule pointer out of bounds"));
    }
    Ok(mem)
}

/// Copies `len` bytes at `ptr` out of the capsule; out of bounds traps the capsule.
fn read_guest(
    caller: &mut Caller<'_, CapsuleState>,
    ptr: u32,
    len: u32,
) -> wasmtime::Result<Vec<u8>> {
    let mem = guest_range(caller, ptr, len)?;
    let mut buf = vec![0u8; len as usize];
    mem.read(&*caller, ptr as usize, &mut buf)
        .map_err(|_| wasmtime::format_err!("capsule pointer out of bounds"))?;
    Ok(buf)
}

fn write_guest(
    caller: &mut Caller<'_, CapsuleState>,
    ptr: u32,
    bytes: &[u8],
) -> wasmtime::Result<()> {
    let mem = memory(caller)?;
    mem.write(&mut *caller, ptr as usize, bytes)
        .map_err(|_| wasmtime::format_err!("capsule pointer out of bounds"))
}

fn message(caller: &mut Caller<'_, CapsuleState>, ptr: u32, len: u32) -> wasmtime::Result<Vec<u8>> {
    if len as usize > MAX_MESSAGE {
        return Err(wasmtime::format_err!(
            "capsule message over {MAX_MESSAGE} bytes"
        ));
    }
    read_guest(caller, ptr, len)
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Adds the `ddrm` imports to `linker`: with WASI preview 1 (no files, environment, arguments
/// or sockets), this table is the capsule's whole authority.
pub(crate) fn add_to_linker(linker: &mut Linker<CapsuleState>) -> wasmtime::Result<()> {
    linker.func_wrap("ddrm", "params", params)?;
    linker.func_wrap("ddrm", "source_len", source_len)?;
    linker.func_wrap("ddrm", "source_read", source_read)?;
    linker.func_wrap("ddrm", "now", now)?;
    linker.func_wrap("ddrm", "attest", attest)?;
    linker.func_wrap("ddrm", "licence_ask", licence_ask)?;
    linker.func_wrap("ddrm", "licence_more", licence_more)?;
    linker.func_wrap("ddrm", "take_reply", take_reply)?;
    linker.func_wrap("ddrm", "present_audio", present_audio)?;
    linker.func_wrap("ddrm", "present_video", present_video)?;
    linker.func_wrap("ddrm", "control", control)?;
    linker.func_wrap("ddrm", "report", report)?;
    Ok(())
}

/// `ddrm.params`: replies the run's [`PlayParams`] (JSON).
fn params(mut c: Caller<'_, CapsuleState>) -> i64 {
    let p = c.data().params.clone();
    c.data_mut().answer(p)
}

/// `ddrm.source_len`: The length of the `.ddrm` source.
fn source_len(mut c: Caller<'_, CapsuleState>) -> i64 {
    let s = c.data_mut();
    match s.source.len() {
        Ok(n) => n as i64,
        Err(e) => s.refuse(PlayError::Source(e.to_string())),
    }
}

/// `ddrm.source_read`: Copies `len` bytes of the source at `offset` into guest memory (bounded: `MAX_READ`).
fn source_read(
    mut c: Caller<'_, CapsuleState>,
    offset: i64,
    ptr: u32,
    len: u32,
) -> wasmtime::Result<i32> {
    if len > MAX_READ || offset < 0 {
        return Ok(c
            .data_mut()
            .refuse(PlayError::Source("capsule read out of range".into()))
            as i32);
    }
    // Where the bytes go is checked before the host allocates or reads the source.
    guest_range(&mut c, ptr, len)?;
    let mut buf = vec![0u8; len as usize];
    if let Err(e) = c.data_mut().source.read_exact_at(offset as u64, &mut buf) {
        return Ok(c.data_mut().refuse(PlayError::Source(e.to_string())) as i32);
    }
    write_guest(&mut c, ptr, &buf)?;
    Ok(0)
}

/// `ddrm.now`: The host clock (unix seconds), against which the capsule checks a rental's end.
fn now(_: Caller<'_, CapsuleState>) -> i64 {
    unix_now() as i64
}

/// `ddrm.attest`: Has the runtime key attest this capsule's measurement and the capsule key at `key_ptr` (once per run).
fn attest(mut c: Caller<'_, CapsuleState>, key_ptr: u32) -> wasmtime::Result<i64> {
    let key = B256::from_slice(&read_guest(&mut c, key_ptr, 32)?);
    let s = c.data_mut();
    if s.attestation.is_some() {
        return Ok(s.refuse(PlayError::Capsule(
            "the capsule asked for a second attestation".into(),
        )));
    }
    match s.runtime.attest(s.measurement, key, unix_now()) {
        Ok(a) => {
            let json = serde_json::to_vec(&a).expect("serializes");
            s.attestation = Some(a);
            Ok(s.answer(json))
        }
        Err(e) => Ok(s.refuse(PlayError::Runtime(e.to_string()))),
    }
}

/// `ddrm.licence_ask`: Signs the capsule's licence draft with the wallet and asks the licence network; the sealed responses go to the reply buffer.
fn licence_ask(mut c: Caller<'_, CapsuleState>, ptr: u32, len: u32) -> wasmtime::Result<i64> {
    let bytes = message(&mut c, ptr, len)?;
    let s = c.data_mut();
    let draft: AskDraft = match serde_json::from_slice(&bytes) {
        Ok(d) => d,
        Err(e) => return Ok(s.refuse(PlayError::Capsule(format!("licence draft: {e}")))),
    };
    if Some(&draft.attestation) != s.attestation.as_ref()
        || draft.fields.capsule_key != draft.attestation.capsule_key
        || draft.key_ciphertext.len() > MAX_KEY_CIPHERTEXT
    {
        return Ok(s.refuse(PlayError::Capsule(
            "the licence draft does not carry this host's attestation".into(),
        )));
    }
    let request = match draft.fields.sign(&s.wallet) {
        Ok(r) => r,
        Err(e) => return Ok(s.refuse(PlayError::Capsule(format!("wallet signature: {e}")))),
    };
    let ask = LicenceAsk {
        request,
        attestation: draft.attestation,
        key_ciphertext: draft.key_ciphertext,
    };
    match s.gate.ask(&ask) {
        Ok(responses) => Ok(s.answer(serde_json::to_vec(&responses).expect("serializes"))),
        Err(e) => Ok(s.refuse(e)),
    }
}

/// `ddrm.licence_more`: Asks the nodes not yet heard for more responses after the capsule named bad shares.
fn licence_more(mut c: Caller<'_, CapsuleState>, ptr: u32, len: u32) -> wasmtime::Result<i64> {
    let bytes = message(&mut c, ptr, len)?;
    let s = c.data_mut();
    let bad: Vec<BadShare> = match serde_json::from_slice(&bytes) {
        Ok(b) => b,
        Err(e) => return Ok(s.refuse(PlayError::Capsule(format!("bad-share list: {e}")))),
    };
    let faults: Vec<ShareFault> = bad.iter().map(ShareFault::from).collect();
    match s.gate.more(&faults) {
        Ok(responses) => Ok(s.answer(serde_json::to_vec(&responses).expect("serializes"))),
        Err(e) => Ok(s.refuse(e)),
    }
}

/// `ddrm.take_reply`: Copies the reply buffer into guest memory and empties it.
fn take_reply(mut c: Caller<'_, CapsuleState>, ptr: u32, len: u32) -> wasmtime::Result<i32> {
    if len as usize != c.data().reply.len() {
        return Ok(-1);
    }
    let reply = std::mem::take(&mut c.data_mut().reply);
    write_guest(&mut c, ptr, &reply)?;
    Ok(0)
}

/// `ddrm.present_audio`: Hands decoded interleaved f32 samples to the presenter (a speaker, or a test sink).
fn present_audio(
    mut c: Caller<'_, CapsuleState>,
    ptr: u32,
    samples: u32,
    pts_us: i64,
) -> wasmtime::Result<i32> {
    let bytes = read_guest(
        &mut c,
        ptr,
        samples
            .checked_mul(4)
            .ok_or_else(|| wasmtime::format_err!("too many samples"))?,
    )?;
    let floats: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let s = c.data_mut();
    if s.presented.channels == 0 {
        return Ok(s.refuse(PlayError::Capsule("audio before its format".into())) as i32);
    }
    match s.presenter.audio(&floats, pts_us) {
        Ok(()) => {
            s.presented.audio_frames += (floats.len() / usize::from(s.presented.channels)) as u64;
            Ok(0)
        }
        Err(e) => Ok(s.refuse(PlayError::Output(e.to_string())) as i32),
    }
}

/// `ddrm.present_video`: Hands one decoded frame (Y, U, V planes) to the presenter.
fn present_video(
    mut c: Caller<'_, CapsuleState>,
    ptr: u32,
    len: u32,
    pts_us: i64,
) -> wasmtime::Result<i32> {
    let planes = read_guest(&mut c, ptr, len)?;
    let s = c.data_mut();
    match s.presenter.video(&planes, pts_us) {
        Ok(()) => {
            s.presented.video_frames += 1;
            Ok(0)
        }
        Err(e) => Ok(s.refuse(PlayError::Output(e.to_string())) as i32),
    }
}

/// `ddrm.control`: what the run's [`Controller`] wants before the unit at `position_us`
/// (replies a `Control`); while paused this waits, and the time paused moves the run's
/// deadline later (a deadline bounds work, not a pause).
fn control(mut c: Caller<'_, CapsuleState>, position_us: i64) -> wasmtime::Result<i64> {
    let s = c.data_mut();
    let controller = s.control.clone();
    let (control, waited) = controller.next(position_us, &mut *s.presenter);
    if !waited.is_zero() {
        s.deadline = s.deadline.checked_add(waited).unwrap_or(s.deadline);
        let left = s.deadline.saturating_duration_since(Instant::now());
        c.as_context_mut()
            .set_epoch_deadline(crate::epoch_ticks(left.max(Duration::from_nanos(1))));
    }
    let json = serde_json::to_vec(&control).expect("serializes");
    Ok(c.data_mut().answer(json))
}

/// `ddrm.report`: an [`Event`] from the capsule (licensed, track facts, a decrypted segment,
/// stopped, finished), recorded for the outcome and passed to the presenter.
fn report(mut c: Caller<'_, CapsuleState>, ptr: u32, len: u32) -> wasmtime::Result<()> {
    let bytes = message(&mut c, ptr, len)?;
    // An event the host cannot read is dropped; the outcome then lacks it.
    if let Ok(event) = serde_json::from_slice::<Event>(&bytes) {
        let s = c.data_mut();
        s.record(&event);
        s.presenter.event(&event);
    }
    Ok(())
}

/// A licence gate for runs without a licence network: every ask is refused.
pub struct Offline;

impl LicenceGate for Offline {
    fn ask(&mut self, _: &LicenceAsk) -> Result<Vec<LicenceResponse>, PlayError> {
        Err(PlayError::LicenceRefused(
            "no licence network in this run".into(),
        ))
    }
    fn more(&mut self, _: &[ShareFault]) -> Result<Vec<LicenceResponse>, PlayError> {
        Err(PlayError::LicenceRefused(
            "no licence network in this run".into(),
        ))
    }
}

/// A presenter that drops what it is given.
pub struct Discard;

impl Presenter for Discard {
    fn audio(&mut self, _: &[f32], _: i64) -> io::Result<()> {
        Ok(())
    }
    fn video(&mut self, _: &[u8], _: i64) -> io::Result<()> {
        Ok(())
    }
    fn event(&mut self, _: &Event) {}
}

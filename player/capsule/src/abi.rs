//! The sandbox boundary, capsule side: the only imports the capsule has (module `ddrm`, plus
//! WASI preview 1 for the Rust standard library: the host gives it no files, no environment,
//! no arguments and no sockets) and its exports. The host side and the table of calls are in
//! `player/src/capsule_host.rs`.
//!
//! Calls that return data answer with an `i64`: a length `>= 0` of the reply the host holds,
//! which `take_reply` copies into capsule memory, or `< 0` when the host refused (the host keeps
//! its own account of why).
#![allow(unsafe_code)]

use std::io;

use licence_net_protocol::{Attestation, LicenceResponse, B256};
use packager_format::ByteSource;

use crate::session::{self, Host, Stop};
use crate::wire::{AskDraft, BadShare, Control, Event, PlayParams, StopKind, MAX_MESSAGE};

#[link(wasm_import_module = "ddrm")]
extern "C" {
    fn params() -> i64;
    fn source_len() -> i64;
    fn source_read(offset: i64, ptr: *mut u8, len: u32) -> i32;
    fn now() -> i64;
    fn attest(key_ptr: *const u8) -> i64;
    fn licence_ask(ptr: *const u8, len: u32) -> i64;
    fn licence_more(ptr: *const u8, len: u32) -> i64;
    fn take_reply(ptr: *mut u8, len: u32) -> i32;
    fn present_audio(ptr: *const f32, samples: u32, pts_us: i64) -> i32;
    fn present_video(ptr: *const u8, len: u32, pts_us: i64) -> i32;
    fn control(position_us: i64) -> i64;
    fn report(ptr: *const u8, len: u32);
}

/// The interface version, checked by the host before anything else.
#[no_mangle]
pub extern "C" fn ddrm_abi_version() -> u32 {
    crate::ABI_VERSION
}

/// Plays what the host's `params` say: 0 when it played to the end, 1 when it stopped (the
/// `Stopped` event says why).
#[no_mangle]
pub extern "C" fn ddrm_play() -> i32 {
    match session::play(&mut Imports, HostSource) {
        Ok(_) => 0,
        Err(_) => 1,
    }
}

fn host_refused(call: &str) -> Stop {
    Stop::new(StopKind::Host, format!("the host refused `{call}`"))
}

/// Collects the reply announced by `len` and parses it as JSON.
fn reply<T: serde::de::DeserializeOwned>(call: &str, len: i64) -> Result<T, Stop> {
    let len = usize::try_from(len).map_err(|_| host_refused(call))?;
    if len > MAX_MESSAGE * 16 {
        return Err(Stop::new(
            StopKind::Host,
            format!("`{call}` reply too large"),
        ));
    }
    let mut buf = vec![0u8; len];
    // SAFETY: `buf` is a live, writable allocation of exactly `len` bytes.
    if unsafe { take_reply(buf.as_mut_ptr(), len as u32) } != 0 {
        return Err(host_refused(call));
    }
    serde_json::from_slice(&buf)
        .map_err(|e| Stop::new(StopKind::Host, format!("`{call}` reply: {e}")))
}

struct Imports;

impl Host for Imports {
    fn params(&mut self) -> Result<PlayParams, Stop> {
        // SAFETY: no arguments.
        reply("params", unsafe { params() })
    }

    fn now(&mut self) -> u64 {
        // SAFETY: no arguments.
        u64::try_from(unsafe { now() }).unwrap_or(0)
    }

    fn attest(&mut self, capsule_key: B256) -> Result<Attestation, Stop> {
        // SAFETY: the host reads exactly 32 bytes from a live array.
        reply("attest", unsafe { attest(capsule_key.0.as_ptr()) })
    }

    fn ask(&mut self, draft: &AskDraft) -> Result<Vec<LicenceResponse>, Stop> {
        let json = serde_json::to_vec(draft).expect("serializes");
        // SAFETY: the host reads `json.len()` bytes from a live buffer.
        reply("licence_ask", unsafe {
            licence_ask(json.as_ptr(), json.len() as u32)
        })
    }

    fn more(&mut self, bad: &[BadShare]) -> Result<Vec<LicenceResponse>, Stop> {
        let json = serde_json::to_vec(bad).expect("serializes");
        // SAFETY: as above.
        reply("licence_more", unsafe {
            licence_more(json.as_ptr(), json.len() as u32)
        })
    }

    fn present_audio(&mut self, interleaved: &[f32], pts_us: i64) -> Result<(), Stop> {
        // SAFETY: the host reads `len` f32 values from a live slice.
        match unsafe { present_audio(interleaved.as_ptr(), interleaved.len() as u32, pts_us) } {
            0 => Ok(()),
            _ => Err(host_refused("present_audio")),
        }
    }

    fn present_video(&mut self, planes: &[u8], pts_us: i64) -> Result<(), Stop> {
        // SAFETY: the host reads `len` bytes from a live slice.
        match unsafe { present_video(planes.as_ptr(), planes.len() as u32, pts_us) } {
            0 => Ok(()),
            _ => Err(host_refused("present_video")),
        }
    }

    fn control(&mut self, position_us: i64) -> Result<Control, Stop> {
        // SAFETY: no pointers.
        reply("control", unsafe { control(position_us) })
    }

    fn report(&mut self, event: &Event) {
        let json = serde_json::to_vec(event).expect("serializes");
        // SAFETY: the host reads `json.len()` bytes from a live buffer.
        unsafe { report(json.as_ptr(), json.len() as u32) }
    }
}

/// The `.ddrm` bytes, read through the host as the capsule needs them.
struct HostSource;

impl ByteSource for HostSource {
    fn len(&mut self) -> io::Result<u64> {
        // SAFETY: no arguments.
        u64::try_from(unsafe { source_len() })
            .map_err(|_| io::Error::other("the host cannot tell the file's length"))
    }

    fn read_exact_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let offset = i64::try_from(offset).map_err(|_| io::Error::other("offset too large"))?;
        // SAFETY: the host writes exactly `buf.len()` bytes into a live, writable slice.
        match unsafe { source_read(offset, buf.as_mut_ptr(), buf.len() as u32) } {
            0 => Ok(()),
            _ => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the host cannot read that range of the file",
            )),
        }
    }
}

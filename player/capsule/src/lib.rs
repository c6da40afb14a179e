//! The player capsule: compiled to `wasm32-wasip1`, it holds the content key and decodes inside
//! its sandbox. The host (`player`) builds it, checks it and runs it; nothing else of the host
//! is reachable from here.
//!
//! - [`wire`]: the messages crossing the sandbox boundary (JSON), shared with the host.
//! - `session` (feature `decode`): the capsule's work over the [`session::Host`] trait: read the
//!   `.ddrm` header, make the ephemeral key, build the licence request, recover the content key
//!   from sealed shares, enforce the licence policy, then decode audio and video interleaved by
//!   presentation time, asking the host between packets whether to go on, seek or stop, and
//!   present samples and frames with their presentation times.
//! - `av1` (feature `decode`): the AV1 decoder (rav1d) behind a safe interface; with `abi`, the
//!   only module allowed `unsafe` code.
//! - `abi` (wasm32 only): the import list and exports that implement `Host` over the sandbox
//!   boundary; see `player/src/capsule_host.rs` for the host side and the ABI table.

pub mod wire;

#[cfg(feature = "decode")]
pub mod session;

#[cfg(feature = "decode")]
pub mod av1;

#[cfg(all(target_arch = "wasm32", feature = "decode"))]
mod abi;

/// The interface version this capsule speaks; the host refuses any other.
pub const ABI_VERSION: u32 = 2;

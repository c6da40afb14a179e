//! Integration tests of the player against real components: anvil with the contracts deployed,
//! five licence nodes on loopback, content packaged by the real packager (ffmpeg), and the
//! bundled capsule run by the wasmtime host.

mod harness;
mod limits;
mod playback;
mod refusals;
mod session;
mod tpm;

//! `stack`: `ddrm up`, a whole ddrm stack on one machine, and its description `stack.json`.
//!
//! Core types:
//! - [`StackFile`]: the `stack.json` that `ddrm up` writes and every other command reads with
//!   `--stack` (chain, deployment, group key, licence nodes, store, runtime key, dev accounts).
//! - [`up::RunningStack`]: starts anvil (or uses an RPC), deploys the contracts, deals the licence
//!   keys, runs five `ddrm licence node` processes, registers the runtime key and the capsule,
//!   writes `stack.json`; stops every child it started.

pub mod demo;
pub mod file;
pub mod up;

pub use file::{
    CapsuleEntry, ChainEndpoint, DevAccount, DevAccounts, LicenceNetwork, LicenceNodeEntry,
    RuntimeEntry, StackDeployment, StackFile, StackFileError, StoreEndpoint, STACK_FILE_NAME,
};
pub use up::{RunningStack, StopSignals, UpError, UpOptions};

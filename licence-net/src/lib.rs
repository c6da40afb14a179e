//! `licence-net`: the threshold key network that releases content keys only to buyers.
//!
//! Today: [`dealer`], the trusted-dealer key generation for local stacks and tests
//! (`ddrm licence keygen`), and [`KeyShareFile`], the node share file it writes and a node
//! loads. The node service and its client build on these.

pub mod dealer;
mod share;

pub use share::{KeyShareFile, ShareError};

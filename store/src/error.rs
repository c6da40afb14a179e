//! The one error type of this crate.

use std::path::PathBuf;
use std::time::Duration;

use crate::cid::{Cid, CidParseError};

/// What went wrong in a store operation, specific enough for a caller to act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A string is not a CID this crate supports.
    #[error("invalid CID {input:?}: {reason}")]
    InvalidCid {
        /// The text given.
        input: String,
        /// Why it was refused.
        reason: CidParseError,
    },

    /// The store does not hold this content.
    #[error("content {cid} not found in the {backend}")]
    NotFound {
        /// The content asked for.
        cid: Cid,
        /// Which store was asked ("embedded store at DIR" or "kubo at URL").
        backend: String,
    },

    /// The root is present but a block its DAG links to is missing.
    #[error("content {root} is incomplete: block {missing} is missing")]
    MissingBlock {
        /// The content asked for.
        root: Cid,
        /// The first missing block found.
        missing: Cid,
    },

    /// A stored block's bytes do not hash to its CID.
    #[error("integrity check failed: block {cid} on disk at {path} does not match its hash")]
    Corrupted {
        /// The block whose bytes are wrong.
        cid: Cid,
        /// Where it is stored.
        path: PathBuf,
    },

    /// A block decodes to something that is not a UnixFS file.
    #[error("block {cid} is not a UnixFS file node: {reason}")]
    Malformed {
        /// The offending block.
        cid: Cid,
        /// What is wrong with it.
        reason: String,
    },

    /// A range starts after the end of the content.
    #[error("offset {offset} is beyond the end of {cid} ({size} bytes)")]
    RangeOutOfBounds {
        /// The content read.
        cid: Cid,
        /// The requested start.
        offset: u64,
        /// The content's size.
        size: u64,
    },

    /// Unpinning content that is not pinned.
    #[error("content {cid} is not pinned in the {backend}")]
    NotPinned {
        /// The content.
        cid: Cid,
        /// Which store was asked.
        backend: String,
    },

    /// The `--ipfs-api` value cannot be used.
    #[error("invalid IPFS API address {url:?}: {reason}")]
    InvalidApiUrl {
        /// The value given.
        url: String,
        /// Why it was refused.
        reason: String,
    },

    /// No connection could be made to the kubo API.
    #[error("kubo API unreachable at {url} (is `ipfs daemon` running?): {message}")]
    KuboUnreachable {
        /// The API address.
        url: String,
        /// The connection error.
        message: String,
    },

    /// The kubo API answered with an error.
    #[error("kubo API at {url} failed to {operation}: {message}")]
    Kubo {
        /// The API address.
        url: String,
        /// What was asked of it.
        operation: &'static str,
        /// Its answer.
        message: String,
    },

    /// The kubo API did not answer in time.
    #[error("kubo API at {url} did not {operation} within {timeout:?}")]
    KuboTimeout {
        /// The API address.
        url: String,
        /// What was asked of it.
        operation: &'static str,
        /// The limit that passed.
        timeout: Duration,
    },

    /// A file or directory operation failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// A blocking task of the embedded store panicked or was cancelled.
    #[error("embedded store task failed: {0}")]
    Task(String),
}

impl StoreError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> StoreError {
        StoreError::Io {
            path: path.into(),
            source,
        }
    }
}

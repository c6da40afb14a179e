//! Content storage for ddrm: where packaged `.ddrm` files live, addressed by IPFS CIDs.
//!
//! One trait, [`ContentStore`], with two backends chosen by [`open_store`]:
//!
//! - [`EmbeddedStore`] (the default, nothing to install): blocks as files under the data
//!   directory. It builds UnixFS files exactly as kubo's `ipfs add --cid-version=1` does (raw
//!   leaves of 256 KiB, balanced dag-pb tree of at most 174 links per node, sha2-256), so a
//!   file gets the same [`Cid`] in both backends. Every block is hash-checked when read.
//! - [`KuboStore`]: a kubo node's HTTP RPC API (`--ipfs-api URL`).
//!
//! Core types: [`Cid`] (CIDv1, base32 text form), [`ByteRange`] for partial reads,
//! [`StoreConfig`], and [`StoreError`]. [`add_and_pin`] is the one call the packager needs.
//! [`default_data_dir`] is where the embedded store lives unless told otherwise, and
//! [`testing`] a harness that runs a real, isolated kubo daemon for tests. The `ddrm store`
//! command line lives in the `ddrm` binary.

mod cid;
mod embedded;
mod error;
mod kubo;
#[cfg(feature = "test-utils")]
pub mod testing;
mod unixfs;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{FutureExt, TryStreamExt};

pub use crate::cid::{Cid, CidParseError, Codec};
pub use crate::embedded::{EmbeddedStore, GcStats};
pub use crate::error::StoreError;
pub use crate::kubo::{KuboStore, KuboTimeouts};
#[cfg(feature = "fuzzing")]
pub use crate::unixfs::fuzz_block;
pub use crate::unixfs::{CHUNK_SIZE, MAX_LINKS};

/// The bytes of a read, in order, as they arrive.
pub type ByteStream = BoxStream<'static, Result<Bytes, StoreError>>;

/// A part of a file: `length` bytes from `offset`, or to the end when `length` is `None`.
///
/// A range that runs past the end is cut at the end; one that starts past the end is an error
/// ([`StoreError::RangeOutOfBounds`]). Starting exactly at the end gives no bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ByteRange {
    /// First byte to read.
    pub offset: u64,
    /// Bytes to read at most; `None` reads to the end.
    pub length: Option<u64>,
}

impl ByteRange {
    /// The whole file.
    pub const FULL: ByteRange = ByteRange {
        offset: 0,
        length: None,
    };

    /// `[start, end)` in a file of `size` bytes named `cid`.
    pub fn resolve(self, cid: Cid, size: u64) -> Result<(u64, u64), StoreError> {
        if self.offset > size {
            return Err(StoreError::RangeOutOfBounds {
                cid,
                offset: self.offset,
                size,
            });
        }
        let end = match self.length {
            Some(length) => self.offset.saturating_add(length).min(size),
            None => size,
        };
        Ok((self.offset, end))
    }
}

/// What a store knows about a file it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentStat {
    /// The file's root.
    pub cid: Cid,
    /// The file's size in bytes.
    pub size: u64,
}

/// A content-addressed file store. Object-safe: hold one as `Arc<dyn ContentStore>`.
///
/// Adding never pins by itself (except [`ContentStore::add_file_pinned`]); unpinned content may
/// be removed by the backend's garbage collection.
pub trait ContentStore: Send + Sync + fmt::Debug {
    /// Which store this is, for messages ("embedded store at DIR", "kubo at URL").
    fn describe(&self) -> String;

    /// Adds the file at `path`, reading it in chunks (never whole into memory).
    fn add_file<'a>(&'a self, path: &'a Path) -> BoxFuture<'a, Result<Cid, StoreError>>;

    /// Adds `bytes` as one file.
    fn add_bytes(&self, bytes: Bytes) -> BoxFuture<'_, Result<Cid, StoreError>>;

    /// Reads `range` of the file `cid`. Range and presence errors are returned before the
    /// stream starts; errors found while reading (such as a corrupted block) end the stream.
    fn cat(&self, cid: Cid, range: ByteRange) -> BoxFuture<'_, Result<ByteStream, StoreError>>;

    /// The size of the file `cid`, or [`StoreError::NotFound`].
    fn stat(&self, cid: Cid) -> BoxFuture<'_, Result<ContentStat, StoreError>>;

    /// Whether the root block of `cid` is held locally.
    fn has(&self, cid: Cid) -> BoxFuture<'_, Result<bool, StoreError>>;

    /// Protects `cid` and everything it links to from garbage collection.
    fn pin(&self, cid: Cid) -> BoxFuture<'_, Result<(), StoreError>>;

    /// Removes the pin on `cid`, or fails with [`StoreError::NotPinned`].
    fn unpin(&self, cid: Cid) -> BoxFuture<'_, Result<(), StoreError>>;

    /// Whether `cid` is pinned (as a root).
    fn is_pinned(&self, cid: Cid) -> BoxFuture<'_, Result<bool, StoreError>>;

    /// Adds the file at `path` and pins it: what `ddrm store add` and `ddrm package --pin` do.
    fn add_file_pinned<'a>(&'a self, path: &'a Path) -> BoxFuture<'a, Result<Cid, StoreError>> {
        async move {
            let cid = self.add_file(path).await?;
            self.pin(cid).await?;
            Ok(cid)
        }
        .boxed()
    }

    /// Reads `range` of `cid` into memory; for small reads.
    fn cat_to_vec(&self, cid: Cid, range: ByteRange) -> BoxFuture<'_, Result<Vec<u8>, StoreError>> {
        async move {
            let mut stream = self.cat(cid, range).await?;
            let mut out = Vec::new();
            while let Some(chunk) = stream.try_next().await? {
                out.extend_from_slice(&chunk);
            }
            Ok(out)
        }
        .boxed()
    }
}

/// The data directory used when none is given: `$XDG_DATA_HOME/ddrm`, else
/// `$HOME/.local/share/ddrm`, else `./.ddrm`.
pub fn default_data_dir() -> PathBuf {
    let non_empty = |v: std::ffi::OsString| (!v.is_empty()).then(|| PathBuf::from(v));
    if let Some(xdg) = std::env::var_os("XDG_DATA_HOME").and_then(non_empty) {
        return xdg.join("ddrm");
    }
    if let Some(home) = std::env::var_os("HOME").and_then(non_empty) {
        return home.join(".local/share/ddrm");
    }
    PathBuf::from(".ddrm")
}

/// Which backend to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreConfig {
    /// Directory of the embedded store (used when `ipfs_api` is `None`).
    pub data_dir: PathBuf,
    /// A kubo RPC API address (`http://127.0.0.1:5001` or `/ip4/127.0.0.1/tcp/5001`).
    pub ipfs_api: Option<String>,
}

/// Opens the store `config` selects: kubo if an API address is given (checking that it
/// answers), else the embedded store under `data_dir`.
pub async fn open_store(config: &StoreConfig) -> Result<Arc<dyn ContentStore>, StoreError> {
    match &config.ipfs_api {
        Some(url) => {
            let store = KuboStore::connect(url, KuboTimeouts::default()).await?;
            Ok(Arc::new(store))
        }
        None => Ok(Arc::new(EmbeddedStore::open(&config.data_dir)?)),
    }
}

/// Adds the file at `path` to the store `config` selects and pins it, returning its CID:
/// what `ddrm package --pin` does with its result.
pub async fn add_and_pin(config: &StoreConfig, path: &Path) -> Result<Cid, StoreError> {
    open_store(config).await?.add_file_pinned(path).await
}

/// The CID the file at `path` has in any store (the embedded store's and kubo's default
/// import agree), computed without storing anything: what `ddrm mint` registers when no CID
/// is given.
pub fn cid_of_file(path: &Path) -> Result<Cid, StoreError> {
    let mut file = std::fs::File::open(path).map_err(|e| StoreError::io(path, e))?;
    unixfs::import(&mut file, path, &mut |_, _| Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_files_cid_is_the_one_the_store_gives_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f.bin");
        // Three chunks and a bit: a tree, not a single leaf.
        let data: Vec<u8> = (0..3 * unixfs::CHUNK_SIZE + 17)
            .map(|i| (i % 251) as u8)
            .collect();
        std::fs::write(&file, &data).unwrap();
        let store = EmbeddedStore::open(dir.path().join("store")).unwrap();
        let stored = store.add_file(&file).await.unwrap();
        assert_eq!(cid_of_file(&file).unwrap(), stored);
        assert!(cid_of_file(&dir.path().join("missing")).is_err());
    }

    #[test]
    fn ranges_resolve_against_size() {
        let cid = Cid::for_block(Codec::Raw, b"0123456789");
        let range = |offset, length| ByteRange { offset, length };
        assert_eq!(ByteRange::FULL.resolve(cid, 10).ok(), Some((0, 10)));
        assert_eq!(range(3, Some(4)).resolve(cid, 10).ok(), Some((3, 7)));
        assert_eq!(range(8, Some(4)).resolve(cid, 10).ok(), Some((8, 10)));
        assert_eq!(range(10, None).resolve(cid, 10).ok(), Some((10, 10)));
        assert_eq!(
            range(1, Some(u64::MAX)).resolve(cid, 10).ok(),
            Some((1, 10))
        );
        assert!(matches!(
            range(11, Some(1)).resolve(cid, 10),
            Err(StoreError::RangeOutOfBounds {
                offset: 11,
                size: 10,
                ..
            })
        ));
    }

    #[tokio::test]
    async fn open_store_defaults_to_embedded() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = StoreConfig {
            data_dir: dir.path().join("data"),
            ipfs_api: None,
        };
        let store = open_store(&config).await.expect("open");
        assert!(store.describe().starts_with("embedded store at "));
        let cid = store
            .add_bytes(Bytes::from_static(b"hello"))
            .await
            .expect("add");
        assert_eq!(
            store.cat_to_vec(cid, ByteRange::FULL).await.expect("cat"),
            b"hello"
        );
    }

    #[tokio::test]
    async fn add_and_pin_pins_in_the_configured_store() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("packaged.ddrm");
        std::fs::write(&file, b"sealed content").expect("write input");
        let config = StoreConfig {
            data_dir: dir.path().join("data"),
            ipfs_api: None,
        };
        let cid = add_and_pin(&config, &file).await.expect("add and pin");
        let store = EmbeddedStore::open(&config.data_dir).expect("reopen");
        assert!(store.is_pinned(cid).await.expect("is_pinned"));
        assert_eq!(
            store.cat_to_vec(cid, ByteRange::FULL).await.expect("cat"),
            b"sealed content"
        );
    }

    #[tokio::test]
    async fn unreachable_kubo_names_the_url() {
        // Bind then drop a listener so that nothing listens on the port.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let url = format!("http://127.0.0.1:{port}");
        let config = StoreConfig {
            data_dir: PathBuf::from("unused"),
            ipfs_api: Some(url.clone()),
        };
        match open_store(&config).await {
            Err(StoreError::KuboUnreachable { url: got, .. }) => assert_eq!(got, url),
            other => panic!("expected KuboUnreachable, got {other:?}"),
        }
    }
}

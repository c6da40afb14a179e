//! The embedded store: UnixFS blocks as files under the data directory, named by CID.
//!
//! ```text
//! DATA/blocks/<xy>/<cid>   one block per file; <xy> = the two characters before the CID's last
//! DATA/pins/<cid>          one empty file per pinned root
//! DATA/tmp/                blocks being written (renamed into place when complete)
//! ```

use std::collections::HashSet;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::FutureExt;
use tokio::sync::mpsc;

use crate::cid::{Cid, Codec};
use crate::error::StoreError;
use crate::unixfs::{self, decode_file_data, decode_pb_node};
use crate::{ByteRange, ByteStream, ContentStat, ContentStore};

/// Chunks of a range read buffered between the reading thread and the consumer.
const READ_AHEAD_CHUNKS: usize = 4;

/// Distinguishes temporary files written concurrently by one process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A content-addressed block store on the local disk whose CIDs equal kubo's.
///
/// Cheap to clone; clones share the same directory.
#[derive(Debug, Clone)]
pub struct EmbeddedStore {
    inner: Arc<Layout>,
}

#[derive(Debug)]
struct Layout {
    data_dir: PathBuf,
    blocks: PathBuf,
    pins: PathBuf,
    tmp: PathBuf,
}

/// What [`EmbeddedStore::gc`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GcStats {
    /// Blocks reachable from a pin, kept.
    pub kept: u64,
    /// Blocks not reachable from any pin, deleted.
    pub removed: u64,
}

impl EmbeddedStore {
    /// Opens (creating if needed) the store under `data_dir`.
    pub fn open(data_dir: impl Into<PathBuf>) -> Result<EmbeddedStore, StoreError> {
        let data_dir = data_dir.into();
        let layout = Layout {
            blocks: data_dir.join("blocks"),
            pins: data_dir.join("pins"),
            tmp: data_dir.join("tmp"),
            data_dir,
        };
        for dir in [&layout.blocks, &layout.pins, &layout.tmp] {
            fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
        }
        Ok(EmbeddedStore {
            inner: Arc::new(layout),
        })
    }

    /// The directory this store lives in.
    pub fn data_dir(&self) -> &Path {
        &self.inner.data_dir
    }

    /// Where the block `cid` is (or would be) stored.
    pub fn block_path(&self, cid: &Cid) -> PathBuf {
        self.inner.block_path(cid)
    }

    /// Deletes every block not reachable from a pinned root, and leftover temporary files.
    /// Must not run while another task adds content to the same directory.
    pub async fn gc(&self) -> Result<GcStats, StoreError> {
        let layout = self.inner.clone();
        blocking(move || layout.gc()).await
    }
}

impl Layout {
    fn describe(&self) -> String {
        format!("embedded store at {}", self.data_dir.display())
    }

    fn block_path(&self, cid: &Cid) -> PathBuf {
        let name = cid.to_string();
        let shard = &name[name.len() - 3..name.len() - 1];
        self.blocks.join(shard).join(name)
    }

    fn pin_path(&self, cid: &Cid) -> PathBuf {
        self.pins.join(cid.to_string())
    }

    fn not_found(&self, cid: Cid) -> StoreError {
        StoreError::NotFound {
            cid,
            backend: self.describe(),
        }
    }

    /// Writes a block unless a block of the same length is already there. The bytes go to a
    /// temporary file first and are renamed into place, so a reader never sees half a block.
    /// Blocks are not fsynced one by one: a block torn by a crash fails its hash check on read.
    fn put_block(&self, cid: &Cid, bytes: &[u8]) -> Result<(), StoreError> {
        let path = self.block_path(cid);
        if let Ok(meta) = fs::metadata(&path) {
            if meta.len() == bytes.len() as u64 {
                return Ok(());
            }
        }
        let temp = self.tmp.join(format!(
            "{}-{}.tmp",
            std::process::id(),
            TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let write = || -> io::Result<()> {
            let mut file = fs::File::create(&temp)?;
            file.write_all(bytes)?;
            Ok(())
        };
        if let Err(e) = write() {
            let _ = fs::remove_file(&temp);
            return Err(StoreError::io(&temp, e));
        }
        if let Some(shard) = path.parent() {
            fs::create_dir_all(shard).map_err(|e| StoreError::io(shard, e))?;
        }
        fs::rename(&temp, &path).map_err(|e| {
            let _ = fs::remove_file(&temp);
            StoreError::io(&path, e)
        })
    }

    /// Reads a block and checks that it hashes to its CID.
    fn get_block(&self, cid: &Cid) -> Result<Vec<u8>, StoreError> {
        let path = self.block_path(cid);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(self.not_found(*cid)),
            Err(e) => return Err(StoreError::io(path, e)),
        };
        if !cid.matches(&bytes) {
            return Err(StoreError::Corrupted { cid: *cid, path });
        }
        Ok(bytes)
    }

    fn has_block(&self, cid: &Cid) -> bool {
        self.block_path(cid).is_file()
    }

    fn add_file(&self, path: &Path) -> Result<Cid, StoreError> {
        let mut file = fs::File::open(path).map_err(|e| StoreError::io(path, e))?;
        self.import(&mut file, path)
    }

    fn add_bytes(&self, bytes: &[u8]) -> Result<Cid, StoreError> {
        self.import(&mut &bytes[..], Path::new("<bytes>"))
    }

    /// Hashing and writing stay on one thread: measured on this project's machines, a separate
    /// writer thread did not make adds faster (writing blocks dominates either way).
    fn import(&self, reader: &mut dyn io::Read, source: &Path) -> Result<Cid, StoreError> {
        unixfs::import(reader, source, &mut |cid, bytes| self.put_block(cid, bytes))
    }

    /// Size in bytes of the file whose root is `cid`.
    fn file_size(&self, cid: &Cid) -> Result<u64, StoreError> {
        match cid.codec() {
            Codec::Raw => {
                let path = self.block_path(cid);
                match fs::metadata(&path) {
                    Ok(meta) => Ok(meta.len()),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => Err(self.not_found(*cid)),
                    Err(e) => Err(StoreError::io(path, e)),
                }
            }
            Codec::DagPb => {
                let block = self.get_block(cid)?;
                let node = decode_pb_node(&block).map_err(|reason| malformed(cid, reason))?;
                let data = node
                    .data
                    .ok_or_else(|| malformed(cid, "dag-pb node without UnixFS data".into()))?;
                let file = decode_file_data(data).map_err(|reason| malformed(cid, reason))?;
                Ok(file.filesize.unwrap_or_else(|| {
                    file.data.len() as u64 + file.blocksizes.iter().sum::<u64>()
                }))
            }
        }
    }

    /// Sends the bytes of `[start, end)` of the file under `cid` to `emit`, reading only the
    /// blocks that overlap the range. `node_start` is where this subtree begins in the file and
    /// `node_len` how many file bytes its parent says it holds (`None` for the root).
    /// Returns false when `emit` reports that the reader has gone away.
    fn read_range(
        &self,
        cid: &Cid,
        node_start: u64,
        node_len: Option<u64>,
        (start, end): (u64, u64),
        emit: &mut dyn FnMut(Bytes) -> bool,
    ) -> Result<bool, StoreError> {
        let block = self.get_block(cid)?;
        let check_len = |actual: u64| match node_len {
            Some(expected) if expected != actual => Err(malformed(
                cid,
                format!("holds {actual} file bytes, its parent says {expected}"),
            )),
            _ => Ok(()),
        };
        if cid.codec() == Codec::Raw {
            check_len(block.len() as u64)?;
            return Ok(emit_overlap(
                Bytes::from(block),
                node_start,
                (start, end),
                emit,
            ));
        }
        let node = decode_pb_node(&block).map_err(|reason| malformed(cid, reason))?;
        let data = node
            .data
            .ok_or_else(|| malformed(cid, "dag-pb node without UnixFS data".into()))?;
        let file = decode_file_data(data).map_err(|reason| malformed(cid, reason))?;
        if file.blocksizes.len() != node.links.len() {
            return Err(malformed(
                cid,
                format!(
                    "{} links but {} blocksizes",
                    node.links.len(),
                    file.blocksizes.len()
                ),
            ));
        }
        check_len(file.data.len() as u64 + file.blocksizes.iter().sum::<u64>())?;
        let own = Bytes::copy_from_slice(file.data);
        if !emit_overlap(own, node_start, (start, end), emit) {
            return Ok(false);
        }
        let mut child_start = node_start + file.data.len() as u64;
        for (link, &size) in node.links.iter().zip(&file.blocksizes) {
            if child_start >= end {
                break;
            }
            let child_end = child_start + size;
            if child_end > start
                && !self.read_range(&link.cid, child_start, Some(size), (start, end), emit)?
            {
                return Ok(false);
            }
            child_start = child_end;
        }
        Ok(true)
    }

    /// Checks that every block under `root` is present, reading only the dag-pb nodes.
    fn check_complete(&self, root: &Cid, block: &Cid) -> Result<(), StoreError> {
        if block.codec() == Codec::Raw {
            if self.has_block(block) {
                return Ok(());
            }
        } else {
            match self.get_block(block) {
                Ok(bytes) => {
                    let node = decode_pb_node(&bytes).map_err(|reason| malformed(block, reason))?;
                    for link in &node.links {
                        self.check_complete(root, &link.cid)?;
                    }
                    return Ok(());
                }
                Err(StoreError::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        if root == block {
            Err(self.not_found(*root))
        } else {
            Err(StoreError::MissingBlock {
                root: *root,
                missing: *block,
            })
        }
    }

    fn pin(&self, cid: &Cid) -> Result<(), StoreError> {
        self.check_complete(cid, cid)?;
        let path = self.pin_path(cid);
        fs::File::create(&path).map_err(|e| StoreError::io(&path, e))?;
        Ok(())
    }

    fn unpin(&self, cid: &Cid) -> Result<(), StoreError> {
        let path = self.pin_path(cid);
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(StoreError::NotPinned {
                cid: *cid,
                backend: self.describe(),
            }),
            Err(e) => Err(StoreError::io(path, e)),
        }
    }

    fn pinned_roots(&self) -> Result<Vec<Cid>, StoreError> {
        let mut roots = Vec::new();
        let entries = fs::read_dir(&self.pins).map_err(|e| StoreError::io(&self.pins, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| StoreError::io(&self.pins, e))?;
            // Files not named by a CID are not pins; leave them alone.
            if let Some(cid) = entry.file_name().to_str().and_then(|n| n.parse().ok()) {
                roots.push(cid);
            }
        }
        Ok(roots)
    }

    fn mark(&self, cid: &Cid, live: &mut HashSet<Cid>) -> Result<(), StoreError> {
        if !live.insert(*cid) || cid.codec() == Codec::Raw {
            return Ok(());
        }
        let bytes = match self.get_block(cid) {
            Ok(bytes) => bytes,
            // A pinned DAG with a missing block keeps what remains of it.
            Err(StoreError::NotFound { .. }) => return Ok(()),
            Err(e) => return Err(e),
        };
        let node = decode_pb_node(&bytes).map_err(|reason| malformed(cid, reason))?;
        for link in &node.links {
            self.mark(&link.cid, live)?;
        }
        Ok(())
    }

    fn gc(&self) -> Result<GcStats, StoreError> {
        let mut live = HashSet::new();
        for root in self.pinned_roots()? {
            self.mark(&root, &mut live)?;
        }
        let mut stats = GcStats {
            kept: 0,
            removed: 0,
        };
        let shards = fs::read_dir(&self.blocks).map_err(|e| StoreError::io(&self.blocks, e))?;
        for shard in shards {
            let shard = shard.map_err(|e| StoreError::io(&self.blocks, e))?.path();
            if !shard.is_dir() {
                continue;
            }
            let blocks = fs::read_dir(&shard).map_err(|e| StoreError::io(&shard, e))?;
            for block in blocks {
                let block = block.map_err(|e| StoreError::io(&shard, e))?;
                let cid: Option<Cid> = block.file_name().to_str().and_then(|n| n.parse().ok());
                match cid {
                    Some(cid) if live.contains(&cid) => stats.kept += 1,
                    Some(_) => {
                        let path = block.path();
                        fs::remove_file(&path).map_err(|e| StoreError::io(path, e))?;
                        stats.removed += 1;
                    }
                    None => {}
                }
            }
        }
        let temps = fs::read_dir(&self.tmp).map_err(|e| StoreError::io(&self.tmp, e))?;
        for temp in temps.flatten() {
            let _ = fs::remove_file(temp.path());
        }
        Ok(stats)
    }
}

fn malformed(cid: &Cid, reason: String) -> StoreError {
    StoreError::Malformed { cid: *cid, reason }
}

/// Emits the part of `bytes` (which sit at `bytes_start` in the file) inside `[start, end)`,
/// without copying.
fn emit_overlap(
    bytes: Bytes,
    bytes_start: u64,
    (start, end): (u64, u64),
    emit: &mut dyn FnMut(Bytes) -> bool,
) -> bool {
    let bytes_end = bytes_start + bytes.len() as u64;
    let from = start.max(bytes_start);
    let to = end.min(bytes_end);
    if from >= to {
        return true;
    }
    emit(bytes.slice((from - bytes_start) as usize..(to - bytes_start) as usize))
}

/// Runs blocking file work off the async runtime.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
}

impl ContentStore for EmbeddedStore {
    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn add_file<'a>(&'a self, path: &'a Path) -> BoxFuture<'a, Result<Cid, StoreError>> {
        let layout = self.inner.clone();
        let path = path.to_owned();
        blocking(move || layout.add_file(&path)).boxed()
    }

    fn add_bytes(&self, bytes: Bytes) -> BoxFuture<'_, Result<Cid, StoreError>> {
        let layout = self.inner.clone();
        blocking(move || layout.add_bytes(&bytes)).boxed()
    }

    fn cat(&self, cid: Cid, range: ByteRange) -> BoxFuture<'_, Result<ByteStream, StoreError>> {
        let layout = self.inner.clone();
        async move {
            let size = {
                let layout = layout.clone();
                blocking(move || layout.file_size(&cid)).await?
            };
            let (start, end) = range.resolve(cid, size)?;
            let (sender, mut receiver) =
                mpsc::channel::<Result<Bytes, StoreError>>(READ_AHEAD_CHUNKS);
            tokio::task::spawn_blocking(move || {
                let mut emit = |chunk: Bytes| sender.blocking_send(Ok(chunk)).is_ok();
                if start < end {
                    if let Err(e) = layout.read_range(&cid, 0, None, (start, end), &mut emit) {
                        let _ = sender.blocking_send(Err(e));
                    }
                }
            });
            let stream: ByteStream =
                Box::pin(futures::stream::poll_fn(move |cx| receiver.poll_recv(cx)));
            Ok(stream)
        }
        .boxed()
    }

    fn stat(&self, cid: Cid) -> BoxFuture<'_, Result<ContentStat, StoreError>> {
        let layout = self.inner.clone();
        blocking(move || {
            let size = layout.file_size(&cid)?;
            Ok(ContentStat { cid, size })
        })
        .boxed()
    }

    fn has(&self, cid: Cid) -> BoxFuture<'_, Result<bool, StoreError>> {
        let layout = self.inner.clone();
        blocking(move || Ok(layout.has_block(&cid))).boxed()
    }

    fn pin(&self, cid: Cid) -> BoxFuture<'_, Result<(), StoreError>> {
        let layout = self.inner.clone();
        blocking(move || layout.pin(&cid)).boxed()
    }

    fn unpin(&self, cid: Cid) -> BoxFuture<'_, Result<(), StoreError>> {
        let layout = self.inner.clone();
        blocking(move || layout.unpin(&cid)).boxed()
    }

    fn is_pinned(&self, cid: Cid) -> BoxFuture<'_, Result<bool, StoreError>> {
        let layout = self.inner.clone();
        blocking(move || Ok(layout.pin_path(&cid).is_file())).boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::TryStreamExt;

    fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
        let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 24) as u8
            })
            .collect()
    }

    async fn read(store: &EmbeddedStore, cid: Cid, range: ByteRange) -> Vec<u8> {
        let chunks: Vec<Bytes> = store
            .cat(cid, range)
            .await
            .expect("cat starts")
            .try_collect()
            .await
            .expect("cat completes");
        chunks.concat()
    }

    #[tokio::test]
    async fn ranges_across_leaf_boundaries() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = EmbeddedStore::open(dir.path()).expect("open");
        let data = pseudo_random(3 * unixfs::CHUNK_SIZE + 17, 1);
        let cid = store
            .add_bytes(Bytes::from(data.clone()))
            .await
            .expect("add");
        assert_eq!(cid.codec(), Codec::DagPb);
        assert_eq!(store.stat(cid).await.expect("stat").size, data.len() as u64);
        let c = unixfs::CHUNK_SIZE as u64;
        for (offset, length) in [
            (0, None),
            (c - 1, Some(3)),
            (c, Some(c)),
            (2 * c - 5, Some(c + 10)),
            (3 * c, None),
            (data.len() as u64, None),
            (5, Some(0)),
            (10, Some(u64::MAX)),
        ] {
            let got = read(&store, cid, ByteRange { offset, length }).await;
            let from = offset as usize;
            let to = length.map_or(data.len(), |l| {
                (from as u64).saturating_add(l).min(data.len() as u64) as usize
            });
            assert_eq!(got, &data[from..to], "offset {offset} length {length:?}");
        }
    }

    #[tokio::test]
    async fn offset_past_end_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = EmbeddedStore::open(dir.path()).expect("open");
        let cid = store
            .add_bytes(Bytes::from_static(b"abc"))
            .await
            .expect("add");
        match store
            .cat(
                cid,
                ByteRange {
                    offset: 4,
                    length: None,
                },
            )
            .await
        {
            Err(StoreError::RangeOutOfBounds {
                offset: 4, size: 3, ..
            }) => {}
            Err(other) => panic!("unexpected error {other}"),
            Ok(_) => panic!("offset past the end was accepted"),
        }
    }

    #[tokio::test]
    async fn pin_unpin_and_gc() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = EmbeddedStore::open(dir.path()).expect("open");
        let kept = store
            .add_bytes(Bytes::from(pseudo_random(2 * unixfs::CHUNK_SIZE + 1, 2)))
            .await
            .expect("add kept");
        let dropped = store
            .add_bytes(Bytes::from(pseudo_random(unixfs::CHUNK_SIZE + 1, 3)))
            .await
            .expect("add dropped");
        store.pin(kept).await.expect("pin");
        assert!(store.is_pinned(kept).await.expect("is_pinned"));
        assert!(!store.is_pinned(dropped).await.expect("is_pinned"));
        assert!(matches!(
            store.unpin(dropped).await,
            Err(StoreError::NotPinned { .. })
        ));
        let stats = store.gc().await.expect("gc");
        // kept: 3 leaves + root; dropped: 2 leaves + root.
        assert_eq!(
            stats,
            GcStats {
                kept: 4,
                removed: 3
            }
        );
        assert!(!store.has(dropped).await.expect("has"));
        assert!(matches!(
            store.stat(dropped).await,
            Err(StoreError::NotFound { .. })
        ));
        store.unpin(kept).await.expect("unpin");
        assert_eq!(
            store.gc().await.expect("gc"),
            GcStats {
                kept: 0,
                removed: 4
            }
        );
    }

    #[tokio::test]
    async fn sizes_that_disagree_with_the_blocks_are_malformed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = EmbeddedStore::open(dir.path()).expect("open");
        let leaf = b"0123456789";
        let leaf_cid = Cid::for_block(Codec::Raw, leaf);
        store.inner.put_block(&leaf_cid, leaf).expect("put leaf");
        // A parent claiming 12 bytes for a 10-byte leaf.
        let node = unixfs::encode_file_node(&[unixfs::Link {
            cid: leaf_cid,
            tsize: 10,
            file_size: 12,
        }]);
        let root = Cid::for_block(Codec::DagPb, &node);
        store.inner.put_block(&root, &node).expect("put root");
        assert_eq!(store.stat(root).await.expect("stat").size, 12);
        match store.cat_to_vec(root, ByteRange::FULL).await {
            Err(StoreError::Malformed { cid, reason }) => {
                assert_eq!(cid, leaf_cid);
                assert!(reason.contains("parent says 12"), "{reason}");
            }
            other => panic!("expected Malformed, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn pin_reports_a_missing_leaf() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = EmbeddedStore::open(dir.path()).expect("open");
        let data = pseudo_random(unixfs::CHUNK_SIZE + 1, 4);
        let root = store
            .add_bytes(Bytes::from(data.clone()))
            .await
            .expect("add");
        let leaf = Cid::for_block(Codec::Raw, &data[unixfs::CHUNK_SIZE..]);
        fs::remove_file(store.block_path(&leaf)).expect("remove leaf");
        match store.pin(root).await {
            Err(StoreError::MissingBlock { root: r, missing }) => {
                assert_eq!((r, missing), (root, leaf));
            }
            other => panic!("expected MissingBlock, got {other:?}"),
        }
        assert!(!store.is_pinned(root).await.expect("is_pinned"));
    }
}

//! A `.ddrm` in a content store, read by byte range as the capsule asks.

use super::*;

/// A `.ddrm` in a content store, read by byte range as the capsule asks (never whole).
pub struct StoreSource {
    store: Arc<dyn store::ContentStore>,
    cid: store::Cid,
    size: u64,
    handle: tokio::runtime::Handle,
}

impl StoreSource {
    /// Looks the file up in `store`. Reads block on `handle`'s runtime, so they must happen
    /// outside async code (as `play` arranges).
    pub async fn open(
        store: Arc<dyn store::ContentStore>,
        cid: store::Cid,
    ) -> Result<Self, PlayError> {
        let stat = store
            .stat(cid)
            .await
            .map_err(|e| PlayError::Source(format!("{cid}: {e}")))?;
        Ok(Self {
            store,
            cid,
            size: stat.size,
            handle: tokio::runtime::Handle::current(),
        })
    }
}

impl ByteSource for StoreSource {
    fn len(&mut self) -> io::Result<u64> {
        Ok(self.size)
    }

    fn read_exact_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let range = store::ByteRange {
            offset,
            length: Some(buf.len() as u64),
        };
        let bytes = self
            .handle
            .block_on(self.store.cat_to_vec(self.cid, range))
            .map_err(io::Error::other)?;
        if bytes.len() != buf.len() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("{}: short read at {offset}", self.cid),
            ));
        }
        buf.copy_from_slice(&bytes);
        Ok(())
    }
}

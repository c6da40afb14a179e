//! The kubo backend: a kubo node's HTTP RPC API through `ipfs-api-backend-hyper`.
//!
//! Files are added as kubo's `ipfs add --cid-version=1` would (raw leaves, 256 KiB chunks,
//! balanced layout), so their CIDs equal the embedded store's. Every call is bounded in time
//! and every error names the API address.

use std::fmt;
use std::io;
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use ipfs_api_backend_hyper::{
    request, BackendWithGlobalOptions, GlobalOptions, IpfsApi, IpfsClient, TryFromUri,
};
use tokio::io::ReadBuf;

use crate::cid::Cid;
use crate::error::StoreError;
use crate::unixfs::CHUNK_SIZE;
use crate::{ByteRange, ByteStream, ContentStat, ContentStore};

/// The chunker argument equal to the embedded store's chunking.
const CHUNKER: &str = "size-262144";
const _: () = assert!(CHUNK_SIZE == 262_144);

/// Time limits of the kubo backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KuboTimeouts {
    /// Limit for the version check made when connecting.
    pub connect: Duration,
    /// Limit for small requests (stat, unpin, pin listing, block checks).
    pub request: Duration,
    /// An add may take `request` plus its size divided by this many bytes per second.
    pub min_add_bytes_per_sec: u64,
    /// Limit for pinning, which may have to fetch a whole DAG.
    pub pin: Duration,
    /// Longest wait for the next chunk of a read.
    pub read_idle: Duration,
}

impl Default for KuboTimeouts {
    fn default() -> Self {
        KuboTimeouts {
            connect: Duration::from_secs(5),
            request: Duration::from_secs(30),
            min_add_bytes_per_sec: 1 << 20,
            pin: Duration::from_secs(600),
            read_idle: Duration::from_secs(30),
        }
    }
}

/// A [`ContentStore`] backed by a kubo node.
pub struct KuboStore {
    url: String,
    client: IpfsClient,
    /// The same API with `offline=true`: answers only from local blocks, never the network.
    local: BackendWithGlobalOptions<IpfsClient>,
    timeouts: KuboTimeouts,
}

impl fmt::Debug for KuboStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KuboStore")
            .field("url", &self.url)
            .field("timeouts", &self.timeouts)
            .finish_non_exhaustive()
    }
}

impl KuboStore {
    /// Connects to the API at `url` (`http://HOST:PORT` or a multiaddr such as
    /// `/ip4/127.0.0.1/tcp/5001`) and checks that it answers.
    pub async fn connect(url: &str, timeouts: KuboTimeouts) -> Result<KuboStore, StoreError> {
        let store = KuboStore {
            url: url.to_owned(),
            client: client_for(url)?,
            local: BackendWithGlobalOptions::new(
                client_for(url)?,
                GlobalOptions {
                    offline: Some(true),
                    timeout: None,
                },
            ),
            timeouts,
        };
        store
            .bounded(
                "report its version",
                timeouts.connect,
                store.client.version(),
            )
            .await?;
        Ok(store)
    }

    /// The API address given to [`KuboStore::connect`].
    pub fn url(&self) -> &str {
        &self.url
    }

    async fn bounded<T>(
        &self,
        operation: &'static str,
        limit: Duration,
        call: impl std::future::Future<Output = Result<T, ipfs_api_backend_hyper::Error>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(limit, call).await {
            Ok(result) => result.map_err(|e| api_error(&self.url, operation, e)),
            Err(_) => Err(StoreError::KuboTimeout {
                url: self.url.clone(),
                operation,
                timeout: limit,
            }),
        }
    }

    fn add_limit(&self, size: u64) -> Duration {
        let per_sec = self.timeouts.min_add_bytes_per_sec.max(1);
        self.timeouts.request + Duration::from_secs(size / per_sec)
    }

    async fn add_file_inner(&self, path: &Path, pin: bool) -> Result<Cid, StoreError> {
        let file = tokio::fs::File::open(path)
            .await
            .map_err(|e| StoreError::io(path, e))?;
        let size = file
            .metadata()
            .await
            .map_err(|e| StoreError::io(path, e))?
            .len();
        let added = self
            .bounded(
                "add content",
                self.add_limit(size),
                self.client
                    .add_async_with_options(FuturesRead(file), add_options(pin)),
            )
            .await?;
        self.parse_cid("add content", &added.hash)
    }

    fn parse_cid(&self, operation: &'static str, text: &str) -> Result<Cid, StoreError> {
        text.parse().map_err(|e| StoreError::Kubo {
            url: self.url.clone(),
            operation,
            message: format!("answered with an unusable CID: {e}"),
        })
    }

    fn is_not_found(error: &StoreError) -> bool {
        matches!(error, StoreError::Kubo { message, .. }
            if message.contains("not found") || message.contains("could not find"))
    }
}

fn add_options(pin: bool) -> request::Add<'static> {
    request::Add {
        cid_version: Some(1),
        raw_leaves: Some(true),
        chunker: Some(CHUNKER),
        hash: Some("sha2-256"),
        trickle: Some(false),
        inline: Some(false),
        pin: Some(pin),
        ..Default::default()
    }
}

fn client_for(url: &str) -> Result<IpfsClient, StoreError> {
    let invalid = |reason: String| StoreError::InvalidApiUrl {
        url: url.to_owned(),
        reason,
    };
    if url.starts_with('/') {
        return IpfsClient::from_multiaddr_str(url).map_err(|e| invalid(e.to_string()));
    }
    if url.starts_with("https://") {
        return Err(invalid(
            "https is not supported; use http:// to a local node or a multiaddr".into(),
        ));
    }
    match url.strip_prefix("http://") {
        Some(rest) if !rest.is_empty() && !rest.starts_with('/') => {
            IpfsClient::from_str(url).map_err(|e| invalid(e.to_string()))
        }
        Some(_) => Err(invalid("no host after http://".into())),
        None => Err(invalid(
            "expected http://HOST:PORT or a multiaddr such as /ip4/127.0.0.1/tcp/5001".into(),
        )),
    }
}

fn api_error(
    url: &str,
    operation: &'static str,
    error: ipfs_api_backend_hyper::Error,
) -> StoreError {
    match &error {
        ipfs_api_backend_hyper::Error::Client(e) if e.is_connect() => StoreError::KuboUnreachable {
            url: url.to_owned(),
            message: error.to_string(),
        },
        ipfs_api_backend_hyper::Error::Api(api) => StoreError::Kubo {
            url: url.to_owned(),
            operation,
            message: api.message.clone(),
        },
        _ => StoreError::Kubo {
            url: url.to_owned(),
            operation,
            message: error.to_string(),
        },
    }
}

/// A tokio file read through the `futures` I/O traits the multipart body expects.
struct FuturesRead(tokio::fs::File);

impl futures::io::AsyncRead for FuturesRead {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut read_buf = ReadBuf::new(buf);
        match tokio::io::AsyncRead::poll_read(Pin::new(&mut self.0), cx, &mut read_buf) {
            Poll::Ready(Ok(())) => Poll::Ready(Ok(read_buf.filled().len())),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// State of a ranged read: the API's stream, checked for silence and for its length.
struct RangeRead {
    inner: Box<
        dyn futures::Stream<Item = Result<Bytes, ipfs_api_backend_hyper::Error>> + Send + Unpin,
    >,
    url: String,
    idle: Duration,
    received: u64,
    expected: u64,
    done: bool,
}

fn range_stream(read: RangeRead) -> ByteStream {
    futures::stream::unfold(read, |mut read| async move {
        if read.done {
            return None;
        }
        let item = match tokio::time::timeout(read.idle, read.inner.next()).await {
            Err(_) => Err(StoreError::KuboTimeout {
                url: read.url.clone(),
                operation: "cat content",
                timeout: read.idle,
            }),
            Ok(Some(Ok(chunk))) => {
                read.received += chunk.len() as u64;
                if read.received > read.expected {
                    Err(short_or_long(&read))
                } else {
                    Ok(chunk)
                }
            }
            Ok(Some(Err(e))) => Err(api_error(&read.url, "cat content", e)),
            Ok(None) if read.received == read.expected => return None,
            Ok(None) => Err(short_or_long(&read)),
        };
        read.done = item.is_err();
        Some((item, read))
    })
    .boxed()
}

fn short_or_long(read: &RangeRead) -> StoreError {
    StoreError::Kubo {
        url: read.url.clone(),
        operation: "cat content",
        message: format!(
            "sent {} bytes for a range of {} bytes",
            read.received, read.expected
        ),
    }
}

impl ContentStore for KuboStore {
    fn describe(&self) -> String {
        format!("kubo at {}", self.url)
    }

    fn add_file<'a>(&'a self, path: &'a Path) -> BoxFuture<'a, Result<Cid, StoreError>> {
        self.add_file_inner(path, false).boxed()
    }

    fn add_file_pinned<'a>(&'a self, path: &'a Path) -> BoxFuture<'a, Result<Cid, StoreError>> {
        self.add_file_inner(path, true).boxed()
    }

    fn add_bytes(&self, bytes: Bytes) -> BoxFuture<'_, Result<Cid, StoreError>> {
        async move {
            let limit = self.add_limit(bytes.len() as u64);
            let added = self
                .bounded(
                    "add content",
                    limit,
                    self.client.add_async_with_options(
                        futures::io::Cursor::new(bytes),
                        add_options(false),
                    ),
                )
                .await?;
            self.parse_cid("add content", &added.hash)
        }
        .boxed()
    }

    fn cat(&self, cid: Cid, range: ByteRange) -> BoxFuture<'_, Result<ByteStream, StoreError>> {
        async move {
            let size = self.stat(cid).await?.size;
            let (start, end) = range.resolve(cid, size)?;
            if start == end {
                let empty: ByteStream = futures::stream::empty().boxed();
                return Ok(empty);
            }
            let too_big = |_| StoreError::Kubo {
                url: self.url.clone(),
                operation: "cat content",
                message: "range does not fit in this platform's usize".into(),
            };
            let offset = usize::try_from(start).map_err(too_big)?;
            let length = usize::try_from(end - start).map_err(too_big)?;
            let inner = self.client.cat_range(&cid.to_string(), offset, length);
            Ok(range_stream(RangeRead {
                inner,
                url: self.url.clone(),
                idle: self.timeouts.read_idle,
                received: 0,
                expected: end - start,
                done: false,
            }))
        }
        .boxed()
    }

    /// Asks the node's local blocks first; only content it does not hold is searched for on
    /// the network, and a search that times out means the content was not found.
    fn stat(&self, cid: Cid) -> BoxFuture<'_, Result<ContentStat, StoreError>> {
        async move {
            let path = format!("/ipfs/{cid}");
            let limit = self.timeouts.request;
            let local = self
                .bounded("stat content", limit, self.local.files_stat(&path))
                .await;
            let stat = match local {
                Ok(stat) => stat,
                Err(e) if Self::is_not_found(&e) => {
                    let online = self.client.files_stat(&path);
                    match self.bounded("stat content", limit, online).await {
                        Ok(stat) => stat,
                        Err(StoreError::KuboTimeout { .. }) => {
                            let describe = self.describe();
                            let backend = format!(
                                "{describe} (not held locally; network search timed out after {limit:?})"
                            );
                            return Err(StoreError::NotFound { cid, backend });
                        }
                        Err(e) => return Err(e),
                    }
                }
                Err(e) => return Err(e),
            };
            Ok(ContentStat {
                cid,
                size: stat.size,
            })
        }
        .boxed()
    }

    fn has(&self, cid: Cid) -> BoxFuture<'_, Result<bool, StoreError>> {
        async move {
            let cid_text = cid.to_string();
            let found = self
                .bounded(
                    "check for a block",
                    self.timeouts.request,
                    self.local.block_stat(&cid_text),
                )
                .await;
            match found {
                Ok(_) => Ok(true),
                Err(e) if Self::is_not_found(&e) => Ok(false),
                Err(e) => Err(e),
            }
        }
        .boxed()
    }

    fn pin(&self, cid: Cid) -> BoxFuture<'_, Result<(), StoreError>> {
        async move {
            let cid_text = cid.to_string();
            self.bounded(
                "pin content",
                self.timeouts.pin,
                self.client.pin_add(&cid_text, true),
            )
            .await?;
            Ok(())
        }
        .boxed()
    }

    fn unpin(&self, cid: Cid) -> BoxFuture<'_, Result<(), StoreError>> {
        async move {
            let cid_text = cid.to_string();
            let removed = self
                .bounded(
                    "unpin content",
                    self.timeouts.request,
                    self.client.pin_rm(&cid_text, true),
                )
                .await;
            match removed {
                Ok(_) => Ok(()),
                Err(StoreError::Kubo { message, .. }) if message.contains("not pinned") => {
                    Err(StoreError::NotPinned {
                        cid,
                        backend: self.describe(),
                    })
                }
                Err(e) => Err(e),
            }
        }
        .boxed()
    }

    fn is_pinned(&self, cid: Cid) -> BoxFuture<'_, Result<bool, StoreError>> {
        async move {
            let cid_text = cid.to_string();
            let listed = self
                .bounded(
                    "list pins",
                    self.timeouts.request,
                    self.local.pin_ls(Some(&cid_text), Some("recursive")),
                )
                .await;
            match listed {
                Ok(pins) => Ok(pins.keys.contains_key(&cid_text)),
                Err(StoreError::Kubo { message, .. }) if message.contains("not pinned") => {
                    Ok(false)
                }
                Err(e) => Err(e),
            }
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_addresses_are_checked() {
        for good in [
            "http://127.0.0.1:5001",
            "http://localhost:5001/",
            "/ip4/127.0.0.1/tcp/5001",
        ] {
            assert!(client_for(good).is_ok(), "{good} refused");
        }
        for bad in [
            "127.0.0.1:5001",
            "http://",
            "https://example.invalid",
            "ftp://x",
            "/ip4/not-an-ip/tcp/1",
        ] {
            match client_for(bad) {
                Err(StoreError::InvalidApiUrl { url, .. }) => assert_eq!(url, bad),
                Err(other) => panic!("{bad}: unexpected error {other}"),
                Ok(_) => panic!("{bad} accepted"),
            }
        }
    }

    #[test]
    fn add_options_match_cid_version_1_defaults() {
        let add = add_options(true);
        assert_eq!(add.cid_version, Some(1));
        assert_eq!(add.raw_leaves, Some(true));
        assert_eq!(add.chunker, Some("size-262144"));
        assert_eq!(add.trickle, Some(false));
        assert_eq!(add.pin, Some(true));
    }
}

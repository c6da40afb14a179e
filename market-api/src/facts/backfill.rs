//! The header backfill: a background task of the server ([`crate::serve`] starts it and stops
//! it) that gives every registered content its catalogue facts, also when no upload recorded
//! them (a content minted from the command line).
//!
//! Each pass walks the contents the facts table has no row for
//! ([`indexer::Db::contents_without_facts`], oldest registration first) and, one content at a
//! time, reads the header of its `.ddrm` from the content store by the CID registered on chain:
//! the 16-byte preamble, then exactly the header body it announces — never the rest of the
//! file, never more than [`BackfillConfig::max_header_bytes`], both reads within
//! [`BackfillConfig::fetch_timeout`]. The header is public (no key is involved) and is decoded
//! strictly by `packager-format`.
//!
//! Why a row is never wrong: the registry accepted the content id only as
//! `content_id_for(creator, header_digest)` of the registering creator, and the backfill
//! recomputes exactly that from the bytes it read (the header's creator account and the digest
//! of the encoded header). A CID that points to another file, a damaged one or garbage gives
//! another id or no header, and nothing is written.
//!
//! Failures (store unreachable or slow, CID unknown or malformed, a header that does not
//! decode or is another content's) are logged at `warn` and retried after a delay that doubles
//! per failure up to [`BackfillConfig::max_retry`]; the task itself never stops on one.
//! Rows are written by [`super::record`], which clears this instance's catalogue cache as for
//! an upload ([`crate::cache`]).

use std::collections::HashMap;
use std::time::Duration;

use futures::TryStreamExt;
use indexer::read::FactlessContent;
use packager_format::{content_id_for, header_digest_of, ContentId, FormatError, Header};
use store::{ByteRange, Cid, ContentStore, StoreError};
use tokio::time::Instant;

use super::Facts;
use crate::migrations::CONTENT_FACTS;
use crate::AppState;

/// How the backfill runs (`ApiConfig::header_backfill`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackfillConfig {
    /// Pause between two passes over the contents without facts.
    pub interval: Duration,
    /// Deadline of one header fetch (both of its reads).
    pub fetch_timeout: Duration,
    /// Largest header read (preamble and body); a file announcing a larger one is refused.
    pub max_header_bytes: usize,
    /// Wait before the first retry of a content that failed; it doubles per failure.
    pub first_retry: Duration,
    /// Longest wait between two tries of one content.
    pub max_retry: Duration,
}

/// Default of [`BackfillConfig::max_header_bytes`]: room for the largest thumbnail the format
/// allows (4 MiB) and a segment table of hours of media. The packager writes no preview, the
/// one part that could be larger; a header over the limit leaves its content without facts
/// (and a warning).
pub const DEFAULT_MAX_HEADER_BYTES: usize = 16 << 20;

impl Default for BackfillConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(5),
            fetch_timeout: Duration::from_secs(10),
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
            first_retry: Duration::from_secs(10),
            max_retry: Duration::from_secs(3600),
        }
    }
}

/// Contents asked of the index at a time.
const PAGE: u32 = 100;
/// Most failing contents remembered with their next try; beyond it a failure is retried at the
/// next pass (the interval still paces it).
const MAX_TRACKED: usize = 10_000;

/// Why one content's facts could not be read from its header.
#[derive(Debug, thiserror::Error)]
pub enum HeaderFactsError {
    #[error("the registered CID is not one the content store reads: {0}")]
    BadCid(StoreError),
    #[error("the index holds a malformed content id")]
    BadContentId,
    #[error("content store: {0}")]
    Store(#[from] StoreError),
    #[error("the content store did not answer within {0:?}")]
    Timeout(Duration),
    #[error("the header is {len} bytes, over the limit of {max}")]
    TooLarge { len: usize, max: usize },
    #[error("the content store returned {got} bytes where {want} were asked")]
    WrongLength { got: usize, want: usize },
    #[error("not a readable .ddrm header: {0}")]
    Format(#[from] FormatError),
    #[error("the file is content {found}, not the registered one")]
    OtherContent { found: ContentId },
    #[error("decoding stopped unexpectedly")]
    Stopped,
    #[error("catalogue database: {0}")]
    Database(#[from] sqlx::Error),
}

/// Runs passes forever, `config.interval` apart (the server aborts it when it stops).
pub(crate) async fn run(state: AppState, config: BackfillConfig) {
    let mut retries = Retries::default();
    loop {
        pass(&state, &config, &mut retries).await;
        tokio::time::sleep(config.interval).await;
    }
}

/// One walk over every content without facts.
async fn pass(state: &AppState, config: &BackfillConfig, retries: &mut Retries) {
    let db = &state.config().db;
    let mut after: Option<(u64, String)> = None;
    loop {
        let page = match db
            .contents_without_facts(
                CONTENT_FACTS,
                after.as_ref().map(|(b, id)| (*b, id.as_str())),
                PAGE,
            )
            .await
        {
            Ok(page) => page,
            Err(e) => {
                tracing::warn!(error = %e, "header backfill: reading the contents without facts failed");
                return;
            }
        };
        for content in &page {
            if !retries.due(&content.content_id, Instant::now()) {
                continue;
            }
            match fill(state, config, content).await {
                Ok(inserted) => {
                    retries.forget(&content.content_id);
                    if inserted {
                        tracing::info!(content = %content.content_id, "catalogue facts read from the header");
                    }
                }
                Err(e) => {
                    let wait = retries.failed(&content.content_id, Instant::now(), config);
                    tracing::warn!(
                        content = %content.content_id,
                        cid = %content.cid,
                        error = %e,
                        retry_in_secs = wait.as_secs(),
                        "header backfill: no catalogue facts for this content yet"
                    );
                }
            }
        }
        match page.last() {
            Some(last) if page.len() == PAGE as usize => {
                after = Some((last.registered_block, last.content_id.clone()));
            }
            _ => return,
        }
    }
}

/// Reads `content`'s header and records its facts; whether a row was inserted.
async fn fill(
    state: &AppState,
    config: &BackfillConfig,
    content: &FactlessContent,
) -> Result<bool, HeaderFactsError> {
    let header = registered_header(state, config, &content.content_id, &content.cid).await?;
    let facts = Facts::of_header(content.content_id.clone(), &header);
    Ok(super::record(state, &facts).await?)
}

/// The header of the content `content_id` registered with `cid`, read from the content store
/// (bounded by `config`) and checked to be that content's.
pub(crate) async fn registered_header(
    state: &AppState,
    config: &BackfillConfig,
    content_id: &str,
    cid: &str,
) -> Result<Header, HeaderFactsError> {
    let cid: Cid = cid.parse().map_err(HeaderFactsError::BadCid)?;
    let expected = ContentId::from_hex(content_id).map_err(|_| HeaderFactsError::BadContentId)?;
    let store = state.config().store.as_ref();
    let encoded = tokio::time::timeout(
        config.fetch_timeout,
        fetch_header(store, cid, config.max_header_bytes),
    )
    .await
    .map_err(|_| HeaderFactsError::Timeout(config.fetch_timeout))??;
    // Decoding and hashing up to `max_header_bytes` is CPU work: off the async threads.
    tokio::task::spawn_blocking(move || check_header(&encoded, expected))
        .await
        .map_err(|_| HeaderFactsError::Stopped)?
}

/// Decodes `encoded` (preamble and body) and checks that it is the header of `expected`.
fn check_header(encoded: &[u8], expected: ContentId) -> Result<Header, HeaderFactsError> {
    let header = Header::decode(encoded)?;
    let found = content_id_for(header.creator_account, header_digest_of(encoded));
    if found != expected {
        return Err(HeaderFactsError::OtherContent { found });
    }
    Ok(header)
}

/// The encoded header (preamble and body) at the start of the file `cid`: two bounded reads.
async fn fetch_header(
    store: &dyn ContentStore,
    cid: Cid,
    max: usize,
) -> Result<Vec<u8>, HeaderFactsError> {
    let preamble = read_exact(store, cid, 0, packager_format::PREAMBLE_LEN).await?;
    let preamble: &[u8; packager_format::PREAMBLE_LEN] = preamble
        .as_slice()
        .try_into()
        .map_err(|_| HeaderFactsError::Stopped)?;
    let body_len = Header::parse_preamble(preamble)?;
    let len = packager_format::PREAMBLE_LEN.saturating_add(body_len);
    if len > max {
        return Err(HeaderFactsError::TooLarge { len, max });
    }
    let body = read_exact(store, cid, packager_format::PREAMBLE_LEN as u64, body_len).await?;
    let mut encoded = Vec::with_capacity(len);
    encoded.extend_from_slice(preamble);
    encoded.extend_from_slice(&body);
    Ok(encoded)
}

/// Exactly `want` bytes of `cid` from `offset`: a store that sends more is cut off at the first
/// extra byte, one that sends fewer (a file too short) is an error.
async fn read_exact(
    store: &dyn ContentStore,
    cid: Cid,
    offset: u64,
    want: usize,
) -> Result<Vec<u8>, HeaderFactsError> {
    let range = ByteRange {
        offset,
        length: Some(want as u64),
    };
    let mut stream = store.cat(cid, range).await?;
    let mut out = Vec::with_capacity(want);
    while let Some(chunk) = stream.try_next().await? {
        if out.len() + chunk.len() > want {
            return Err(HeaderFactsError::WrongLength {
                got: out.len() + chunk.len(),
                want,
            });
        }
        out.extend_from_slice(&chunk);
    }
    if out.len() != want {
        return Err(HeaderFactsError::WrongLength {
            got: out.len(),
            want,
        });
    }
    Ok(out)
}

/// When each failing content may be tried again, and how many times it failed.
#[derive(Debug, Default)]
struct Retries {
    failing: HashMap<String, (u32, Instant)>,
}

impl Retries {
    fn due(&self, content: &str, now: Instant) -> bool {
        self.failing
            .get(content)
            .is_none_or(|(_, next)| now >= *next)
    }

    fn forget(&mut self, content: &str) {
        self.failing.remove(content);
    }

    /// Records a failure; returns the wait before the next try.
    fn failed(&mut self, content: &str, now: Instant, config: &BackfillConfig) -> Duration {
        let failures = self.failing.get(content).map_or(0, |(n, _)| *n);
        let wait = config
            .first_retry
            .saturating_mul(1u32.checked_shl(failures.min(31)).unwrap_or(u32::MAX))
            .min(config.max_retry);
        if self.failing.len() >= MAX_TRACKED && !self.failing.contains_key(content) {
            self.failing.retain(|_, (_, next)| *next > now);
            if self.failing.len() >= MAX_TRACKED {
                return config.interval;
            }
        }
        self.failing
            .insert(content.to_owned(), (failures.saturating_add(1), now + wait));
        wait
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_doubling_up_to_the_limit() {
        let config = BackfillConfig {
            first_retry: Duration::from_secs(10),
            max_retry: Duration::from_secs(60),
            ..BackfillConfig::default()
        };
        let mut r = Retries::default();
        let t = Instant::now();
        assert!(r.due("a", t));
        let waits: Vec<u64> = (0..5)
            .map(|_| r.failed("a", t, &config).as_secs())
            .collect();
        assert_eq!(waits, [10, 20, 40, 60, 60]);
        assert!(!r.due("a", t + Duration::from_secs(59)));
        assert!(r.due("a", t + Duration::from_secs(60)));
        assert!(r.due("b", t));
        r.forget("a");
        assert!(r.due("a", t));
        assert_eq!(r.failed("a", t, &config).as_secs(), 10);
    }

    #[test]
    fn only_the_registered_contents_header_is_accepted() {
        let header = Header {
            salt: vec![7; 32],
            creator_account: [1; 20],
            kind: packager_format::ContentKind::Data,
            metadata: packager_format::Metadata {
                title: "Notes".into(),
                mime_type: "application/pdf".into(),
                ..Default::default()
            },
            tracks: vec![packager_format::Track::data()],
            renderers: vec![],
            key: packager_format::KeyEnvelope {
                scheme: packager_format::KEY_SCHEME_LABELLED_BLS12_381,
                group_key_id: vec![0; 32],
                ciphertext: vec![1; 8],
            },
            segments: vec![],
        };
        let encoded = header.encode().expect("encode");
        let id = header.content_id().expect("id");
        assert_eq!(
            check_header(&encoded, id)
                .expect("its own id")
                .metadata
                .title,
            "Notes"
        );
        let other = ContentId([9; 32]);
        assert!(matches!(
            check_header(&encoded, other),
            Err(HeaderFactsError::OtherContent { found }) if found == id
        ));
        assert!(matches!(
            check_header(b"not a ddrm header at all", id),
            Err(HeaderFactsError::Format(_))
        ));
    }
}

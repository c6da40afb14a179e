//! Reading a buyer's rights from the chain, at a block with the configured confirmations.
//!
//! Every RPC call has a timeout; any failure is an error, and the node refuses. Results are cached
//! per block: within one block the answers cannot change, so many requests cost one set of calls.
//!
//! Most queries are keyed by values the requester chooses for free (a fresh wallet, a random
//! runtime key or measurement). So that a flood of such values neither multiplies chain calls nor
//! pushes out the answers real buyers need, the cache keeps two tables per block:
//!
//! - *negative* answers (false, zero time, zero word: "unknown", "not approved", "no access"), at
//!   most [`MAX_NEGATIVE_ANSWERS`];
//! - every other answer (which exists only because someone paid for it on chain: a registration,
//!   a purchase, an approval), at most [`MAX_POSITIVE_ANSWERS`].
//!
//! Nothing is evicted within a block; a full table stores no more answers of its kind until the
//! next block, whose cache starts empty. Each distinct value thus costs at most one `eth_call`
//! per block while its table has room, and rate limits in front of the node bound the calls
//! made once it is full; real buyers' answers are never displaced by a flood of negative ones.
//! The cache holds at most `MAX_NEGATIVE_ANSWERS + MAX_POSITIVE_ANSWERS` answers, about 100 bytes
//! each (≈ 20 MiB). The queries keyed by the requester's wallet (`hasAccess`, `expiresAt`) are
//! made only once the content, the capsule measurement and the runtime key checked out, so a
//! request with a random measurement or runtime key costs at most those two calls, each once per
//! block.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use alloy::eips::BlockId;
use alloy::eips::BlockNumberOrTag;
use alloy::providers::{DynProvider, Provider};
use contracts_bindings::bindings::{Access, CapsuleRegistry, ContentRegistry};
use contracts_bindings::Deployment;
use licence_net_protocol::{Address, B256, U256};

/// What the chain says, at one block, about one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rights {
    pub block: u64,
    /// Block timestamp (unix seconds).
    pub timestamp: u64,
    /// `None` when the content is not registered.
    pub commitment: Option<B256>,
    /// The account that registered the content (zero when it is not registered): the label its
    /// key ciphertext must carry.
    pub creator: Address,
    /// The content that creator registered with this commitment
    /// (`ContentRegistry.contentOfCommitment`): must be the content asked for (zero when not
    /// registered).
    pub commitment_content: U256,
    pub has_access: bool,
    /// Timed access end (0 if none).
    pub expires_at: u64,
    pub renderer_allowed: bool,
    pub runtime_approved: bool,
}

/// Why the chain could not be read.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ChainReadError {
    #[error("{what} timed out after {ms} ms")]
    Timeout { what: &'static str, ms: u128 },
    #[error("{what} failed: {why}")]
    Rpc { what: &'static str, why: String },
    #[error("the chain has only {head} blocks; {confirmations} confirmations needed")]
    TooYoung { head: u64, confirmations: u64 },
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Query {
    Registered(U256),
    Commitment(U256),
    Creator(U256),
    CommitmentContent(Address, B256),
    Access(Address, U256),
    Expiry(Address, U256),
    Renderer(U256, B256),
    Runtime(Address),
}

#[derive(Clone, Copy)]
enum Answer {
    Bool(bool),
    Word(B256),
    Account(Address),
    Time(u64),
}

impl Answer {
    fn is_negative(&self) -> bool {
        match *self {
            Self::Bool(b) => !b,
            Self::Word(w) => w == B256::ZERO,
            Self::Account(a) => a == Address::ZERO,
            Self::Time(t) => t == 0,
        }
    }
}

struct BlockCache {
    block: u64,
    timestamp: u64,
    positive: HashMap<Query, Answer>,
    negative: HashMap<Query, Answer>,
}

impl BlockCache {
    fn new(block: u64, timestamp: u64) -> Self {
        Self {
            block,
            timestamp,
            positive: HashMap::new(),
            negative: HashMap::new(),
        }
    }
}

/// Most negative answers kept for one block.
pub const MAX_NEGATIVE_ANSWERS: usize = 100_000;
/// Most other answers kept for one block.
pub const MAX_POSITIVE_ANSWERS: usize = 100_000;

/// A read-only view of the deployment's contracts.
pub struct RightsReader {
    provider: DynProvider,
    deployment: Deployment,
    confirmations: u64,
    timeout: Duration,
    head_ttl: Duration,
    head: Mutex<Option<(Instant, u64)>>,
    cache: Mutex<Option<BlockCache>>,
    /// Contract calls made (cache misses), for tests and monitoring.
    calls: AtomicU64,
}

impl std::fmt::Debug for RightsReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RightsReader")
            .field("confirmations", &self.confirmations)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl RightsReader {
    /// `head_ttl`: how long a fetched chain head is reused (zero: fetched for every request).
    pub fn new(
        provider: DynProvider,
        deployment: Deployment,
        confirmations: u64,
        timeout: Duration,
        head_ttl: Duration,
    ) -> Self {
        Self {
            provider,
            deployment,
            confirmations,
            timeout,
            head_ttl,
            head: Mutex::new(None),
            cache: Mutex::new(None),
            calls: AtomicU64::new(0),
        }
    }

    pub fn confirmations(&self) -> u64 {
        self.confirmations
    }

    /// Contract calls made so far (answers not found in the cache).
    pub fn contract_calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// Answers cached for the current block: (positive, negative).
    pub fn cached_answers(&self) -> (usize, usize) {
        let cache = self.cache.lock().expect("cache lock");
        cache
            .as_ref()
            .map_or((0, 0), |c| (c.positive.len(), c.negative.len()))
    }

    async fn timed<T, E: std::fmt::Display>(
        &self,
        what: &'static str,
        fut: impl std::future::IntoFuture<Output = Result<T, E>>,
    ) -> Result<T, ChainReadError> {
        match tokio::time::timeout(self.timeout, fut).await {
            Err(_) => Err(ChainReadError::Timeout {
                what,
                ms: self.timeout.as_millis(),
            }),
            Ok(Err(e)) => Err(ChainReadError::Rpc {
                what,
                why: e.to_string(),
            }),
            Ok(Ok(v)) => Ok(v),
        }
    }

    /// The block to read at: head minus confirmations, with its timestamp.
    async fn target_block(&self) -> Result<(u64, u64), ChainReadError> {
        let cached_head = {
            let h = self.head.lock().expect("head lock");
            h.filter(|(at, _)| at.elapsed() < self.head_ttl)
                .map(|(_, n)| n)
        };
        let head = match cached_head {
            Some(n) => n,
            None => {
                let n = self
                    .timed("eth_blockNumber", self.provider.get_block_number())
                    .await?;
                *self.head.lock().expect("head lock") = Some((Instant::now(), n));
                n
            }
        };
        if head < self.confirmations {
            return Err(ChainReadError::TooYoung {
                head,
                confirmations: self.confirmations,
            });
        }
        let block = head - self.confirmations;
        if let Some(c) = self.cache.lock().expect("cache lock").as_ref() {
            if c.block == block {
                return Ok((block, c.timestamp));
            }
        }
        let header = self
            .timed(
                "eth_getBlockByNumber",
                self.provider
                    .get_block_by_number(BlockNumberOrTag::Number(block)),
            )
            .await?
            .ok_or(ChainReadError::Rpc {
                what: "eth_getBlockByNumber",
                why: format!("block {block} not found"),
            })?;
        let timestamp = header.header.timestamp;
        let mut cache = self.cache.lock().expect("cache lock");
        if cache.as_ref().is_none_or(|c| c.block < block) {
            *cache = Some(BlockCache::new(block, timestamp));
        }
        Ok((block, timestamp))
    }

    fn cached(&self, block: u64, q: &Query) -> Option<Answer> {
        let cache = self.cache.lock().expect("cache lock");
        cache
            .as_ref()
            .filter(|c| c.block == block)
            .and_then(|c| c.positive.get(q).or_else(|| c.negative.get(q)).copied())
    }

    fn remember(&self, block: u64, q: Query, a: Answer) {
        let mut cache = self.cache.lock().expect("cache lock");
        if let Some(c) = cache.as_mut().filter(|c| c.block == block) {
            let (table, max) = if a.is_negative() {
                (&mut c.negative, MAX_NEGATIVE_ANSWERS)
            } else {
                (&mut c.positive, MAX_POSITIVE_ANSWERS)
            };
            if table.len() < max {
                table.insert(q, a);
            }
        }
    }

    async fn ask(&self, block: u64, q: Query) -> Result<Answer, ChainReadError> {
        if let Some(a) = self.cached(block, &q) {
            return Ok(a);
        }
        self.calls.fetch_add(1, Ordering::Relaxed);
        let at = BlockId::number(block);
        let c = &self.deployment.contracts;
        let p = &self.provider;
        let contents = ContentRegistry::new(c.content_registry, p);
        let access = Access::new(c.access, p);
        let capsules = CapsuleRegistry::new(c.capsule_registry, p);
        let a = match q {
            Query::Registered(id) => Answer::Bool(
                self.timed(
                    "ContentRegistry.isRegistered",
                    contents.isRegistered(id).block(at).call(),
                )
                .await?,
            ),
            Query::Commitment(id) => Answer::Word(
                self.timed(
                    "ContentRegistry.keyCommitment",
                    contents.keyCommitment(id).block(at).call(),
                )
                .await?,
            ),
            Query::Creator(id) => Answer::Account(
                self.timed(
                    "ContentRegistry.creatorOf",
                    contents.creatorOf(id).block(at).call(),
                )
                .await?,
            ),
            Query::CommitmentContent(creator, commitment) => Answer::Word(B256::from(
                self.timed(
                    "ContentRegistry.contentOfCommitment",
                    contents
                        .contentOfCommitment(creator, commitment)
                        .block(at)
                        .call(),
                )
                .await?,
            )),
            Query::Access(who, id) => Answer::Bool(
                self.timed(
                    "Access.hasAccess",
                    access.hasAccess(who, id).block(at).call(),
                )
                .await?,
            ),
            Query::Expiry(who, id) => Answer::Time(
                self.timed(
                    "Access.expiresAt",
                    access.expiresAt(who, id).block(at).call(),
                )
                .await?,
            ),
            Query::Renderer(id, m) => Answer::Bool(
                self.timed(
                    "ContentRegistry.isRendererAllowed",
                    contents.isRendererAllowed(id, m).block(at).call(),
                )
                .await?,
            ),
            Query::Runtime(key) => Answer::Bool(
                self.timed(
                    "CapsuleRegistry.isRuntimeApproved",
                    capsules.isRuntimeApproved(key).block(at).call(),
                )
                .await?,
            ),
        };
        self.remember(block, q, a);
        Ok(a)
    }

    async fn flag(&self, block: u64, q: Query) -> Result<bool, ChainReadError> {
        match self.ask(block, q).await? {
            Answer::Bool(b) => Ok(b),
            _ => unreachable!("boolean query"),
        }
    }

    /// Reads everything a licence decision needs, at one block: the content, then its
    /// commitment, the measurement and the runtime key in parallel, then (only if the latter two
    /// are allowed) the account's access and expiry in parallel. Skipped reads are `false`/0.
    pub async fn rights(
        &self,
        account: Address,
        content_id: U256,
        measurement: B256,
        runtime: Address,
    ) -> Result<Rights, ChainReadError> {
        let (block, timestamp) = self.target_block().await?;
        if !self.flag(block, Query::Registered(content_id)).await? {
            return Ok(Rights {
                block,
                timestamp,
                commitment: None,
                creator: Address::ZERO,
                commitment_content: U256::ZERO,
                has_access: false,
                expires_at: 0,
                renderer_allowed: false,
                runtime_approved: false,
            });
        }
        let (commitment, creator, renderer_allowed, runtime_approved) = tokio::try_join!(
            self.ask(block, Query::Commitment(content_id)),
            self.ask(block, Query::Creator(content_id)),
            self.flag(block, Query::Renderer(content_id, measurement)),
            self.flag(block, Query::Runtime(runtime)),
        )?;
        let (Answer::Word(commitment), Answer::Account(creator)) = (commitment, creator) else {
            unreachable!("typed queries")
        };
        // The reverse direction: the content this creator registered the commitment under.
        let Answer::Word(commitment_content) = self
            .ask(block, Query::CommitmentContent(creator, commitment))
            .await?
        else {
            unreachable!("typed query")
        };
        let (has_access, expires_at) = if renderer_allowed && runtime_approved {
            let (has_access, expires_at) = tokio::try_join!(
                self.flag(block, Query::Access(account, content_id)),
                self.ask(block, Query::Expiry(account, content_id)),
            )?;
            let Answer::Time(expires_at) = expires_at else {
                unreachable!("typed query")
            };
            (has_access, expires_at)
        } else {
            (false, 0)
        };
        Ok(Rights {
            block,
            timestamp,
            commitment: Some(commitment),
            creator,
            commitment_content: U256::from_be_bytes(commitment_content.0),
            has_access,
            expires_at,
            renderer_allowed,
            runtime_approved,
        })
    }
}

//! Following the chain: block ranges in, reorganisations out.
//!
//! Each [`Follower::step`] does one of three things:
//! 1. checks the highest stored block still has the same hash on the chain; when not, finds the
//!    highest stored block that does (the common ancestor), deletes every row of the blocks
//!    after it and refolds the state from the remaining raw logs ([`crate::apply::rebuild`]),
//!    all in one transaction;
//! 2. otherwise reads the logs of every deployed contract for the next range, up to the chain
//!    head minus the confirmations, and applies them with the range's block checkpoints in one
//!    transaction ([`crate::apply::apply_range`]); a crash at any point leaves either the whole
//!    range or none of it, and a restart resumes after the highest stored block;
//! 3. or reports that it has caught up.
//!
//! The range adapts: halved when the provider fails or times out (too many results, a slow
//! node), doubled when a range was read quickly, between 1 and [`FollowConfig::max_range`]
//! blocks. Every RPC call has a timeout.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, Instant};

use alloy::eips::BlockNumberOrTag;
use alloy::primitives::{Address, B256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::Filter;
use contracts_bindings::Deployment;
use futures::stream::{self, StreamExt, TryStreamExt};
use sqlx::Row;

use crate::apply::{apply_range, rebuild, BlockHeader, ChainLog};
use crate::db::{block_number, hash_text, Db};
use crate::error::IndexerError;
use crate::lock::{acquire, WriterLock};

/// Blocks a range must be behind the chain head before it is indexed.
pub const DEFAULT_CONFIRMATIONS: u64 = 12;
/// Longest wait for any one RPC answer.
pub const DEFAULT_RPC_TIMEOUT: Duration = Duration::from_secs(15);
/// Pause between polls once caught up.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(2);
/// Blocks in the first range.
pub const DEFAULT_INITIAL_RANGE: u64 = 500;
/// Most blocks in one range.
pub const DEFAULT_MAX_RANGE: u64 = 10_000;
/// A range read faster than this doubles the next one.
pub const FAST_RANGE: Duration = Duration::from_secs(1);
/// How long a new follower waits for the writer lock (a predecessor may be shutting down).
pub const DEFAULT_LOCK_WAIT: Duration = Duration::from_secs(10);
/// Block headers fetched at once for the blocks of a range that hold events.
const HEADER_CONCURRENCY: usize = 8;

/// How the follower reads the chain.
#[derive(Debug, Clone)]
pub struct FollowConfig {
    pub confirmations: u64,
    pub rpc_timeout: Duration,
    pub poll_interval: Duration,
    pub initial_range: u64,
    pub max_range: u64,
    pub lock_wait: Duration,
}

impl Default for FollowConfig {
    fn default() -> Self {
        Self {
            confirmations: DEFAULT_CONFIRMATIONS,
            rpc_timeout: DEFAULT_RPC_TIMEOUT,
            poll_interval: DEFAULT_POLL_INTERVAL,
            initial_range: DEFAULT_INITIAL_RANGE,
            max_range: DEFAULT_MAX_RANGE,
            lock_wait: DEFAULT_LOCK_WAIT,
        }
    }
}

/// What one step did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Blocks `from..=to` applied, with `events` new logs.
    Applied { from: u64, to: u64, events: usize },
    /// A reorganisation: everything after `ancestor` (None: after the deployment) was dropped
    /// and the state refolded; `dropped_events` raw logs went.
    RolledBack {
        ancestor: Option<u64>,
        dropped_events: u64,
    },
    /// Nothing to read yet: the index is at `head`, the confirmed chain tip is `tip`.
    CaughtUp { head: Option<u64>, tip: u64 },
    /// The range was not applied (provider error, or the chain moved while reading); the next
    /// step tries again, with a smaller range after a provider error.
    Retry { reason: String },
}

/// The one writer of an index: holds the lock for as long as it lives.
pub struct Follower {
    db: Db,
    provider: DynProvider,
    deployment: Deployment,
    addresses: Vec<Address>,
    cfg: FollowConfig,
    range: u64,
    ranges_applied: u64,
    crash_at_range: Option<u64>,
    // In a mutex only to make the follower Sync (the PostgreSQL connection is not); never locked.
    _lock: std::sync::Mutex<WriterLock>,
}

impl std::fmt::Debug for Follower {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Follower")
            .field("backend", &self.db.backend())
            .field("range", &self.range)
            .field("cfg", &self.cfg)
            .finish_non_exhaustive()
    }
}

async fn timed<T, E: std::fmt::Display>(
    timeout: Duration,
    what: &str,
    fut: impl std::future::IntoFuture<Output = Result<T, E>>,
) -> Result<T, IndexerError> {
    match tokio::time::timeout(timeout, fut.into_future()).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(IndexerError::Rpc {
            what: what.to_owned(),
            why: e.to_string(),
        }),
        Err(_) => Err(IndexerError::RpcTimeout {
            what: what.to_owned(),
            seconds: timeout.as_secs(),
        }),
    }
}

impl Follower {
    /// Takes the writer lock of `db` and connects to `rpc` (an HTTP URL), checking that the
    /// deployment belongs to that chain.
    pub async fn new(
        db: Db,
        rpc: &str,
        deployment: Deployment,
        cfg: FollowConfig,
    ) -> Result<Self, IndexerError> {
        let lock = acquire(&db, cfg.lock_wait).await?;
        let url = rpc.parse().map_err(|_| IndexerError::Rpc {
            what: "connect".into(),
            why: format!("{rpc:?} is not an RPC URL"),
        })?;
        let provider = ProviderBuilder::new().connect_http(url).erased();
        let chain_id = timed(cfg.rpc_timeout, "eth_chainId", provider.get_chain_id()).await?;
        if chain_id != deployment.chain_id {
            return Err(IndexerError::WrongChain {
                expected: deployment.chain_id,
                actual: chain_id,
            });
        }
        let c = &deployment.contracts;
        let addresses = vec![
            c.capsule_registry,
            c.licence_network_registry,
            c.royalty_shares,
            c.content_registry,
            c.access,
            c.market,
        ];
        Ok(Self {
            db,
            provider,
            deployment,
            addresses,
            range: cfg.initial_range.clamp(1, cfg.max_range.max(1)),
            cfg,
            ranges_applied: 0,
            crash_at_range: None,
            _lock: std::sync::Mutex::new(lock),
        })
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The current range size (blocks).
    pub fn range(&self) -> u64 {
        self.range
    }

    /// Tests: the `n`-th range applied by this follower (from 0) fails with
    /// [`IndexerError::InjectedCrash`] after its rows are written and before its commit.
    pub fn crash_before_commit_of_range(&mut self, n: u64) {
        self.crash_at_range = Some(n);
    }

    async fn header(&self, number: u64) -> Result<Option<BlockHeader>, IndexerError> {
        let block = timed(
            self.cfg.rpc_timeout,
            "eth_getBlockByNumber",
            self.provider
                .get_block_by_number(BlockNumberOrTag::Number(number)),
        )
        .await?;
        Ok(block.map(|b| BlockHeader {
            number,
            hash: b.header.hash,
            parent_hash: b.header.parent_hash,
            time: b.header.timestamp,
        }))
    }

    async fn header_required(&self, number: u64) -> Result<BlockHeader, IndexerError> {
        self.header(number)
            .await?
            .ok_or(IndexerError::MissingBlock(number))
    }

    /// One step: roll back a reorganisation, apply one range, or report being caught up.
    pub async fn step(&mut self) -> Result<Step, IndexerError> {
        let head = self.db.head().await?;
        if let Some(head) = &head {
            let on_chain = self.header(head.number).await?;
            if on_chain.map(|h| hash_text(h.hash)) != Some(head.hash.clone()) {
                return self.roll_back().await;
            }
        }
        let latest = timed(
            self.cfg.rpc_timeout,
            "eth_blockNumber",
            self.provider.get_block_number(),
        )
        .await?;
        let tip = latest.saturating_sub(self.cfg.confirmations);
        let from = head
            .as_ref()
            .map(|h| h.number + 1)
            .unwrap_or(self.deployment.deployment_block);
        if from > tip {
            return Ok(Step::CaughtUp {
                head: head.map(|h| h.number),
                tip,
            });
        }
        let to = tip.min(from + self.range - 1);
        match self
            .read_range(head.as_ref().map(|h| h.hash.as_str()), from, to)
            .await
        {
            Ok(Some((blocks, logs, elapsed))) => {
                let events = self.write_range(&blocks, &logs).await?;
                if elapsed < FAST_RANGE && to - from + 1 == self.range {
                    self.range = (self.range * 2).min(self.cfg.max_range.max(1));
                }
                Ok(Step::Applied { from, to, events })
            }
            Ok(None) => Ok(Step::Retry {
                reason: "the chain changed while the range was read".into(),
            }),
            Err(e @ (IndexerError::Rpc { .. } | IndexerError::RpcTimeout { .. })) => {
                self.range = (self.range / 2).max(1);
                Ok(Step::Retry {
                    reason: e.to_string(),
                })
            }
            Err(e) => Err(e),
        }
    }

    /// Reads blocks `from..=to`: their logs and the headers of the blocks holding them (and of
    /// `to`). `None` when the chain changed meanwhile.
    #[allow(clippy::type_complexity)]
    async fn read_range(
        &self,
        parent: Option<&str>,
        from: u64,
        to: u64,
    ) -> Result<Option<(Vec<BlockHeader>, Vec<ChainLog>, Duration)>, IndexerError> {
        let started = Instant::now();
        let first = self.header_required(from).await?;
        if parent.is_some_and(|p| p != hash_text(first.parent_hash)) {
            return Ok(None);
        }
        let last_before = self.header_required(to).await?;
        let filter = Filter::new()
            .address(self.addresses.clone())
            .from_block(from)
            .to_block(to);
        let raw = timed(
            self.cfg.rpc_timeout,
            "eth_getLogs",
            self.provider.get_logs(&filter),
        )
        .await?;
        let last_after = self.header_required(to).await?;
        if last_before.hash != last_after.hash {
            return Ok(None);
        }
        let mut logs = Vec::with_capacity(raw.len());
        let mut numbers: BTreeMap<u64, B256> = BTreeMap::new();
        for l in raw {
            if l.removed {
                return Ok(None);
            }
            let (Some(block_number), Some(block_hash), Some(log_index), Some(tx_hash)) = (
                l.block_number,
                l.block_hash,
                l.log_index,
                l.transaction_hash,
            ) else {
                // A pending log: the node answered with something not yet in a block.
                return Ok(None);
            };
            numbers.insert(block_number, block_hash);
            logs.push(ChainLog {
                block_number,
                block_hash,
                block_time: 0,
                log_index,
                tx_hash,
                address: l.inner.address,
                topics: l.inner.data.topics().to_vec(),
                data: l.inner.data.data.clone(),
            });
        }
        let mut headers: BTreeMap<u64, BlockHeader> = stream::iter(
            numbers
                .keys()
                .copied()
                .filter(|n| *n != to && *n != from)
                .collect::<Vec<_>>(),
        )
        .map(|n| async move { self.header_required(n).await })
        .buffer_unordered(HEADER_CONCURRENCY)
        .map_ok(|h| (h.number, h))
        .try_collect()
        .await?;
        headers.insert(from, first);
        headers.insert(to, last_after);
        for (n, hash) in &numbers {
            if headers.get(n).map(|h| h.hash) != Some(*hash) {
                return Ok(None);
            }
        }
        for l in &mut logs {
            l.block_time = headers[&l.block_number].time;
        }
        logs.sort_by_key(|l| (l.block_number, l.log_index));
        // Checkpoints: the blocks holding events and the range's last block.
        let blocks: Vec<BlockHeader> = headers
            .into_values()
            .filter(|h| h.number == to || numbers.contains_key(&h.number))
            .collect();
        Ok(Some((blocks, logs, started.elapsed())))
    }

    async fn write_range(
        &mut self,
        blocks: &[BlockHeader],
        logs: &[ChainLog],
    ) -> Result<usize, IndexerError> {
        let mut tx = self.db.pool().begin().await?;
        let applied = apply_range(&mut tx, &self.deployment.contracts, blocks, logs).await?;
        if self.crash_at_range == Some(self.ranges_applied) {
            // Dropping the transaction rolls it back, as a crash would.
            return Err(IndexerError::InjectedCrash);
        }
        tx.commit().await?;
        self.ranges_applied += 1;
        Ok(applied)
    }

    /// Finds the common ancestor of the stored blocks and the chain, and drops what follows it.
    async fn roll_back(&mut self) -> Result<Step, IndexerError> {
        let mut ancestor = None;
        let mut below = i64::MAX;
        'search: loop {
            let rows = sqlx::query(
                "SELECT block_number, block_hash FROM blocks WHERE block_number < $1 \
                 ORDER BY block_number DESC LIMIT 64",
            )
            .bind(below)
            .fetch_all(self.db.pool())
            .await?;
            if rows.is_empty() {
                break;
            }
            for r in rows {
                let number = block_number(r.try_get(0)?)?;
                let stored: String = r.try_get(1)?;
                below = r.try_get(0)?;
                if self.header(number).await?.map(|h| hash_text(h.hash)) == Some(stored) {
                    ancestor = Some(number);
                    break 'search;
                }
            }
        }
        let keep = ancestor.map(|a| a as i64).unwrap_or(-1);
        let mut tx = self.db.pool().begin().await?;
        let dropped = sqlx::query("DELETE FROM raw_events WHERE block_number > $1")
            .bind(keep)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        sqlx::query("DELETE FROM blocks WHERE block_number > $1")
            .bind(keep)
            .execute(&mut *tx)
            .await?;
        rebuild(&mut tx, &self.deployment.contracts).await?;
        tx.commit().await?;
        Ok(Step::RolledBack {
            ancestor,
            dropped_events: dropped,
        })
    }

    /// Steps until caught up with the confirmed tip; returns every step taken. Provider errors
    /// are retried up to `max_retries` times in a row.
    pub async fn catch_up(&mut self, max_retries: u32) -> Result<Vec<Step>, IndexerError> {
        let mut steps = Vec::new();
        let mut retries = 0;
        loop {
            let step = self.step().await?;
            match &step {
                Step::CaughtUp { .. } => {
                    steps.push(step);
                    return Ok(steps);
                }
                Step::Retry { reason } => {
                    retries += 1;
                    if retries > max_retries {
                        return Err(IndexerError::Rpc {
                            what: "follow".into(),
                            why: format!("gave up after {max_retries} retries: {reason}"),
                        });
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                _ => retries = 0,
            }
            steps.push(step);
        }
    }

    /// Follows the chain until `shutdown` completes, calling `report` after every step that did
    /// something. Provider errors are reported and retried; database errors end it.
    pub async fn run(
        &mut self,
        shutdown: impl Future<Output = ()>,
        mut report: impl FnMut(&Step),
    ) -> Result<(), IndexerError> {
        tokio::pin!(shutdown);
        loop {
            let step = tokio::select! {
                _ = &mut shutdown => return Ok(()),
                s = self.step() => s,
            };
            let pause = match step {
                Ok(s @ Step::CaughtUp { .. }) => {
                    report(&s);
                    self.cfg.poll_interval
                }
                Ok(s @ Step::Retry { .. }) => {
                    report(&s);
                    Duration::from_millis(500)
                }
                Ok(s) => {
                    report(&s);
                    Duration::ZERO
                }
                Err(e @ (IndexerError::Rpc { .. } | IndexerError::RpcTimeout { .. })) => {
                    report(&Step::Retry {
                        reason: e.to_string(),
                    });
                    self.cfg.poll_interval
                }
                Err(e) => return Err(e),
            };
            if !pause.is_zero() {
                tokio::select! {
                    _ = &mut shutdown => return Ok(()),
                    _ = tokio::time::sleep(pause) => {}
                }
            }
        }
    }

    /// Closes the database pool (the lock goes with the follower).
    pub async fn close(self) {
        self.db.close().await;
    }
}

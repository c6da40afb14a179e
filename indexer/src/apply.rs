//! The fold: contract events, in chain order, into the index's tables.
//!
//! [`apply_range`] writes one block range inside the caller's transaction: the blocks'
//! checkpoints, the raw logs (one row per block hash and log index; a log already stored is not
//! applied again), and what each event changes. [`rebuild`] empties every derived table and folds
//! the stored raw logs again: after a reorganisation has deleted the dropped blocks' rows, this
//! recomputes the state with exactly the code that built it.
//!
//! The royalty accounting mirrors `RoyaltyShares` operation by operation, in 256-bit integers:
//! a mint adds shares; a transfer (`_move`) settles both parties at the content's revenue per
//! share, then moves the shares (nothing at all when sender and receiver are the same account);
//! `RevenueDistributed` adds `perShare` to the revenue per share and credits `dust` to the
//! content's creator; `Claimed` zeroes `owed` and sets the checkpoint to the revenue per share.

use std::collections::HashMap;
use std::fmt::Write as _;

use alloy::primitives::{Address, Bytes, B256, U256};
use alloy::sol_types::SolEventInterface;
use contracts_bindings::bindings::{
    Access::AccessEvents, ContentRegistry::ContentRegistryEvents, Market::MarketEvents,
    RoyaltyShares::RoyaltySharesEvents,
};
use contracts_bindings::Contracts;
use sqlx::{AnyConnection, Row};

use crate::db::{
    address_text, amount_text, block_number, content_id_text, hash_text, parse_amount, HolderRecord,
};
use crate::error::IndexerError;

/// A block header as far as the index needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockHeader {
    pub number: u64,
    pub hash: B256,
    pub parent_hash: B256,
    pub time: u64,
}

/// One log of a deployed contract, with the time of its block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainLog {
    pub block_number: u64,
    pub block_hash: B256,
    pub block_time: u64,
    pub log_index: u64,
    pub tx_hash: B256,
    pub address: Address,
    pub topics: Vec<B256>,
    pub data: Bytes,
}

/// Which contract emitted a log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Registry,
    Shares,
    Access,
    Market,
    Other,
}

fn source(contracts: &Contracts, address: Address) -> Source {
    if address == contracts.content_registry {
        Source::Registry
    } else if address == contracts.royalty_shares {
        Source::Shares
    } else if address == contracts.access {
        Source::Access
    } else if address == contracts.market {
        Source::Market
    } else {
        Source::Other
    }
}

/// The event's name in its contract's ABI (`"unknown"` for a selector the ABI lacks).
pub fn event_name(contracts: &Contracts, log: &ChainLog) -> &'static str {
    fn lookup(selectors: &[[u8; 32]], names: &'static [&'static str], t: &B256) -> &'static str {
        selectors
            .binary_search(&t.0)
            .map(|i| names[i])
            .unwrap_or("unknown")
    }
    let Some(t) = log.topics.first() else {
        return "anonymous";
    };
    match source(contracts, log.address) {
        Source::Registry => lookup(
            ContentRegistryEvents::SELECTORS,
            ContentRegistryEvents::VARIANT_NAMES,
            t,
        ),
        Source::Shares => lookup(
            RoyaltySharesEvents::SELECTORS,
            RoyaltySharesEvents::VARIANT_NAMES,
            t,
        ),
        Source::Access => lookup(AccessEvents::SELECTORS, AccessEvents::VARIANT_NAMES, t),
        Source::Market => lookup(MarketEvents::SELECTORS, MarketEvents::VARIANT_NAMES, t),
        Source::Other => "unknown",
    }
}

/// Every table derived from the raw logs, emptied and refilled by [`rebuild`].
pub const DERIVED_TABLES: &[&str] = &[
    "contents",
    "renderers",
    "access_grants",
    "access_expiry",
    "access_tokens",
    "royalty_holders",
    "revenue",
    "claims",
    "listings",
    "offers",
    "trades",
    "share_transfers",
];

/// Writes one block range: checkpoints for `blocks`, then every log (already in chain order)
/// not stored before. Returns how many logs were applied. The caller commits.
pub async fn apply_range(
    conn: &mut AnyConnection,
    contracts: &Contracts,
    blocks: &[BlockHeader],
    logs: &[ChainLog],
) -> Result<usize, IndexerError> {
    // The previous range's last block stays a checkpoint only if it holds events: the new
    // range's last block takes over as the head, so the trail does not depend on how the chain
    // was cut into ranges.
    if let Some(first) = blocks.first() {
        sqlx::query(
            "DELETE FROM blocks WHERE block_number = \
             (SELECT MAX(block_number) FROM blocks WHERE block_number < $1) \
             AND NOT EXISTS (SELECT 1 FROM raw_events e WHERE e.block_number = blocks.block_number)",
        )
        .bind(int(first.number, "block number")?)
        .execute(&mut *conn)
        .await?;
    }
    let block_rows = blocks
        .iter()
        .map(|b| {
            Ok(vec![
                Val::from(int(b.number, "block number")?),
                Val::from(hash_text(b.hash)),
                Val::from(hash_text(b.parent_hash)),
                Val::from(int(b.time, "block time")?),
            ])
        })
        .collect::<Result<Vec<_>, IndexerError>>()?;
    insert_rows(
        conn,
        "INSERT INTO blocks (block_number, block_hash, parent_hash, block_time)",
        "ON CONFLICT (block_number) DO NOTHING",
        &block_rows,
    )
    .await?;
    // Raw logs first, in batches; only those not stored before are folded.
    let mut rows = Vec::with_capacity(logs.len());
    for log in logs {
        rows.push(vec![
            Val::from(hash_text(log.block_hash)),
            Val::from(int(log.log_index, "log index")?),
            Val::from(int(log.block_number, "block number")?),
            Val::from(hash_text(log.tx_hash)),
            Val::from(address_text(log.address)),
            Val::from(event_name(contracts, log)),
            Val::from(
                log.topics
                    .iter()
                    .map(|t| hash_text(*t))
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            Val::from(format!("0x{}", hex::encode(&log.data))),
        ]);
    }
    let inserted: std::collections::HashSet<(String, i64)> = insert_rows(
        conn,
        "INSERT INTO raw_events \
         (block_hash, log_index, block_number, tx_hash, address, name, topics, data)",
        "ON CONFLICT (block_hash, log_index) DO NOTHING RETURNING block_hash, log_index",
        &rows,
    )
    .await?
    .iter()
    .map(|r| Ok((r.try_get::<String, _>(0)?, r.try_get::<i64, _>(1)?)))
    .collect::<Result<_, sqlx::Error>>()?;
    let mut fold = Fold::new(conn, *contracts);
    let mut applied = 0;
    for log in logs {
        let key = (hash_text(log.block_hash), int(log.log_index, "log index")?);
        if inserted.contains(&key) {
            fold.apply(log).await?;
            applied += 1;
        }
    }
    fold.flush().await?;
    Ok(applied)
}

/// Empties the derived tables and folds every stored raw log again, in chain order.
pub async fn rebuild(
    conn: &mut AnyConnection,
    contracts: &Contracts,
) -> Result<usize, IndexerError> {
    for table in DERIVED_TABLES {
        sqlx::query(&format!("DELETE FROM {table}"))
            .execute(&mut *conn)
            .await?;
    }
    const PAGE: i64 = 5_000;
    let mut after: (i64, i64) = (-1, -1);
    let mut fold = Fold::new(conn, *contracts);
    let mut applied = 0;
    loop {
        let rows = sqlx::query(
            "SELECT e.block_number, e.log_index, e.block_hash, b.block_time, e.tx_hash, \
                    e.address, e.topics, e.data \
             FROM raw_events e JOIN blocks b ON b.block_number = e.block_number \
             WHERE e.block_number > $1 OR (e.block_number = $1 AND e.log_index > $2) \
             ORDER BY e.block_number, e.log_index LIMIT $3",
        )
        .bind(after.0)
        .bind(after.1)
        .bind(PAGE)
        .fetch_all(&mut *fold.conn)
        .await?;
        if rows.is_empty() {
            break;
        }
        for r in &rows {
            let log = stored_log(r)?;
            after = (
                int(log.block_number, "block number")?,
                int(log.log_index, "log index")?,
            );
            fold.apply(&log).await?;
            applied += 1;
        }
    }
    fold.flush().await?;
    Ok(applied)
}

fn stored_log(r: &sqlx::any::AnyRow) -> Result<ChainLog, IndexerError> {
    let corrupt = |column: &'static str, value: String| IndexerError::Corrupt {
        table: "raw_events",
        column,
        value,
    };
    let hash = |column: &'static str, s: String| -> Result<B256, IndexerError> {
        s.parse().map_err(|_| corrupt(column, s))
    };
    let topics_text: String = r.try_get(6)?;
    let topics = if topics_text.is_empty() {
        Vec::new()
    } else {
        topics_text
            .split(',')
            .map(|t| hash("topics", t.to_owned()))
            .collect::<Result<_, _>>()?
    };
    let data_text: String = r.try_get(7)?;
    let data = hex::decode(data_text.trim_start_matches("0x"))
        .map_err(|_| corrupt("data", data_text.clone()))?;
    let address_text: String = r.try_get(5)?;
    Ok(ChainLog {
        block_number: block_number(r.try_get(0)?)?,
        log_index: block_number(r.try_get(1)?)?,
        block_hash: hash("block_hash", r.try_get(2)?)?,
        block_time: block_number(r.try_get(3)?)?,
        tx_hash: hash("tx_hash", r.try_get(4)?)?,
        address: address_text
            .parse()
            .map_err(|_| corrupt("address", address_text.clone()))?,
        topics,
        data: data.into(),
    })
}

/// The first columns of every per-event row: block hash, log index, block number, block time
/// and transaction hash.
fn event_position(log: &ChainLog) -> Result<Vec<Val>, IndexerError> {
    Ok(vec![
        Val::from(hash_text(log.block_hash)),
        Val::from(int(log.log_index, "log index")?),
        Val::from(int(log.block_number, "block number")?),
        Val::from(int(log.block_time, "block time")?),
        Val::from(hash_text(log.tx_hash)),
    ])
}

/// A u64 as a BIGINT.
fn int(v: u64, what: &'static str) -> Result<i64, IndexerError> {
    i64::try_from(v).map_err(|_| IndexerError::Corrupt {
        table: "(event)",
        column: what,
        value: v.to_string(),
    })
}

/// The two sides of the order book, kept in parallel tables: listings (shares for sale, by their
/// seller) and offers (payment escrowed for shares, by their buyer).
#[derive(Debug, Clone, Copy)]
enum Side {
    Listing,
    Offer,
}

impl Side {
    fn table(self) -> &'static str {
        match self {
            Side::Listing => "listings",
            Side::Offer => "offers",
        }
    }

    fn id_column(self) -> &'static str {
        match self {
            Side::Listing => "listing_id",
            Side::Offer => "offer_id",
        }
    }

    /// Who opened it: the seller of a listing, the buyer of an offer.
    fn party_column(self) -> &'static str {
        match self {
            Side::Listing => "seller",
            Side::Offer => "buyer",
        }
    }
}

/// A listing or offer as its opening event states it.
struct Order {
    id: U256,
    party: Address,
    collection: Address,
    content: U256,
    amount: U256,
    unit_price: U256,
}

/// A U256 as a BIGINT (counts: shares, access tokens, order amounts, ids).
fn small(log: &ChainLog, name: &'static str, v: U256) -> Result<i64, IndexerError> {
    i64::try_from(v).map_err(|_| IndexerError::BadEvent {
        name,
        block: log.block_number,
        log_index: log.log_index,
        why: format!("{v} does not fit 63 bits"),
    })
}

/// One access sale: `edition` for a perpetual token, `timed` = (periods, expiry, renewed) for
/// a rental or subscription.
struct Grant<'a> {
    kind: &'a str,
    paid: U256,
    edition: Option<i64>,
    timed: Option<(i64, i64, bool)>,
}

/// A content's running totals, cached for the range and written back at its end.
#[derive(Debug, Clone)]
struct ContentTotals {
    creator: String,
    revenue_per_share: U256,
    revenue_total: U256,
    sales: i64,
    editions_sold: i64,
    dirty: bool,
}

/// A value of a deferred insert.
#[derive(Debug, Clone)]
enum Val {
    Text(String),
    Int(Option<i64>),
}

impl From<String> for Val {
    fn from(v: String) -> Self {
        Self::Text(v)
    }
}
impl From<&String> for Val {
    fn from(v: &String) -> Self {
        Self::Text(v.clone())
    }
}
impl From<&str> for Val {
    fn from(v: &str) -> Self {
        Self::Text(v.to_owned())
    }
}
impl From<i64> for Val {
    fn from(v: i64) -> Self {
        Self::Int(Some(v))
    }
}
impl From<Option<i64>> for Val {
    fn from(v: Option<i64>) -> Self {
        Self::Int(v)
    }
}

/// Rows per multi-row INSERT (well under SQLite's and PostgreSQL's bind-parameter limits).
const ROWS_PER_INSERT: usize = 400;

/// Runs `head VALUES (…), (…) … tail` over `rows` in chunks; returns the statements' results.
async fn insert_rows(
    conn: &mut AnyConnection,
    head: &str,
    tail: &str,
    rows: &[Vec<Val>],
) -> Result<Vec<sqlx::any::AnyRow>, IndexerError> {
    // SQLite looks a named parameter (`$n`) up by walking the statement's list of names, so
    // binding N of them costs N²: a 400-row statement spent most of its time there. Anonymous
    // `?` parameters bind by position.
    let positional = conn.backend_name() == <sqlx::Sqlite as sqlx::Database>::NAME;
    let mut returned = Vec::new();
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        let mut sql = String::with_capacity(head.len() + chunk.len() * 64);
        sql.push_str(head);
        sql.push_str(" VALUES ");
        let mut n = 0;
        for (i, row) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            for j in 0..row.len() {
                if j > 0 {
                    sql.push_str(", ");
                }
                n += 1;
                if positional {
                    sql.push('?');
                } else {
                    let _ = write!(sql, "${n}");
                }
            }
            sql.push(')');
        }
        sql.push(' ');
        sql.push_str(tail);
        let mut q = sqlx::query(&sql);
        for row in chunk {
            for v in row {
                q = match v {
                    Val::Text(t) => q.bind(t.clone()),
                    Val::Int(i) => q.bind(*i),
                };
            }
        }
        returned.extend(q.fetch_all(&mut *conn).await?);
    }
    Ok(returned)
}

/// The fold's state for one range: the rows every sale and transfer touches, cached so that a
/// content or holder hit many times in a range is read once and written once.
struct Fold<'c> {
    conn: &'c mut AnyConnection,
    contracts: Contracts,
    contents: HashMap<String, ContentTotals>,
    holders: HashMap<(String, String), (HolderRecord, bool)>,
    access_tokens: HashMap<(String, String), (i64, bool)>,
    /// Timed-access expiry set in this range, per (account, content).
    expiry: HashMap<(String, String), i64>,
    /// Append-only rows (sales, claims, fills, transfers), written in batches at the end.
    deferred: Vec<(&'static str, Vec<Vec<Val>>)>,
}

impl<'c> Fold<'c> {
    fn new(conn: &'c mut AnyConnection, contracts: Contracts) -> Self {
        Self {
            conn,
            contracts,
            contents: HashMap::new(),
            holders: HashMap::new(),
            access_tokens: HashMap::new(),
            expiry: HashMap::new(),
            deferred: Vec::new(),
        }
    }

    /// Queues a row of an append-only table (`head` = `INSERT INTO table (columns)`).
    fn defer(&mut self, head: &'static str, row: Vec<Val>) {
        match self.deferred.iter_mut().find(|(h, _)| *h == head) {
            Some((_, rows)) => rows.push(row),
            None => self.deferred.push((head, vec![row])),
        }
    }

    async fn content(&mut self, id: &str) -> Result<Option<&mut ContentTotals>, IndexerError> {
        if !self.contents.contains_key(id) {
            let row = sqlx::query(
                "SELECT creator, revenue_per_share, revenue_total, sales, editions_sold \
                 FROM contents WHERE content_id = $1",
            )
            .bind(id)
            .fetch_optional(&mut *self.conn)
            .await?;
            let Some(r) = row else { return Ok(None) };
            let totals = ContentTotals {
                creator: r.try_get(0)?,
                revenue_per_share: parse_amount(
                    "contents",
                    "revenue_per_share",
                    &r.try_get::<String, _>(1)?,
                )?,
                revenue_total: parse_amount(
                    "contents",
                    "revenue_total",
                    &r.try_get::<String, _>(2)?,
                )?,
                sales: r.try_get(3)?,
                editions_sold: r.try_get(4)?,
                dirty: false,
            };
            self.contents.insert(id.to_owned(), totals);
        }
        Ok(self.contents.get_mut(id))
    }

    /// The content's revenue per share (0 before registration, as the contract's view says).
    async fn revenue_per_share(&mut self, id: &str) -> Result<U256, IndexerError> {
        Ok(self
            .content(id)
            .await?
            .map(|c| c.revenue_per_share)
            .unwrap_or_default())
    }

    async fn holder(
        &mut self,
        id: &str,
        account: &str,
    ) -> Result<&mut (HolderRecord, bool), IndexerError> {
        let key = (id.to_owned(), account.to_owned());
        if !self.holders.contains_key(&key) {
            let row = sqlx::query(
                "SELECT shares, checkpoint, owed FROM royalty_holders \
                 WHERE content_id = $1 AND account = $2",
            )
            .bind(id)
            .bind(account)
            .fetch_optional(&mut *self.conn)
            .await?;
            let record = match row {
                Some(r) => HolderRecord {
                    shares: u64::try_from(r.try_get::<i64, _>(0)?).unwrap_or_default(),
                    checkpoint: parse_amount(
                        "royalty_holders",
                        "checkpoint",
                        &r.try_get::<String, _>(1)?,
                    )?,
                    owed: parse_amount("royalty_holders", "owed", &r.try_get::<String, _>(2)?)?,
                },
                None => HolderRecord::default(),
            };
            self.holders.insert(key.clone(), (record, false));
        }
        Ok(self.holders.get_mut(&key).expect("inserted above"))
    }

    async fn access_token(
        &mut self,
        account: &str,
        id: &str,
    ) -> Result<&mut (i64, bool), IndexerError> {
        let key = (account.to_owned(), id.to_owned());
        if !self.access_tokens.contains_key(&key) {
            let balance: Option<i64> = sqlx::query(
                "SELECT balance FROM access_tokens WHERE account = $1 AND content_id = $2",
            )
            .bind(account)
            .bind(id)
            .fetch_optional(&mut *self.conn)
            .await?
            .map(|r| r.try_get(0))
            .transpose()?;
            self.access_tokens
                .insert(key.clone(), (balance.unwrap_or(0), false));
        }
        Ok(self.access_tokens.get_mut(&key).expect("inserted above"))
    }

    /// `RoyaltyShares._move` (or the mint when `from` is zero).
    async fn move_shares(
        &mut self,
        id: &str,
        from: Address,
        to: Address,
        value: u64,
    ) -> Result<(), IndexerError> {
        if from == to {
            return Ok(());
        }
        let to_text = address_text(to);
        if from == Address::ZERO {
            let h = self.holder(id, &to_text).await?;
            h.0.shares += value;
            h.1 = true;
            return Ok(());
        }
        let rps = self.revenue_per_share(id).await?;
        let s = self.holder(id, &address_text(from)).await?;
        s.0.settle(rps);
        s.0.shares = s.0.shares.saturating_sub(value);
        s.1 = true;
        let d = self.holder(id, &to_text).await?;
        d.0.settle(rps);
        d.0.shares += value;
        d.1 = true;
        Ok(())
    }

    async fn move_access(
        &mut self,
        id: &str,
        from: Address,
        to: Address,
        value: i64,
    ) -> Result<(), IndexerError> {
        if from != Address::ZERO {
            let t = self.access_token(&address_text(from), id).await?;
            t.0 -= value;
            t.1 = true;
        }
        if to != Address::ZERO {
            let t = self.access_token(&address_text(to), id).await?;
            t.0 += value;
            t.1 = true;
        }
        Ok(())
    }

    async fn share_transfer(
        &mut self,
        log: &ChainLog,
        seq: i64,
        id: &str,
        from: Address,
        to: Address,
        amount: i64,
    ) -> Result<(), IndexerError> {
        self.defer(
            "INSERT INTO share_transfers (block_hash, log_index, seq, block_number, block_time, content_id, from_account, to_account, amount)",
            vec![
                Val::from(hash_text(log.block_hash)),
                Val::from(int(log.log_index, "log index")?),
                Val::from(seq),
                Val::from(int(log.block_number, "block number")?),
                Val::from(int(log.block_time, "block time")?),
                Val::from(id),
                Val::from(address_text(from)),
                Val::from(address_text(to)),
                Val::from(amount),
            ],
        );
        Ok(())
    }

    fn collection(&self, address: Address) -> String {
        if address == self.contracts.royalty_shares {
            "shares".into()
        } else if address == self.contracts.access {
            "access".into()
        } else {
            address_text(address)
        }
    }

    async fn apply(&mut self, log: &ChainLog) -> Result<(), IndexerError> {
        let bad = |name: &'static str, e: alloy::sol_types::Error| IndexerError::BadEvent {
            name,
            block: log.block_number,
            log_index: log.log_index,
            why: e.to_string(),
        };
        match source(&self.contracts, log.address) {
            Source::Registry => {
                let ev = ContentRegistryEvents::decode_raw_log(&log.topics, &log.data)
                    .map_err(|e| bad("ContentRegistry", e))?;
                self.registry(log, ev).await
            }
            Source::Shares => {
                let ev = RoyaltySharesEvents::decode_raw_log(&log.topics, &log.data)
                    .map_err(|e| bad("RoyaltyShares", e))?;
                self.shares(log, ev).await
            }
            Source::Access => {
                let ev = AccessEvents::decode_raw_log(&log.topics, &log.data)
                    .map_err(|e| bad("Access", e))?;
                self.access(log, ev).await
            }
            Source::Market => {
                let ev = MarketEvents::decode_raw_log(&log.topics, &log.data)
                    .map_err(|e| bad("Market", e))?;
                self.market(log, ev).await
            }
            Source::Other => Ok(()),
        }
    }

    async fn registry(
        &mut self,
        log: &ChainLog,
        ev: ContentRegistryEvents,
    ) -> Result<(), IndexerError> {
        match ev {
            ContentRegistryEvents::ContentRegistered(e) => {
                sqlx::query(
                    "INSERT INTO contents (content_id, creator, payment_token, key_commitment, cid, \
                     registered_block, registered_time, price, rent_price, rent_period, \
                     subscription_price, subscription_period, max_editions, resale_royalty_bps, \
                     revenue_per_share, revenue_total, sales, editions_sold) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, '0', '0', 0, '0', 0, 0, 0, '0', '0', 0, 0) \
                     ON CONFLICT (content_id) DO NOTHING",
                )
                .bind(content_id_text(e.contentId))
                .bind(address_text(e.creator))
                .bind(address_text(e.paymentToken))
                .bind(hash_text(e.keyCommitment))
                .bind(&e.cid)
                .bind(int(log.block_number, "block number")?)
                .bind(int(log.block_time, "block time")?)
                .execute(&mut *self.conn)
                .await?;
            }
            ContentRegistryEvents::TermsSet(e) => {
                let t = e.terms;
                sqlx::query(
                    "UPDATE contents SET price = $2, rent_price = $3, rent_period = $4, \
                     subscription_price = $5, subscription_period = $6, max_editions = $7, \
                     resale_royalty_bps = $8 WHERE content_id = $1",
                )
                .bind(content_id_text(e.contentId))
                .bind(t.price.to_string())
                .bind(t.rentPrice.to_string())
                .bind(i64::from(t.rentPeriod))
                .bind(t.subscriptionPrice.to_string())
                .bind(i64::from(t.subscriptionPeriod))
                .bind(i64::from(t.maxEditions))
                .bind(i64::from(t.resaleRoyaltyBps))
                .execute(&mut *self.conn)
                .await?;
            }
            ContentRegistryEvents::RendererAllowed(e) => {
                sqlx::query(
                    "INSERT INTO renderers (content_id, measurement) VALUES ($1, $2) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(content_id_text(e.contentId))
                .bind(hash_text(e.measurement))
                .execute(&mut *self.conn)
                .await?;
            }
            ContentRegistryEvents::RendererDisallowed(e) => {
                sqlx::query("DELETE FROM renderers WHERE content_id = $1 AND measurement = $2")
                    .bind(content_id_text(e.contentId))
                    .bind(hash_text(e.measurement))
                    .execute(&mut *self.conn)
                    .await?;
            }
            _ => {}
        }
        Ok(())
    }

    async fn shares(
        &mut self,
        log: &ChainLog,
        ev: RoyaltySharesEvents,
    ) -> Result<(), IndexerError> {
        match ev {
            RoyaltySharesEvents::TransferSingle(e) => {
                let id = content_id_text(e.id);
                let value = small(log, "TransferSingle", e.value)?;
                self.move_shares(&id, e.from, e.to, value as u64).await?;
                self.share_transfer(log, 0, &id, e.from, e.to, value)
                    .await?;
            }
            RoyaltySharesEvents::TransferBatch(e) => {
                for (seq, (id, value)) in e.ids.iter().zip(e.values.iter()).enumerate() {
                    let id = content_id_text(*id);
                    let value = small(log, "TransferBatch", *value)?;
                    self.move_shares(&id, e.from, e.to, value as u64).await?;
                    self.share_transfer(log, seq as i64, &id, e.from, e.to, value)
                        .await?;
                }
            }
            RoyaltySharesEvents::RevenueDistributed(e) => {
                let id = content_id_text(e.contentId);
                let creator = match self.content(&id).await? {
                    Some(c) => {
                        c.revenue_per_share += e.perShare;
                        c.revenue_total += e.amount;
                        c.dirty = true;
                        c.creator.clone()
                    }
                    None => {
                        return Err(IndexerError::BadEvent {
                            name: "RevenueDistributed",
                            block: log.block_number,
                            log_index: log.log_index,
                            why: format!("content {id} was never registered"),
                        })
                    }
                };
                if !e.dust.is_zero() {
                    let h = self.holder(&id, &creator).await?;
                    h.0.owed += e.dust;
                    h.1 = true;
                }
                let mut row = event_position(log)?;
                row.extend([
                    Val::from(&id),
                    Val::from(address_text(e.from)),
                    Val::from(address_text(e.token)),
                    Val::from(amount_text(e.amount)),
                    Val::from(amount_text(e.fee)),
                    Val::from(amount_text(e.pool)),
                    Val::from(amount_text(e.perShare)),
                    Val::from(amount_text(e.dust)),
                ]);
                self.defer("INSERT INTO revenue (block_hash, log_index, block_number, block_time, tx_hash, content_id, payer, token, amount, fee, pool, per_share, dust)", row);
            }
            RoyaltySharesEvents::Claimed(e) => {
                let id = content_id_text(e.contentId);
                let rps = self.revenue_per_share(&id).await?;
                let h = self.holder(&id, &address_text(e.account)).await?;
                h.0.owed = U256::ZERO;
                h.0.checkpoint = rps;
                h.1 = true;
                let mut row = event_position(log)?;
                row.extend([
                    Val::from(&id),
                    Val::from(address_text(e.account)),
                    Val::from(address_text(e.token)),
                    Val::from(amount_text(e.amount)),
                ]);
                self.defer("INSERT INTO claims (block_hash, log_index, block_number, block_time, tx_hash, content_id, account, token, amount)", row);
            }
            _ => {}
        }
        Ok(())
    }

    async fn grant(
        &mut self,
        log: &ChainLog,
        id: &str,
        account: Address,
        g: Grant<'_>,
    ) -> Result<(), IndexerError> {
        let mut row = event_position(log)?;
        row.extend([
            Val::from(id),
            Val::from(address_text(account)),
            Val::from(g.kind),
            Val::from(amount_text(g.paid)),
            Val::from(g.edition),
            Val::from(g.timed.map(|t| t.0)),
            Val::from(g.timed.map(|t| t.1)),
            Val::from(g.timed.map(|t| i64::from(t.2))),
        ]);
        self.defer("INSERT INTO access_grants (block_hash, log_index, block_number, block_time, tx_hash, content_id, account, kind, paid, edition, periods, expires_at, renewed)", row);
        if let Some(c) = self.content(id).await? {
            c.sales += 1;
            if g.edition.is_some() {
                c.editions_sold += 1;
            }
            c.dirty = true;
        }
        Ok(())
    }

    async fn access(&mut self, log: &ChainLog, ev: AccessEvents) -> Result<(), IndexerError> {
        match ev {
            AccessEvents::Purchased(e) => {
                let id = content_id_text(e.contentId);
                let edition = small(log, "Purchased", e.edition)?;
                let g = Grant {
                    kind: "buy",
                    paid: e.paid,
                    edition: Some(edition),
                    timed: None,
                };
                self.grant(log, &id, e.buyer, g).await?;
            }
            AccessEvents::TimedAccess(e) => {
                let id = content_id_text(e.contentId);
                // Kind: 0 rental, 1 subscription (Access.Kind).
                let kind = if e.kind == 0 {
                    "rental"
                } else {
                    "subscription"
                };
                let expires = int(e.expiresAt, "expiresAt")?;
                let g = Grant {
                    kind,
                    paid: e.paid,
                    edition: None,
                    timed: Some((i64::from(e.periods), expires, e.renewed)),
                };
                self.grant(log, &id, e.account, g).await?;
                // The latest event of the range wins, as the contract's `expiresAt` does.
                self.expiry.insert((address_text(e.account), id), expires);
            }
            AccessEvents::TransferSingle(e) => {
                let id = content_id_text(e.id);
                let value = small(log, "TransferSingle", e.value)?;
                self.move_access(&id, e.from, e.to, value).await?;
            }
            AccessEvents::TransferBatch(e) => {
                for (id, value) in e.ids.iter().zip(e.values.iter()) {
                    let value = small(log, "TransferBatch", *value)?;
                    self.move_access(&content_id_text(*id), e.from, e.to, value)
                        .await?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    async fn market(&mut self, log: &ChainLog, ev: MarketEvents) -> Result<(), IndexerError> {
        match ev {
            MarketEvents::Listed(e) => {
                let order = Order {
                    id: e.listingId,
                    party: e.seller,
                    collection: e.collection,
                    content: e.contentId,
                    amount: e.amount,
                    unit_price: e.unitPrice,
                };
                self.open_order(Side::Listing, log, "Listed", order).await?;
            }
            MarketEvents::ListingCancelled(e) => {
                let id = small(log, "ListingCancelled", e.listingId)?;
                self.cancel_order(Side::Listing, id, None).await?;
            }
            MarketEvents::OfferMade(e) => {
                let order = Order {
                    id: e.offerId,
                    party: e.buyer,
                    collection: e.collection,
                    content: e.contentId,
                    amount: e.amount,
                    unit_price: e.unitPrice,
                };
                self.open_order(Side::Offer, log, "OfferMade", order)
                    .await?;
            }
            MarketEvents::OfferCancelled(e) => {
                let id = small(log, "OfferCancelled", e.offerId)?;
                self.cancel_order(Side::Offer, id, Some(e.refunded)).await?;
            }
            MarketEvents::Traded(e) => {
                let amount = small(log, "Traded", e.amount)?;
                let listing = small(log, "Traded", e.listingId)?;
                let offer = small(log, "Traded", e.offerId)?;
                let unit_price = if e.amount.is_zero() {
                    U256::ZERO
                } else {
                    e.price / e.amount
                };
                let mut row = event_position(log)?;
                row.extend([
                    Val::from((listing != 0).then_some(listing)),
                    Val::from((offer != 0).then_some(offer)),
                    Val::from(self.collection(e.collection)),
                    Val::from(content_id_text(e.contentId)),
                    Val::from(address_text(e.seller)),
                    Val::from(address_text(e.buyer)),
                    Val::from(amount),
                    Val::from(amount_text(e.price)),
                    Val::from(amount_text(unit_price)),
                    Val::from(amount_text(e.royalty)),
                ]);
                self.defer("INSERT INTO trades (block_hash, log_index, block_number, block_time, tx_hash, listing_id, offer_id, collection, content_id, seller, buyer, amount, price, unit_price, royalty)", row);
                let (side, id) = if listing != 0 {
                    (Side::Listing, listing)
                } else {
                    (Side::Offer, offer)
                };
                let (table, key) = (side.table(), side.id_column());
                sqlx::query(&format!(
                    "UPDATE {table} SET remaining = remaining - $2, \
                     status = CASE WHEN remaining - $2 <= 0 THEN 'filled' ELSE status END \
                     WHERE {key} = $1"
                ))
                .bind(id)
                .bind(amount)
                .execute(&mut *self.conn)
                .await?;
            }
            _ => {}
        }
        Ok(())
    }

    /// A new listing or offer: open, nothing filled yet.
    async fn open_order(
        &mut self,
        side: Side,
        log: &ChainLog,
        event: &'static str,
        o: Order,
    ) -> Result<(), IndexerError> {
        let (table, key, party) = (side.table(), side.id_column(), side.party_column());
        let amount = small(log, event, o.amount)?;
        sqlx::query(&format!(
            "INSERT INTO {table} ({key}, {party}, collection, content_id, amount, remaining, \
             unit_price, status, block_number, block_time) \
             VALUES ($1, $2, $3, $4, $5, $5, $6, 'open', $7, $8) ON CONFLICT DO NOTHING"
        ))
        .bind(small(log, event, o.id)?)
        .bind(address_text(o.party))
        .bind(self.collection(o.collection))
        .bind(content_id_text(o.content))
        .bind(amount)
        .bind(amount_text(o.unit_price))
        .bind(int(log.block_number, "block number")?)
        .bind(int(log.block_time, "block time")?)
        .execute(&mut *self.conn)
        .await?;
        Ok(())
    }

    /// A cancelled listing, or a cancelled offer with the escrow it refunded.
    async fn cancel_order(
        &mut self,
        side: Side,
        id: i64,
        refunded: Option<U256>,
    ) -> Result<(), IndexerError> {
        let (table, key) = (side.table(), side.id_column());
        match refunded {
            None => {
                sqlx::query(&format!(
                    "UPDATE {table} SET status = 'cancelled' WHERE {key} = $1"
                ))
                .bind(id)
                .execute(&mut *self.conn)
                .await?
            }
            Some(refunded) => {
                sqlx::query(&format!(
                    "UPDATE {table} SET status = 'cancelled', refunded = $2 WHERE {key} = $1"
                ))
                .bind(id)
                .bind(amount_text(refunded))
                .execute(&mut *self.conn)
                .await?
            }
        };
        Ok(())
    }

    /// Writes the queued rows and the cached totals and records back.
    async fn flush(&mut self) -> Result<(), IndexerError> {
        for (head, rows) in std::mem::take(&mut self.deferred) {
            insert_rows(self.conn, head, "ON CONFLICT DO NOTHING", &rows).await?;
        }
        for (id, c) in self.contents.iter().filter(|(_, c)| c.dirty) {
            sqlx::query(
                "UPDATE contents SET revenue_per_share = $2, revenue_total = $3, sales = $4, \
                 editions_sold = $5 WHERE content_id = $1",
            )
            .bind(id)
            .bind(amount_text(c.revenue_per_share))
            .bind(amount_text(c.revenue_total))
            .bind(c.sales)
            .bind(c.editions_sold)
            .execute(&mut *self.conn)
            .await?;
        }
        let holders: Vec<Vec<Val>> = self
            .holders
            .iter()
            .filter(|(_, (_, dirty))| *dirty)
            .map(|((id, account), (h, _))| {
                vec![
                    Val::from(id),
                    Val::from(account),
                    Val::from(h.shares as i64),
                    Val::from(amount_text(h.checkpoint)),
                    Val::from(amount_text(h.owed)),
                ]
            })
            .collect();
        insert_rows(
            self.conn,
            "INSERT INTO royalty_holders (content_id, account, shares, checkpoint, owed)",
            "ON CONFLICT (content_id, account) DO UPDATE SET shares = excluded.shares, \
             checkpoint = excluded.checkpoint, owed = excluded.owed",
            &holders,
        )
        .await?;
        let tokens: Vec<Vec<Val>> = self
            .access_tokens
            .iter()
            .filter(|(_, (_, dirty))| *dirty)
            .map(|((account, id), (balance, _))| {
                vec![Val::from(account), Val::from(id), Val::from(*balance)]
            })
            .collect();
        insert_rows(
            self.conn,
            "INSERT INTO access_tokens (account, content_id, balance)",
            "ON CONFLICT (account, content_id) DO UPDATE SET balance = excluded.balance",
            &tokens,
        )
        .await?;
        let expiry: Vec<Vec<Val>> = self
            .expiry
            .iter()
            .map(|((account, id), expires)| {
                vec![Val::from(account), Val::from(id), Val::from(*expires)]
            })
            .collect();
        insert_rows(
            self.conn,
            "INSERT INTO access_expiry (account, content_id, expires_at)",
            "ON CONFLICT (account, content_id) DO UPDATE SET expires_at = excluded.expires_at",
            &expiry,
        )
        .await?;
        self.contents.clear();
        self.holders.clear();
        self.access_tokens.clear();
        self.expiry.clear();
        Ok(())
    }
}

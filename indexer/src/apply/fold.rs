//! The fold's cache for one range: the content totals, holder records and token balances every
//! sale and transfer touches, read once and written back once when the range ends.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;

use alloy::primitives::{Address, U256};
use contracts_bindings::Contracts;
use sqlx::{AnyConnection, Row};

use super::batch::{insert_rows, Val};
use crate::db::{address_text, amount_text, parse_amount, HolderRecord};
use crate::error::IndexerError;

/// A content's running totals, cached for the range and written back at its end.
#[derive(Debug, Clone)]
pub(super) struct ContentTotals {
    pub(super) creator: String,
    pub(super) revenue_per_share: U256,
    pub(super) revenue_total: U256,
    pub(super) sales: i64,
    pub(super) editions_sold: i64,
}

/// A row cached for the range, and whether the range changed it (only then is it written back).
#[derive(Debug, Clone)]
pub(super) struct Cached<T> {
    value: T,
    dirty: bool,
}

impl<T> Cached<T> {
    fn clean(value: T) -> Self {
        Self {
            value,
            dirty: false,
        }
    }

    /// The row as read, or as the range last changed it.
    pub(super) fn get(&self) -> &T {
        &self.value
    }

    /// Changes the row; it is written back when the range ends.
    pub(super) fn update<R>(&mut self, change: impl FnOnce(&mut T) -> R) -> R {
        self.dirty = true;
        change(&mut self.value)
    }
}

/// The rows of `cache` the range changed.
fn changed<K, T>(cache: &HashMap<K, Cached<T>>) -> impl Iterator<Item = (&K, &T)> {
    cache
        .iter()
        .filter(|(_, c)| c.dirty)
        .map(|(k, c)| (k, &c.value))
}

/// `key`'s row in `cache`, read by `load` the first time the range asks for it.
async fn cached<K: Hash + Eq, T>(
    cache: &mut HashMap<K, Cached<T>>,
    key: K,
    load: impl Future<Output = Result<T, IndexerError>>,
) -> Result<&mut Cached<T>, IndexerError> {
    Ok(match cache.entry(key) {
        Entry::Occupied(e) => e.into_mut(),
        Entry::Vacant(e) => e.insert(Cached::clean(load.await?)),
    })
}

/// The fold's state for one range: the rows every sale and transfer touches, cached so that a
/// content or holder hit many times in a range is read once and written once.
pub(super) struct Fold<'c> {
    pub(super) conn: &'c mut AnyConnection,
    pub(super) contracts: Contracts,
    contents: HashMap<String, Cached<ContentTotals>>,
    holders: HashMap<(String, String), Cached<HolderRecord>>,
    access_tokens: HashMap<(String, String), Cached<i64>>,
    /// Timed-access expiry set in this range, per (account, content).
    pub(super) expiry: HashMap<(String, String), i64>,
    /// Append-only rows (sales, claims, fills, transfers), written in batches at the end.
    pub(super) deferred: Vec<(&'static str, Vec<Vec<Val>>)>,
}

impl<'c> Fold<'c> {
    pub(super) fn new(conn: &'c mut AnyConnection, contracts: Contracts) -> Self {
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
    pub(super) fn defer(&mut self, head: &'static str, row: Vec<Val>) {
        match self.deferred.iter_mut().find(|(h, _)| *h == head) {
            Some((_, rows)) => rows.push(row),
            None => self.deferred.push((head, vec![row])),
        }
    }

    /// A registered content's totals (`None` before its registration, which is not cached: the
    /// range may register it later).
    pub(super) async fn content(
        &mut self,
        id: &str,
    ) -> Result<Option<&mut Cached<ContentTotals>>, IndexerError> {
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
            };
            self.contents.insert(id.to_owned(), Cached::clean(totals));
        }
        Ok(self.contents.get_mut(id))
    }

    /// The content's revenue per share (0 before registration, as the contract's view says).
    pub(super) async fn revenue_per_share(&mut self, id: &str) -> Result<U256, IndexerError> {
        Ok(self
            .content(id)
            .await?
            .map(|c| c.get().revenue_per_share)
            .unwrap_or_default())
    }

    /// `account`'s holder record of content `id` (a zero record if it never held any).
    pub(super) async fn holder(
        &mut self,
        id: &str,
        account: &str,
    ) -> Result<&mut Cached<HolderRecord>, IndexerError> {
        let conn = &mut *self.conn;
        let load = async move {
            let row = sqlx::query(
                "SELECT shares, checkpoint, owed FROM royalty_holders \
                 WHERE content_id = $1 AND account = $2",
            )
            .bind(id)
            .bind(account)
            .fetch_optional(conn)
            .await?;
            Ok(match row {
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
            })
        };
        cached(&mut self.holders, (id.to_owned(), account.to_owned()), load).await
    }

    /// `account`'s balance of content `id`'s access tokens.
    pub(super) async fn access_token(
        &mut self,
        account: &str,
        id: &str,
    ) -> Result<&mut Cached<i64>, IndexerError> {
        let conn = &mut *self.conn;
        let load = async move {
            let balance: Option<i64> = sqlx::query(
                "SELECT balance FROM access_tokens WHERE account = $1 AND content_id = $2",
            )
            .bind(account)
            .bind(id)
            .fetch_optional(conn)
            .await?
            .map(|r| r.try_get(0))
            .transpose()?;
            Ok(balance.unwrap_or(0))
        };
        let key = (account.to_owned(), id.to_owned());
        cached(&mut self.access_tokens, key, load).await
    }

    pub(super) fn collection(&self, address: Address) -> String {
        if address == self.contracts.royalty_shares {
            "shares".into()
        } else if address == self.contracts.access {
            "access".into()
        } else {
            address_text(address)
        }
    }

    /// Writes the queued rows and the cached totals and records back.
    pub(super) async fn flush(&mut self) -> Result<(), IndexerError> {
        for (head, rows) in std::mem::take(&mut self.deferred) {
            insert_rows(self.conn, head, "ON CONFLICT DO NOTHING", &rows).await?;
        }
        for (id, c) in changed(&self.contents) {
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
        let holders: Vec<Vec<Val>> = changed(&self.holders)
            .map(|((id, account), h)| {
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
        let tokens: Vec<Vec<Val>> = changed(&self.access_tokens)
            .map(|((account, id), balance)| {
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

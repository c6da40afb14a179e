//! Live reads: the sales, trades and order-book changes indexed after a position, in chain
//! order, for streams that poll the index (the market API's live events).

use alloy::primitives::U256;
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::{FromRow, Row};
use utoipa::ToSchema;

use super::contents::{SaleRow, SALE_COLUMNS};
use super::market::{TradeRow, TRADE_COLUMNS};
use crate::db::Db;
use crate::error::IndexerError;

/// A position in the chain's event order: `(block_number, log_index)`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    pub block: i64,
    pub log: i64,
}

/// A listing or an offer placed or cancelled (fills are trades).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OrderChange {
    pub block_number: u64,
    pub log_index: u64,
    /// `listed`, `listing_cancelled`, `offered` or `offer_cancelled`.
    pub change: String,
    /// The listing's or offer's id.
    pub order_id: u64,
    /// `0x` + 64 hex digits.
    pub content_id: String,
    /// `shares` or `access`.
    pub collection: String,
}

/// The market's order events, their change names and the table of their orders.
const ORDER_EVENTS: [(&str, &str, &str); 4] = [
    ("Listed", "listed", "listings"),
    ("ListingCancelled", "listing_cancelled", "listings"),
    ("OfferMade", "offered", "offers"),
    ("OfferCancelled", "offer_cancelled", "offers"),
];

impl Db {
    /// The first `limit` order-book changes after `after`, in chain order: the market's
    /// `Listed`, `ListingCancelled`, `OfferMade` and `OfferCancelled` logs (kept in
    /// `raw_events`, which a reorganisation rolls back with everything else), each with the
    /// content and collection of its order.
    pub async fn order_changes_after(
        &self,
        after: Position,
        limit: u32,
    ) -> Result<Vec<OrderChange>, IndexerError> {
        let rows = sqlx::query(
            "SELECT block_number, log_index, name, topics FROM raw_events \
             WHERE name IN ('Listed', 'ListingCancelled', 'OfferMade', 'OfferCancelled') \
               AND (block_number > $1 OR (block_number = $1 AND log_index > $2)) \
             ORDER BY block_number, log_index LIMIT $3",
        )
        .bind(after.block)
        .bind(after.log)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        let mut changes = Vec::with_capacity(rows.len());
        for r in rows {
            let name: String = r.try_get("name")?;
            let topics: String = r.try_get("topics")?;
            let Some((_, change, table)) = ORDER_EVENTS.iter().find(|(n, ..)| *n == name) else {
                continue;
            };
            // topics[1] is the indexed order id of all four events.
            let id = topics
                .split(',')
                .nth(1)
                .and_then(|t| U256::from_str_radix(t.trim_start_matches("0x"), 16).ok())
                .and_then(|id| i64::try_from(id).ok())
                .ok_or_else(|| IndexerError::Corrupt {
                    table: "raw_events",
                    column: "topics",
                    value: topics.chars().take(80).collect(),
                })?;
            let key = if *table == "listings" {
                "listing_id"
            } else {
                "offer_id"
            };
            let order: Option<(String, String)> = sqlx::query_as(&format!(
                "SELECT content_id, collection FROM {table} WHERE {key} = $1"
            ))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
            // An order event whose order was not folded (a foreign collection) is not news.
            let Some((content_id, collection)) = order else {
                continue;
            };
            changes.push(OrderChange {
                block_number: super::count(r.try_get("block_number")?),
                log_index: super::count(r.try_get("log_index")?),
                change: (*change).to_owned(),
                order_id: super::count(id),
                content_id,
                collection,
            });
        }
        Ok(changes)
    }

    /// The first `limit` sales after `after`, in chain order.
    pub async fn sales_after(
        &self,
        after: Position,
        limit: u32,
    ) -> Result<Vec<SaleRow>, IndexerError> {
        self.rows_after("access_grants", SALE_COLUMNS, after, limit)
            .await
    }

    /// The first `limit` trades after `after`, in chain order.
    pub async fn trades_after(
        &self,
        after: Position,
        limit: u32,
    ) -> Result<Vec<TradeRow>, IndexerError> {
        self.rows_after("trades", TRADE_COLUMNS, after, limit).await
    }

    /// The first `limit` rows of a per-event `table` after `after`, in chain order.
    async fn rows_after<T>(
        &self,
        table: &str,
        columns: &str,
        after: Position,
        limit: u32,
    ) -> Result<Vec<T>, IndexerError>
    where
        T: for<'r> FromRow<'r, AnyRow> + Send + Unpin,
    {
        Ok(sqlx::query_as(&format!(
            "SELECT {columns} FROM {table} \
             WHERE block_number > $1 OR (block_number = $1 AND log_index > $2) \
             ORDER BY block_number, log_index LIMIT $3"
        ))
        .bind(after.block)
        .bind(after.log)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?)
    }

    /// A page of a per-event `table`'s rows whose text columns `keys` equal their values,
    /// before the position `before` (block, log index; exclusive), newest first: at most
    /// `limit` rows, and whether more follow.
    pub(super) async fn rows_before<T>(
        &self,
        table: &str,
        columns: &str,
        keys: &[(&str, &str)],
        before: (i64, i64),
        limit: u32,
    ) -> Result<(Vec<T>, bool), IndexerError>
    where
        T: for<'r> FromRow<'r, AnyRow> + Send + Unpin,
    {
        let filter: String = keys
            .iter()
            .enumerate()
            .map(|(i, (column, _))| format!("{column} = ${} AND ", i + 1))
            .collect();
        let (b, l, n) = (keys.len() + 1, keys.len() + 2, keys.len() + 3);
        let sql = format!(
            "SELECT {columns} FROM {table} WHERE {filter}\
             (block_number < ${b} OR (block_number = ${b} AND log_index < ${l})) \
             ORDER BY block_number DESC, log_index DESC LIMIT ${n}"
        );
        let mut query = sqlx::query_as(&sql);
        for (_, value) in keys {
            query = query.bind(*value);
        }
        let mut items: Vec<T> = query
            .bind(before.0)
            .bind(before.1)
            .bind(i64::from(limit) + 1)
            .fetch_all(self.pool())
            .await?;
        let more = items.len() > limit as usize;
        items.truncate(limit as usize);
        Ok((items, more))
    }
}

//! Live reads: the sales and trades indexed after a position, in chain order, for streams that
//! poll the index (the market API's live events).

use sqlx::any::AnyRow;
use sqlx::FromRow;

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

impl Db {
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
}

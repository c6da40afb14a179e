//! The index's read queries, behind typed functions: what the market API (and anyone else
//! reading the index) asks, answered as plain row structs, so no reader depends on the tables'
//! columns or their order.
//!
//! One file per resource: `contents` (the catalogue, one content and its cap table, sales and
//! revenue and its history per share, the contents a facts table has no row for), `accounts` (a library), `market` (order books, trades, trade prices), `live` (the
//! sales and trades after a position, for live streams). Earnings stay in [`crate::db`]
//! ([`crate::Db::earnings`]): they are the accounting model's mirror, not a plain read.
//!
//! Every function is a method of [`crate::Db`]; values keep the index's text forms (lowercase
//! `0x` hex, canonical decimal amounts). Counts are never negative in the index; one that were
//! reads as 0.
//!
//! The rows a reader shows as they are serialize (serde) to exactly the market API's JSON and
//! carry its OpenAPI schemas (utoipa, under the API's schema names), so the API answers with
//! them instead of restating every field in types of its own. What only locates a row (its
//! content, its place in the chain's event order) stays beside the shown part: [`SaleRow`]
//! holds a [`Sale`], [`TradeRow`] a [`Trade`].

mod accounts;
mod contents;
mod live;
mod market;

use sqlx::any::AnyRow;
use sqlx::Row;

pub use accounts::{ClaimRow, ClaimsPage, LibraryRow};
pub use contents::{
    CapTableRow, CatalogueFilter, CataloguePage, ContentRecord, ContentRow, Distribution,
    DistributionHistory, FactlessContent, Offered, RevenueRow, Sale, SaleRow, TermsRow,
};
pub use live::{OrderChange, Position};
pub use market::{Book, Collection, OrderRow, Trade, TradePrice, TradeRow, TradesPage};

/// A table of catalogue facts the chain does not hold (title, creator name, kind, MIME type),
/// kept by another service beside the index and joined into content reads by `content_id`.
///
/// The index does not own it: the service that fills it names it (the market API's is
/// `api_content_meta`, in `market-api/migrations/`). It must have the columns `content_id`,
/// `title`, `creator_name`, `kind`, `mime_type`, `description` and (nullable)
/// `thumbnail_type` and `preview_type` (TEXT); a content without a row reads as having no facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentFacts {
    /// The table's name (a constant of the owning service, never user input).
    pub table: &'static str,
}

/// A stored count as a u64 (negatives, which the index never holds, read as 0).
fn count(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// Count columns of a result row, by name (read as [`count`] does).
trait Counts {
    fn count(&self, column: &str) -> Result<u64, sqlx::Error>;
    /// A nullable count column.
    fn opt_count(&self, column: &str) -> Result<Option<u64>, sqlx::Error>;
}

impl Counts for AnyRow {
    fn count(&self, column: &str) -> Result<u64, sqlx::Error> {
        Ok(count(self.try_get(column)?))
    }

    fn opt_count(&self, column: &str) -> Result<Option<u64>, sqlx::Error> {
        Ok(self.try_get::<Option<i64>, _>(column)?.map(count))
    }
}

/// The highest indexed block's number and time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeadBlock {
    pub number: u64,
    /// Unix seconds.
    pub time: u64,
}

impl crate::Db {
    /// The highest indexed block with its time, if any (the time judges timed access as the
    /// chain does at that block).
    pub async fn head_block(&self) -> Result<Option<HeadBlock>, crate::IndexerError> {
        let row = sqlx::query(
            "SELECT block_number, block_time FROM blocks ORDER BY block_number DESC LIMIT 1",
        )
        .fetch_optional(self.pool())
        .await?;
        Ok(match row {
            Some(r) => Some(HeadBlock {
                number: r.count("block_number")?,
                time: r.count("block_time")?,
            }),
            None => None,
        })
    }
}

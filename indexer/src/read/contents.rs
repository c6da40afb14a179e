//! Contents: the catalogue (filtered, newest registrations first, keyset pages read in one
//! snapshot with the head they reflect), one content's record, and its renderers, cap table,
//! sales and revenue.

use alloy::primitives::U256;
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::{FromRow, Row};
use utoipa::ToSchema;

use super::{ContentFacts, Counts};
use crate::db::{amount_text, head_of, parse_amount, BlockRef, Db};
use crate::error::IndexerError;

/// A content's access terms, as last set on chain (amounts in base units).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = Terms, description = "Access terms, as last set on chain.")]
pub struct TermsRow {
    /// Perpetual price (0: not for sale).
    pub price: String,
    pub rent_price: String,
    /// Seconds per rental period.
    pub rent_period: u64,
    pub subscription_price: String,
    pub subscription_period: u64,
    /// 0: unlimited.
    pub max_editions: u64,
    pub resale_royalty_bps: u64,
}

/// A registered content with its catalogue facts (`None` when the facts table has no row).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = ContentSummary, description = "A catalogue entry.")]
pub struct ContentRow {
    pub content_id: String,
    pub creator: String,
    /// 0x000…000 for the native token.
    pub payment_token: String,
    pub cid: String,
    /// From the .ddrm header (the facts table); null while the facts are not known yet.
    pub title: Option<String>,
    pub creator_name: Option<String>,
    /// `media` or `data` (same provenance as `title`).
    pub kind: Option<String>,
    pub mime_type: Option<String>,
    /// The creator's description from the header ("" when it gives none).
    pub description: Option<String>,
    /// The MIME type of the header's thumbnail (`/v1/contents/{id}/thumbnail`); null when it
    /// has none.
    pub thumbnail_type: Option<String>,
    /// The MIME type of the creator's clear preview (`/v1/contents/{id}/preview`); null when
    /// there is none.
    pub preview_type: Option<String>,
    pub registered_block: u64,
    pub registered_time: u64,
    pub terms: TermsRow,
    /// All revenue distributed to holders' content so far (sales, resale royalties, sweeps).
    pub revenue_total: String,
    pub sales: u64,
    pub editions_sold: u64,
}

/// One content with what only its own page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentRecord {
    pub content: ContentRow,
    pub key_commitment: String,
    /// Cumulative revenue per share (base units per share).
    pub revenue_per_share: String,
}

/// A registered content the facts table has no row for: where its `.ddrm` is (the CID it
/// was registered with) and where it stands in registration order (the keyset of
/// [`Db::contents_without_facts`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FactlessContent {
    pub content_id: String,
    pub creator: String,
    pub cid: String,
    pub registered_block: u64,
}

impl FromRow<'_, AnyRow> for FactlessContent {
    fn from_row(r: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            content_id: r.try_get("content_id")?,
            creator: r.try_get("creator")?,
            cid: r.try_get("cid")?,
            registered_block: r.count("registered_block")?,
        })
    }
}

/// One royalty holder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = CapTableEntry)]
pub struct CapTableRow {
    pub account: String,
    /// Of 10,000.
    pub shares: u64,
}

impl FromRow<'_, AnyRow> for CapTableRow {
    fn from_row(r: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            account: r.try_get("account")?,
            shares: r.count("shares")?,
        })
    }
}

/// One access sale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Sale {
    pub block_number: u64,
    pub block_time: u64,
    pub tx_hash: String,
    pub account: String,
    /// `buy`, `rental` or `subscription`.
    pub kind: String,
    pub paid: String,
    pub edition: Option<u64>,
    pub periods: Option<u64>,
    pub expires_at: Option<u64>,
}

/// A sale with what locates it: its content and its log's index in its block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaleRow {
    pub content_id: String,
    pub log_index: u64,
    pub sale: Sale,
}

/// One distribution of revenue to a content's holders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = RevenueEvent)]
pub struct RevenueRow {
    pub block_number: u64,
    pub block_time: u64,
    pub tx_hash: String,
    pub payer: String,
    pub amount: String,
    pub fee: String,
    pub pool: String,
}

impl FromRow<'_, AnyRow> for RevenueRow {
    fn from_row(r: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            block_number: r.count("block_number")?,
            block_time: r.count("block_time")?,
            tx_hash: r.try_get("tx_hash")?,
            payer: r.try_get("payer")?,
            amount: r.try_get("amount")?,
            fee: r.try_get("fee")?,
            pool: r.try_get("pool")?,
        })
    }
}

/// One distribution of revenue to a content's holders, as its realised yield: what each of the
/// 10,000 shares earned by it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Distribution {
    pub block_number: u64,
    pub block_time: u64,
    /// Revenue paid in (before fees).
    pub amount: U256,
    /// Added to every share's earnings (base units per share).
    pub per_share: U256,
    /// The content's cumulative revenue per share just after it.
    pub cumulative_per_share: U256,
}

/// A content's latest distributions, oldest first, read in one snapshot with the head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DistributionHistory {
    pub head: Option<BlockRef>,
    /// The content's cumulative revenue per share now (that of the last distribution).
    pub revenue_per_share: U256,
    pub distributions: Vec<Distribution>,
}

/// How a content is offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Offered {
    Buy,
    Rent,
    Subscribe,
}

/// Which contents a catalogue page holds. Two equal filters read the same page at the same
/// head (callers key caches by it).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CatalogueFilter {
    /// Searched case-insensitively and literally (no wildcards) in titles, creator names,
    /// content ids, creator addresses and CIDs.
    pub text: Option<String>,
    /// The facts' kind (`media` or `data`).
    pub kind: Option<String>,
    /// The creator's address, lowercase `0x` hex.
    pub creator: Option<String>,
    /// The payment token's address, lowercase `0x` hex (the zero address: the native token).
    pub payment_token: Option<String>,
    pub offered: Option<Offered>,
    /// Bounds of the perpetual price, inclusive.
    pub min_price: Option<U256>,
    pub max_price: Option<U256>,
    /// Only contents after this `(registered_block, content_id)` in the catalogue's order (the
    /// last item of the previous page).
    pub after: Option<(i64, String)>,
    /// Most items in the page.
    pub limit: u32,
}

/// A catalogue page and the head it reflects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CataloguePage {
    pub head: Option<BlockRef>,
    pub items: Vec<ContentRow>,
    /// Whether more contents follow the last item.
    pub more: bool,
}

/// The columns a [`ContentRow`] is read from (contents `c`, facts `m`).
const CONTENT_COLUMNS: &str = "c.content_id, c.creator, c.payment_token, c.cid, m.title, \
    m.creator_name, m.kind, m.mime_type, m.description, m.thumbnail_type, m.preview_type, \
    c.registered_block, c.registered_time, c.price, \
    c.rent_price, c.rent_period, c.subscription_price, c.subscription_period, c.max_editions, \
    c.resale_royalty_bps, c.revenue_total, c.sales, c.editions_sold";

impl FromRow<'_, AnyRow> for ContentRow {
    fn from_row(r: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(ContentRow {
            content_id: r.try_get("content_id")?,
            creator: r.try_get("creator")?,
            payment_token: r.try_get("payment_token")?,
            cid: r.try_get("cid")?,
            title: r.try_get("title")?,
            creator_name: r.try_get("creator_name")?,
            kind: r.try_get("kind")?,
            mime_type: r.try_get("mime_type")?,
            description: r.try_get("description")?,
            thumbnail_type: r.try_get("thumbnail_type")?,
            preview_type: r.try_get("preview_type")?,
            registered_block: r.count("registered_block")?,
            registered_time: r.count("registered_time")?,
            terms: TermsRow {
                price: r.try_get("price")?,
                rent_price: r.try_get("rent_price")?,
                rent_period: r.count("rent_period")?,
                subscription_price: r.try_get("subscription_price")?,
                subscription_period: r.count("subscription_period")?,
                max_editions: r.count("max_editions")?,
                resale_royalty_bps: r.count("resale_royalty_bps")?,
            },
            revenue_total: r.try_get("revenue_total")?,
            sales: r.count("sales")?,
            editions_sold: r.count("editions_sold")?,
        })
    }
}

/// The columns a [`SaleRow`] (or a [`Sale`]) is read from.
pub(super) const SALE_COLUMNS: &str = "block_number, block_time, log_index, tx_hash, \
    content_id, account, kind, paid, edition, periods, expires_at";

impl FromRow<'_, AnyRow> for Sale {
    fn from_row(r: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Sale {
            block_number: r.count("block_number")?,
            block_time: r.count("block_time")?,
            tx_hash: r.try_get("tx_hash")?,
            account: r.try_get("account")?,
            kind: r.try_get("kind")?,
            paid: r.try_get("paid")?,
            edition: r.opt_count("edition")?,
            periods: r.opt_count("periods")?,
            expires_at: r.opt_count("expires_at")?,
        })
    }
}

impl FromRow<'_, AnyRow> for SaleRow {
    fn from_row(r: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(SaleRow {
            content_id: r.try_get("content_id")?,
            log_index: r.count("log_index")?,
            sale: Sale::from_row(r)?,
        })
    }
}

/// A value bound to a catalogue query's parameter.
enum Bind {
    Text(String),
    Int(i64),
}

/// Escapes LIKE wildcards so a search text matches literally.
fn like_pattern(text: &str) -> String {
    let mut p = String::from("%");
    for ch in text.to_lowercase().chars() {
        if matches!(ch, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(ch);
    }
    p.push('%');
    p
}

impl CatalogueFilter {
    /// The page's query (one row more than the page, to know whether another follows).
    fn sql(&self, facts: ContentFacts) -> (String, Vec<Bind>) {
        let mut sql = format!(
            "SELECT {CONTENT_COLUMNS} FROM contents c \
             LEFT JOIN {} m ON m.content_id = c.content_id WHERE 1 = 1",
            facts.table
        );
        let mut binds: Vec<Bind> = Vec::new();
        let param = |binds: &mut Vec<Bind>, b: Bind| {
            binds.push(b);
            format!("${}", binds.len())
        };
        if let Some(text) = &self.text {
            let p = param(&mut binds, Bind::Text(like_pattern(text)));
            sql += &format!(
                " AND (lower(COALESCE(m.title, '')) LIKE {p} ESCAPE '\\' \
                   OR lower(COALESCE(m.creator_name, '')) LIKE {p} ESCAPE '\\' \
                   OR c.content_id LIKE {p} ESCAPE '\\' OR c.creator LIKE {p} ESCAPE '\\' \
                   OR lower(c.cid) LIKE {p} ESCAPE '\\')"
            );
        }
        if let Some(kind) = &self.kind {
            let p = param(&mut binds, Bind::Text(kind.clone()));
            sql += &format!(" AND m.kind = {p}");
        }
        if let Some(creator) = &self.creator {
            let p = param(&mut binds, Bind::Text(creator.clone()));
            sql += &format!(" AND c.creator = {p}");
        }
        if let Some(token) = &self.payment_token {
            let p = param(&mut binds, Bind::Text(token.clone()));
            sql += &format!(" AND c.payment_token = {p}");
        }
        match self.offered {
            None => {}
            Some(Offered::Buy) => sql += " AND c.price <> '0'",
            Some(Offered::Rent) => sql += " AND c.rent_price <> '0'",
            Some(Offered::Subscribe) => sql += " AND c.subscription_price <> '0'",
        }
        // Numeric order of canonical decimal text: shorter is smaller, equal length compares as text.
        if let Some(v) = self.min_price.map(amount_text) {
            let len = param(&mut binds, Bind::Int(v.len() as i64));
            let p = param(&mut binds, Bind::Text(v));
            sql += &format!(
                " AND (length(c.price) > {len} OR (length(c.price) = {len} AND c.price >= {p}))"
            );
        }
        if let Some(v) = self.max_price.map(amount_text) {
            let len = param(&mut binds, Bind::Int(v.len() as i64));
            let p = param(&mut binds, Bind::Text(v));
            sql += &format!(
                " AND (length(c.price) < {len} OR (length(c.price) = {len} AND c.price <= {p}))"
            );
        }
        if let Some((block, id)) = &self.after {
            let b = param(&mut binds, Bind::Int(*block));
            let i = param(&mut binds, Bind::Text(id.clone()));
            sql += &format!(
                " AND (c.registered_block < {b} OR (c.registered_block = {b} AND c.content_id < {i}))"
            );
        }
        let l = param(&mut binds, Bind::Int(i64::from(self.limit) + 1));
        sql += &format!(" ORDER BY c.registered_block DESC, c.content_id DESC LIMIT {l}");
        (sql, binds)
    }
}

impl Db {
    /// The catalogue page of `filter` and the head it reflects, read in one snapshot
    /// ([`Db::begin_snapshot`]).
    pub async fn catalogue_page(
        &self,
        facts: ContentFacts,
        filter: &CatalogueFilter,
    ) -> Result<CataloguePage, IndexerError> {
        let (sql, binds) = filter.sql(facts);
        let mut query = sqlx::query(&sql);
        for b in binds {
            query = match b {
                Bind::Text(t) => query.bind(t),
                Bind::Int(i) => query.bind(i),
            };
        }
        let mut tx = self.begin_snapshot().await?;
        let rows = query.fetch_all(&mut *tx).await?;
        let head = head_of(&mut *tx).await?;
        tx.rollback().await?;
        let mut items = rows
            .iter()
            .map(ContentRow::from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let limit = filter.limit as usize;
        let more = items.len() > limit;
        items.truncate(limit);
        Ok(CataloguePage { head, items, more })
    }

    /// One content (content id as the index stores it), if registered.
    pub async fn content(
        &self,
        facts: ContentFacts,
        content_id: &str,
    ) -> Result<Option<ContentRecord>, IndexerError> {
        let row = sqlx::query(&format!(
            "SELECT {CONTENT_COLUMNS}, c.key_commitment, c.revenue_per_share FROM contents c \
             LEFT JOIN {} m ON m.content_id = c.content_id WHERE c.content_id = $1",
            facts.table
        ))
        .bind(content_id)
        .fetch_optional(self.pool())
        .await?;
        let Some(r) = row else { return Ok(None) };
        Ok(Some(ContentRecord {
            content: ContentRow::from_row(&r)?,
            key_commitment: r.try_get("key_commitment")?,
            revenue_per_share: r.try_get("revenue_per_share")?,
        }))
    }

    /// Up to `limit` registered contents without a row in `facts`, oldest registration first,
    /// after `after` (the `(registered_block, content_id)` of the last one of the previous
    /// call): what a service filling `facts` from the contents' headers has left to do.
    pub async fn contents_without_facts(
        &self,
        facts: ContentFacts,
        after: Option<(u64, &str)>,
        limit: u32,
    ) -> Result<Vec<FactlessContent>, IndexerError> {
        let (block, id) = after.unwrap_or((0, ""));
        let block = i64::try_from(block).unwrap_or(i64::MAX);
        Ok(sqlx::query_as(&format!(
            "SELECT c.content_id, c.creator, c.cid, c.registered_block FROM contents c \
             LEFT JOIN {} m ON m.content_id = c.content_id \
             WHERE m.content_id IS NULL \
               AND (c.registered_block > $1 OR (c.registered_block = $1 AND c.content_id > $2)) \
             ORDER BY c.registered_block, c.content_id LIMIT $3",
            facts.table
        ))
        .bind(block)
        .bind(id)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?)
    }

    /// The latest `limit` revenue distributions of a content with the cumulative revenue per
    /// share after each (oldest first), or `None` when it is not registered. The cumulative
    /// values are the content's current one minus the distributions after each row (the index
    /// adds every distribution's `per_share` to it), so they are exact even when older
    /// distributions are left out; rows, content and head come from one snapshot.
    pub async fn distribution_history(
        &self,
        content_id: &str,
        limit: u32,
    ) -> Result<Option<DistributionHistory>, IndexerError> {
        let mut tx = self.begin_snapshot().await?;
        let rps: Option<String> =
            sqlx::query_scalar("SELECT revenue_per_share FROM contents WHERE content_id = $1")
                .bind(content_id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(rps) = rps else {
            tx.rollback().await?;
            return Ok(None);
        };
        let rows = sqlx::query(
            "SELECT block_number, block_time, amount, per_share FROM revenue \
             WHERE content_id = $1 ORDER BY block_number DESC, log_index DESC LIMIT $2",
        )
        .bind(content_id)
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await?;
        let head = head_of(&mut *tx).await?;
        tx.rollback().await?;
        let revenue_per_share = parse_amount("contents", "revenue_per_share", &rps)?;
        let mut cumulative = revenue_per_share;
        let mut distributions = Vec::with_capacity(rows.len());
        for r in &rows {
            let per_share = parse_amount(
                "revenue",
                "per_share",
                &r.try_get::<String, _>("per_share")?,
            )?;
            distributions.push(Distribution {
                block_number: r.count("block_number")?,
                block_time: r.count("block_time")?,
                amount: parse_amount("revenue", "amount", &r.try_get::<String, _>("amount")?)?,
                per_share,
                cumulative_per_share: cumulative,
            });
            cumulative = cumulative
                .checked_sub(per_share)
                .ok_or(IndexerError::Corrupt {
                    table: "revenue",
                    column: "per_share",
                    value: amount_text(per_share),
                })?;
        }
        distributions.reverse();
        Ok(Some(DistributionHistory {
            head,
            revenue_per_share,
            distributions,
        }))
    }

    /// The renderer measurements a content allows, in order.
    pub async fn renderers(&self, content_id: &str) -> Result<Vec<String>, IndexerError> {
        Ok(sqlx::query_scalar(
            "SELECT measurement FROM renderers WHERE content_id = $1 ORDER BY measurement",
        )
        .bind(content_id)
        .fetch_all(self.pool())
        .await?)
    }

    /// A content's current royalty holders, largest first.
    pub async fn cap_table(&self, content_id: &str) -> Result<Vec<CapTableRow>, IndexerError> {
        Ok(sqlx::query_as(
            "SELECT account, shares FROM royalty_holders WHERE content_id = $1 AND shares > 0 \
             ORDER BY shares DESC, account",
        )
        .bind(content_id)
        .fetch_all(self.pool())
        .await?)
    }

    /// A content's latest `limit` sales, newest first.
    pub async fn recent_sales(
        &self,
        content_id: &str,
        limit: u32,
    ) -> Result<Vec<Sale>, IndexerError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {SALE_COLUMNS} FROM access_grants WHERE content_id = $1 \
             ORDER BY block_number DESC, log_index DESC LIMIT $2"
        ))
        .bind(content_id)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?)
    }

    /// A content's latest `limit` revenue distributions, newest first.
    pub async fn recent_revenue(
        &self,
        content_id: &str,
        limit: u32,
    ) -> Result<Vec<RevenueRow>, IndexerError> {
        Ok(sqlx::query_as(
            "SELECT block_number, block_time, tx_hash, payer, amount, fee, pool FROM revenue \
             WHERE content_id = $1 ORDER BY block_number DESC, log_index DESC LIMIT $2",
        )
        .bind(content_id)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?)
    }
}

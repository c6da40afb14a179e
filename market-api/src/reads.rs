//! The read endpoints, over the indexer's tables (`indexer/migrations/0001_index.sql`).
//!
//! Every list is bounded ([`crate::MAX_PAGE_SIZE`]); the catalogue and trades page by keyset
//! cursors (stable while new rows arrive). Amounts are decimal strings in base units (wei),
//! exact to any uint256; addresses and ids are lowercase 0x-hex as the index stores them.
//! Every answer names the indexed block it reflects (`as_of_block`).

use alloy::primitives::{Address, U256};
use std::time::Instant;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use indexer::db::BlockRef;
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiError, ErrorBody};
use crate::{AppState, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};

type Rejected<T> = Result<T, axum::extract::rejection::QueryRejection>;

/// Parses a content id path segment: `0x` + 64 hex digits (any case).
pub(crate) fn content_id_param(s: &str) -> Result<String, ApiError> {
    let h = s.strip_prefix("0x").unwrap_or("");
    if h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::bad(
            "a content id is 0x followed by 64 hex digits",
        ));
    }
    Ok(format!("0x{}", h.to_ascii_lowercase()))
}

fn address_param(s: &str) -> Result<String, ApiError> {
    let a: Address = s
        .parse()
        .map_err(|_| ApiError::bad("an account is 0x followed by 40 hex digits"))?;
    Ok(indexer::db::address_text(a))
}

fn page_size(limit: Option<u32>) -> Result<i64, ApiError> {
    match limit.unwrap_or(DEFAULT_PAGE_SIZE) {
        0 => Err(ApiError::bad("limit must be at least 1")),
        n if n > MAX_PAGE_SIZE => Err(ApiError::BadRequest(format!(
            "limit must be at most {MAX_PAGE_SIZE}"
        ))),
        n => Ok(i64::from(n)),
    }
}

/// A decimal amount filter: digits only, no leading zeros (the index's canonical form).
fn amount_param(name: &str, s: &str) -> Result<String, ApiError> {
    let v = U256::from_str_radix(s, 10)
        .ok()
        .filter(|_| !s.is_empty() && s.len() <= 78 && s.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| ApiError::BadRequest(format!("{name} must be a decimal integer")))?;
    Ok(v.to_string())
}

fn nonneg(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

async fn head(state: &AppState) -> Result<Option<u64>, ApiError> {
    Ok(state.config().db.head().await?.map(|b| b.number))
}

/// Access terms, as last set on chain.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Terms {
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

/// A catalogue entry.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ContentSummary {
    pub content_id: String,
    pub creator: String,
    /// 0x000…000 for the native token.
    pub payment_token: String,
    pub cid: String,
    /// From the .ddrm header when the content was uploaded through this API.
    pub title: Option<String>,
    pub creator_name: Option<String>,
    /// `media` or `data` (same provenance as `title`).
    pub kind: Option<String>,
    pub mime_type: Option<String>,
    pub registered_block: u64,
    pub registered_time: u64,
    pub terms: Terms,
    /// All revenue distributed to holders' content so far (sales, resale royalties, sweeps).
    pub revenue_total: String,
    pub sales: u64,
    pub editions_sold: u64,
}

const SUMMARY_COLUMNS: &str = "c.content_id, c.creator, c.payment_token, c.cid, m.title, \
    m.creator_name, m.kind, m.mime_type, c.registered_block, c.registered_time, c.price, \
    c.rent_price, c.rent_period, c.subscription_price, c.subscription_period, c.max_editions, \
    c.resale_royalty_bps, c.revenue_total, c.sales, c.editions_sold";

fn summary(r: &AnyRow) -> Result<ContentSummary, sqlx::Error> {
    Ok(ContentSummary {
        content_id: r.try_get(0)?,
        creator: r.try_get(1)?,
        payment_token: r.try_get(2)?,
        cid: r.try_get(3)?,
        title: r.try_get(4)?,
        creator_name: r.try_get(5)?,
        kind: r.try_get(6)?,
        mime_type: r.try_get(7)?,
        registered_block: nonneg(r.try_get(8)?),
        registered_time: nonneg(r.try_get(9)?),
        terms: Terms {
            price: r.try_get(10)?,
            rent_price: r.try_get(11)?,
            rent_period: nonneg(r.try_get(12)?),
            subscription_price: r.try_get(13)?,
            subscription_period: nonneg(r.try_get(14)?),
            max_editions: nonneg(r.try_get(15)?),
            resale_royalty_bps: nonneg(r.try_get(16)?),
        },
        revenue_total: r.try_get(17)?,
        sales: nonneg(r.try_get(18)?),
        editions_sold: nonneg(r.try_get(19)?),
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CatalogueQuery {
    /// Text searched in titles, creator names, content ids, creator addresses and CIDs.
    pub q: Option<String>,
    /// `media` or `data`.
    pub kind: Option<String>,
    /// The creator's address.
    pub creator: Option<String>,
    /// `buy`, `rent` or `subscribe`: only contents offered that way.
    pub access: Option<String>,
    /// Lowest perpetual price (decimal base units).
    pub min_price: Option<String>,
    /// Highest perpetual price (decimal base units).
    pub max_price: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to 100 (default 20).
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CataloguePage {
    pub items: Vec<ContentSummary>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
    pub as_of_block: Option<u64>,
}

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

/// Which contents are offered a given way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Offered {
    Buy,
    Rent,
    Subscribe,
}

/// A validated catalogue request in canonical form: two requests with the same filter get the
/// same page (the key of the catalogue's page cache).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CatalogueFilter {
    /// LIKE pattern of the lowercased search text.
    pattern: Option<String>,
    kind: Option<&'static str>,
    creator: Option<String>,
    access: Option<Offered>,
    min_price: Option<String>,
    max_price: Option<String>,
    cursor: Option<(i64, String)>,
    limit: i64,
}

impl CatalogueFilter {
    fn parse(q: CatalogueQuery) -> Result<Self, ApiError> {
        let limit = page_size(q.limit)?;
        let pattern = match q.q.as_deref().filter(|t| !t.is_empty()) {
            Some(text) if text.chars().count() > 100 => {
                return Err(ApiError::bad("q is at most 100 characters"))
            }
            Some(text) => Some(like_pattern(text)),
            None => None,
        };
        let kind = match q.kind.as_deref() {
            None => None,
            Some("media") => Some("media"),
            Some("data") => Some("data"),
            Some(_) => return Err(ApiError::bad("kind is media or data")),
        };
        let creator = q.creator.as_deref().map(address_param).transpose()?;
        let access = match q.access.as_deref() {
            None => None,
            Some("buy") => Some(Offered::Buy),
            Some("rent") => Some(Offered::Rent),
            Some("subscribe") => Some(Offered::Subscribe),
            Some(_) => return Err(ApiError::bad("access is buy, rent or subscribe")),
        };
        let min_price = q
            .min_price
            .as_deref()
            .map(|v| amount_param("min_price", v))
            .transpose()?;
        let max_price = q
            .max_price
            .as_deref()
            .map(|v| amount_param("max_price", v))
            .transpose()?;
        let cursor = match &q.cursor {
            None => None,
            Some(cursor) => Some(
                cursor
                    .split_once('.')
                    .and_then(|(b, id)| Some((b.parse::<i64>().ok()?, content_id_param(id).ok()?)))
                    .ok_or_else(|| ApiError::bad("malformed cursor"))?,
            ),
        };
        Ok(Self {
            pattern,
            kind,
            creator,
            access,
            min_price,
            max_price,
            cursor,
            limit,
        })
    }

    /// The page's query (one row more than the page, to know whether another follows).
    fn sql(&self) -> (String, Vec<Bind>) {
        let mut sql = format!(
            "SELECT {SUMMARY_COLUMNS} FROM contents c \
             LEFT JOIN api_content_meta m ON m.content_id = c.content_id WHERE 1 = 1"
        );
        let mut binds: Vec<Bind> = Vec::new();
        let param = |binds: &mut Vec<Bind>, b: Bind| {
            binds.push(b);
            format!("${}", binds.len())
        };
        if let Some(pattern) = &self.pattern {
            let p = param(&mut binds, Bind::Text(pattern.clone()));
            sql += &format!(
                " AND (lower(COALESCE(m.title, '')) LIKE {p} ESCAPE '\\' \
                   OR lower(COALESCE(m.creator_name, '')) LIKE {p} ESCAPE '\\' \
                   OR c.content_id LIKE {p} ESCAPE '\\' OR c.creator LIKE {p} ESCAPE '\\' \
                   OR lower(c.cid) LIKE {p} ESCAPE '\\')"
            );
        }
        if let Some(kind) = self.kind {
            let p = param(&mut binds, Bind::Text(kind.to_owned()));
            sql += &format!(" AND m.kind = {p}");
        }
        if let Some(creator) = &self.creator {
            let p = param(&mut binds, Bind::Text(creator.clone()));
            sql += &format!(" AND c.creator = {p}");
        }
        match self.access {
            None => {}
            Some(Offered::Buy) => sql += " AND c.price <> '0'",
            Some(Offered::Rent) => sql += " AND c.rent_price <> '0'",
            Some(Offered::Subscribe) => sql += " AND c.subscription_price <> '0'",
        }
        // Numeric order of canonical decimal text: shorter is smaller, equal length compares as text.
        if let Some(v) = &self.min_price {
            let len = param(&mut binds, Bind::Int(v.len() as i64));
            let p = param(&mut binds, Bind::Text(v.clone()));
            sql += &format!(
                " AND (length(c.price) > {len} OR (length(c.price) = {len} AND c.price >= {p}))"
            );
        }
        if let Some(v) = &self.max_price {
            let len = param(&mut binds, Bind::Int(v.len() as i64));
            let p = param(&mut binds, Bind::Text(v.clone()));
            sql += &format!(
                " AND (length(c.price) < {len} OR (length(c.price) = {len} AND c.price <= {p}))"
            );
        }
        if let Some((block, id)) = &self.cursor {
            let b = param(&mut binds, Bind::Int(*block));
            let i = param(&mut binds, Bind::Text(id.clone()));
            sql += &format!(
                " AND (c.registered_block < {b} OR (c.registered_block = {b} AND c.content_id < {i}))"
            );
        }
        let l = param(&mut binds, Bind::Int(self.limit + 1));
        sql += &format!(" ORDER BY c.registered_block DESC, c.content_id DESC LIMIT {l}");
        (sql, binds)
    }
}

/// Catalogue pages kept per indexed head (see [`crate::cache`]).
pub(crate) type CatalogueCache = crate::cache::PageCache<CatalogueFilter>;

/// A JSON answer from an already serialised body.
fn json_body(body: Bytes) -> Response {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

/// The page of `filter` and the head it reflects, read in one snapshot of the index.
async fn catalogue_page(
    state: &AppState,
    filter: &CatalogueFilter,
) -> Result<(Option<BlockRef>, CataloguePage), ApiError> {
    let (sql, binds) = filter.sql();
    let mut query = sqlx::query(&sql);
    for b in binds {
        query = match b {
            Bind::Text(t) => query.bind(t),
            Bind::Int(i) => query.bind(i),
        };
    }
    let mut tx = state.config().db.begin_snapshot().await?;
    let rows = query.fetch_all(&mut *tx).await?;
    let head = indexer::db::head_of(&mut *tx).await?;
    tx.rollback().await?;
    let mut items = rows.iter().map(summary).collect::<Result<Vec<_>, _>>()?;
    let next_cursor = if items.len() as i64 > filter.limit {
        items.truncate(filter.limit as usize);
        items
            .last()
            .map(|c| format!("{}.{}", c.registered_block, c.content_id))
    } else {
        None
    };
    let page = CataloguePage {
        items,
        next_cursor,
        as_of_block: head.as_ref().map(|h| h.number),
    };
    Ok((head, page))
}

/// The catalogue: newest registrations first.
///
/// Every request reads the indexed head; a page computed at that same head is served from the
/// cache, any other is read (with the head, in one snapshot), serialised once and cached.
#[utoipa::path(get, path = "/v1/contents", tag = "catalogue", params(CatalogueQuery),
    responses((status = 200, body = CataloguePage), (status = 400, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
pub async fn catalogue(
    State(state): State<AppState>,
    query: Rejected<Query<CatalogueQuery>>,
) -> Result<Response, ApiError> {
    let Query(q) = query?;
    let filter = CatalogueFilter::parse(q)?;
    let cache = &state.inner.catalogue_cache;
    if cache.enabled() {
        let head = state.config().db.head().await?;
        if let Some(body) = cache.get(&head, &filter, Instant::now()) {
            return Ok(json_body(body));
        }
    }
    let generation = cache.generation();
    let (head, page) = catalogue_page(&state, &filter).await?;
    let body = Bytes::from(serde_json::to_vec(&page).map_err(|e| ApiError::Internal {
        detail: format!("serialising a catalogue page: {e}"),
    })?);
    cache.insert(head, filter, body.clone(), generation, Instant::now());
    Ok(json_body(body))
}

/// One royalty holder.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CapTableEntry {
    pub account: String,
    /// Of 10,000.
    pub shares: u64,
}

/// One access sale.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
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

/// One distribution of revenue to a content's holders.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RevenueEvent {
    pub block_number: u64,
    pub block_time: u64,
    pub tx_hash: String,
    pub payer: String,
    pub amount: String,
    pub fee: String,
    pub pool: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ContentDetail {
    pub content: ContentSummary,
    pub key_commitment: String,
    pub renderers: Vec<String>,
    /// Cumulative revenue per share (base units per share).
    pub revenue_per_share: String,
    /// Current holders, largest first.
    pub cap_table: Vec<CapTableEntry>,
    /// The latest sales, newest first (at most 100).
    pub recent_sales: Vec<Sale>,
    /// The latest revenue distributions, newest first (at most 100).
    pub recent_revenue: Vec<RevenueEvent>,
    pub as_of_block: Option<u64>,
}

/// Most rows of a detail list.
const DETAIL_ROWS: i64 = 100;

pub(crate) fn sale_row(r: &AnyRow) -> Result<Sale, sqlx::Error> {
    Ok(Sale {
        block_number: nonneg(r.try_get(0)?),
        block_time: nonneg(r.try_get(1)?),
        tx_hash: r.try_get(2)?,
        account: r.try_get(3)?,
        kind: r.try_get(4)?,
        paid: r.try_get(5)?,
        edition: r.try_get::<Option<i64>, _>(6)?.map(nonneg),
        periods: r.try_get::<Option<i64>, _>(7)?.map(nonneg),
        expires_at: r.try_get::<Option<i64>, _>(8)?.map(nonneg),
    })
}

/// One content: terms, cap table, revenue and sales.
#[utoipa::path(get, path = "/v1/contents/{content_id}", tag = "catalogue",
    params(("content_id" = String, Path, description = "0x + 64 hex digits")),
    responses((status = 200, body = ContentDetail), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn content(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ContentDetail>, ApiError> {
    let id = content_id_param(&id)?;
    let pool = state.pool();
    let row = sqlx::query(&format!(
        "SELECT {SUMMARY_COLUMNS}, c.key_commitment, c.revenue_per_share FROM contents c \
         LEFT JOIN api_content_meta m ON m.content_id = c.content_id WHERE c.content_id = $1"
    ))
    .bind(&id)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| ApiError::NotFound(format!("no content {id}")))?;
    let content = summary(&row)?;
    let renderers = sqlx::query_scalar(
        "SELECT measurement FROM renderers WHERE content_id = $1 ORDER BY measurement",
    )
    .bind(&id)
    .fetch_all(pool)
    .await?;
    let cap_table = sqlx::query(
        "SELECT account, shares FROM royalty_holders WHERE content_id = $1 AND shares > 0 \
         ORDER BY shares DESC, account",
    )
    .bind(&id)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| {
        Ok(CapTableEntry {
            account: r.try_get(0)?,
            shares: nonneg(r.try_get(1)?),
        })
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let recent_sales = sqlx::query(
        "SELECT block_number, block_time, tx_hash, account, kind, paid, edition, periods, \
         expires_at FROM access_grants WHERE content_id = $1 \
         ORDER BY block_number DESC, log_index DESC LIMIT $2",
    )
    .bind(&id)
    .bind(DETAIL_ROWS)
    .fetch_all(pool)
    .await?
    .iter()
    .map(sale_row)
    .collect::<Result<Vec<_>, _>>()?;
    let recent_revenue = sqlx::query(
        "SELECT block_number, block_time, tx_hash, payer, amount, fee, pool FROM revenue \
         WHERE content_id = $1 ORDER BY block_number DESC, log_index DESC LIMIT $2",
    )
    .bind(&id)
    .bind(DETAIL_ROWS)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| {
        Ok(RevenueEvent {
            block_number: nonneg(r.try_get(0)?),
            block_time: nonneg(r.try_get(1)?),
            tx_hash: r.try_get(2)?,
            payer: r.try_get(3)?,
            amount: r.try_get(4)?,
            fee: r.try_get(5)?,
            pool: r.try_get(6)?,
        })
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok(Json(ContentDetail {
        content,
        key_commitment: row.try_get(20)?,
        revenue_per_share: row.try_get(21)?,
        renderers,
        cap_table,
        recent_sales,
        recent_revenue,
        as_of_block: head(&state).await?,
    }))
}

/// What an account may play.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LibraryItem {
    pub content_id: String,
    pub title: Option<String>,
    /// Perpetual access tokens held.
    pub access_tokens: u64,
    /// End of timed access (rental or subscription), unix seconds; null if never bought.
    pub expires_at: Option<u64>,
    /// `Access.hasAccess` at the indexed head: a token held, or timed access not yet expired.
    pub playable: bool,
    /// Until when it can be played: null while a perpetual token is held (forever) or when it
    /// is not playable.
    pub playable_until: Option<u64>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Library {
    pub account: String,
    pub items: Vec<LibraryItem>,
    pub as_of_block: Option<u64>,
    /// Timestamp of the indexed head: `playable` is judged at this time, as the chain does.
    pub as_of_time: Option<u64>,
}

/// Most library rows returned.
const MAX_LIBRARY_ITEMS: i64 = 1000;

/// An account's library: every content it holds a token of or ever had timed access to.
#[utoipa::path(get, path = "/v1/accounts/{account}/library", tag = "accounts",
    params(("account" = String, Path, description = "0x + 40 hex digits")),
    responses((status = 200, body = Library), (status = 400, body = ErrorBody)))]
pub async fn library(
    State(state): State<AppState>,
    Path(account): Path<String>,
) -> Result<Json<Library>, ApiError> {
    let account = address_param(&account)?;
    let pool = state.pool();
    let head_row = sqlx::query(
        "SELECT block_number, block_time FROM blocks ORDER BY block_number DESC LIMIT 1",
    )
    .fetch_optional(pool)
    .await?;
    let (as_of_block, as_of_time) = match &head_row {
        Some(r) => (Some(nonneg(r.try_get(0)?)), Some(nonneg(r.try_get(1)?))),
        None => (None, None),
    };
    let rows = sqlx::query(
        "SELECT ids.content_id, m.title, COALESCE(t.balance, 0), e.expires_at FROM \
         (SELECT content_id FROM access_tokens WHERE account = $1 AND balance > 0 \
          UNION SELECT content_id FROM access_expiry WHERE account = $1) ids \
         LEFT JOIN access_tokens t ON t.account = $1 AND t.content_id = ids.content_id \
         LEFT JOIN access_expiry e ON e.account = $1 AND e.content_id = ids.content_id \
         LEFT JOIN api_content_meta m ON m.content_id = ids.content_id \
         ORDER BY ids.content_id LIMIT $2",
    )
    .bind(&account)
    .bind(MAX_LIBRARY_ITEMS)
    .fetch_all(pool)
    .await?;
    let now = as_of_time.unwrap_or(0);
    let items = rows
        .iter()
        .map(|r| {
            let access_tokens = nonneg(r.try_get(2)?);
            let expires_at = r.try_get::<Option<i64>, _>(3)?.map(nonneg);
            let timed = expires_at.filter(|&e| now < e);
            Ok(LibraryItem {
                content_id: r.try_get(0)?,
                title: r.try_get(1)?,
                access_tokens,
                expires_at,
                playable: access_tokens > 0 || timed.is_some(),
                playable_until: if access_tokens > 0 { None } else { timed },
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok(Json(Library {
        account,
        items,
        as_of_block,
        as_of_time,
    }))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EarningItem {
    pub content_id: String,
    pub payment_token: String,
    /// Royalty shares held now (of 10,000).
    pub shares: u64,
    /// Equal to `RoyaltyShares.claimable(account, content)` at `as_of_block`, in base units.
    pub claimable: String,
    /// Claimed so far.
    pub claimed: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Earnings {
    pub account: String,
    pub items: Vec<EarningItem>,
    pub as_of_block: Option<u64>,
}

/// What an account can claim, per content, to the wei.
#[utoipa::path(get, path = "/v1/accounts/{account}/earnings", tag = "accounts",
    params(("account" = String, Path, description = "0x + 40 hex digits")),
    responses((status = 200, body = Earnings), (status = 400, body = ErrorBody)))]
pub async fn earnings(
    State(state): State<AppState>,
    Path(account): Path<String>,
) -> Result<Json<Earnings>, ApiError> {
    let text = address_param(&account)?;
    let address: Address = text.parse().map_err(|_| ApiError::bad("bad account"))?;
    let db = &state.config().db;
    // One snapshot is not guaranteed across the two reads; the head is read first so the
    // earnings are at least as new as the block named.
    let as_of_block = head(&state).await?;
    let items = db
        .earnings(address)
        .await?
        .into_iter()
        .map(|e| EarningItem {
            content_id: e.content_id,
            payment_token: e.payment_token,
            shares: e.shares,
            claimable: e.claimable.to_string(),
            claimed: e.claimed.to_string(),
        })
        .collect();
    Ok(Json(Earnings {
        account: text,
        items,
        as_of_block,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CollectionQuery {
    /// `shares` (royalty shares, default) or `access` (access tokens).
    pub collection: Option<String>,
}

fn collection(c: Option<&str>) -> Result<&'static str, ApiError> {
    match c.unwrap_or("shares") {
        "shares" => Ok("shares"),
        "access" => Ok("access"),
        _ => Err(ApiError::bad("collection is shares or access")),
    }
}

/// An open order: a listing (the maker sells) or an offer (the maker buys, payment escrowed).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Order {
    /// The market's listing id or offer id.
    pub order_id: u64,
    /// The seller of a listing, the buyer of an offer.
    pub maker: String,
    pub amount: u64,
    pub remaining: u64,
    /// Price per unit, base units.
    pub unit_price: String,
    pub block_number: u64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OrderBook {
    pub content_id: String,
    pub collection: String,
    /// Open listings, cheapest first (at most 100).
    pub listings: Vec<Order>,
    /// Open offers, highest first (at most 100).
    pub offers: Vec<Order>,
    pub as_of_block: Option<u64>,
}

/// Open orders of one side of a book; `sql` selects id, maker, amount, remaining, unit price
/// and block for `$1` content, `$2` collection, `$3` rows.
async fn open_orders(
    state: &AppState,
    sql: &str,
    id: &str,
    coll: &str,
) -> Result<Vec<Order>, ApiError> {
    let rows = sqlx::query(sql)
        .bind(id)
        .bind(coll)
        .bind(DETAIL_ROWS)
        .fetch_all(state.pool())
        .await?;
    let orders = rows
        .iter()
        .map(|r| {
            Ok(Order {
                order_id: nonneg(r.try_get(0)?),
                maker: r.try_get(1)?,
                amount: nonneg(r.try_get(2)?),
                remaining: nonneg(r.try_get(3)?),
                unit_price: r.try_get(4)?,
                block_number: nonneg(r.try_get(5)?),
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok(orders)
}

/// A content's open listings and offers.
#[utoipa::path(get, path = "/v1/contents/{content_id}/orderbook", tag = "market",
    params(("content_id" = String, Path, description = "0x + 64 hex digits"), CollectionQuery),
    responses((status = 200, body = OrderBook), (status = 400, body = ErrorBody)))]
pub async fn order_book(
    State(state): State<AppState>,
    Path(id): Path<String>,
    query: Rejected<Query<CollectionQuery>>,
) -> Result<Json<OrderBook>, ApiError> {
    let id = content_id_param(&id)?;
    let Query(q) = query?;
    let coll = collection(q.collection.as_deref())?;
    let listings = open_orders(
        &state,
        "SELECT listing_id, seller, amount, remaining, unit_price, block_number FROM listings \
         WHERE content_id = $1 AND collection = $2 AND status = 'open' \
         ORDER BY length(unit_price), unit_price, listing_id LIMIT $3",
        &id,
        coll,
    )
    .await?;
    let offers = open_orders(
        &state,
        "SELECT offer_id, buyer, amount, remaining, unit_price, block_number FROM offers \
         WHERE content_id = $1 AND collection = $2 AND status = 'open' \
         ORDER BY length(unit_price) DESC, unit_price DESC, offer_id LIMIT $3",
        &id,
        coll,
    )
    .await?;
    Ok(Json(OrderBook {
        content_id: id,
        collection: coll.to_owned(),
        listings,
        offers,
        as_of_block: head(&state).await?,
    }))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Trade {
    pub block_number: u64,
    pub block_time: u64,
    pub log_index: u64,
    pub tx_hash: String,
    pub listing_id: Option<u64>,
    pub offer_id: Option<u64>,
    pub collection: String,
    pub seller: String,
    pub buyer: String,
    pub amount: u64,
    /// Total paid, base units.
    pub price: String,
    pub unit_price: String,
    /// Resale royalty paid to the content's holders.
    pub royalty: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TradesQuery {
    /// `shares` (default) or `access`.
    pub collection: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1 to 100 (default 20).
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TradesPage {
    pub items: Vec<Trade>,
    pub next_cursor: Option<String>,
    pub as_of_block: Option<u64>,
}

pub(crate) const TRADE_COLUMNS: &str =
    "block_number, block_time, log_index, tx_hash, listing_id, offer_id, \
    collection, seller, buyer, amount, price, unit_price, royalty";

pub(crate) fn trade_row(r: &AnyRow) -> Result<Trade, sqlx::Error> {
    Ok(Trade {
        block_number: nonneg(r.try_get(0)?),
        block_time: nonneg(r.try_get(1)?),
        log_index: nonneg(r.try_get(2)?),
        tx_hash: r.try_get(3)?,
        listing_id: r.try_get::<Option<i64>, _>(4)?.map(nonneg),
        offer_id: r.try_get::<Option<i64>, _>(5)?.map(nonneg),
        collection: r.try_get(6)?,
        seller: r.try_get(7)?,
        buyer: r.try_get(8)?,
        amount: nonneg(r.try_get(9)?),
        price: r.try_get(10)?,
        unit_price: r.try_get(11)?,
        royalty: r.try_get(12)?,
    })
}

/// A content's fills, newest first.
#[utoipa::path(get, path = "/v1/contents/{content_id}/trades", tag = "market",
    params(("content_id" = String, Path, description = "0x + 64 hex digits"), TradesQuery),
    responses((status = 200, body = TradesPage), (status = 400, body = ErrorBody)))]
pub async fn trades(
    State(state): State<AppState>,
    Path(id): Path<String>,
    query: Rejected<Query<TradesQuery>>,
) -> Result<Json<TradesPage>, ApiError> {
    let id = content_id_param(&id)?;
    let Query(q) = query?;
    let coll = collection(q.collection.as_deref())?;
    let limit = page_size(q.limit)?;
    let (before_block, before_log) = match &q.cursor {
        None => (i64::MAX, i64::MAX),
        Some(c) => c
            .split_once('.')
            .and_then(|(b, l)| Some((b.parse::<i64>().ok()?, l.parse::<i64>().ok()?)))
            .filter(|(b, l)| *b >= 0 && *l >= 0)
            .ok_or_else(|| ApiError::bad("malformed cursor"))?,
    };
    let rows = sqlx::query(&format!(
        "SELECT {TRADE_COLUMNS} FROM trades WHERE content_id = $1 AND collection = $2 \
         AND (block_number < $3 OR (block_number = $3 AND log_index < $4)) \
         ORDER BY block_number DESC, log_index DESC LIMIT $5"
    ))
    .bind(&id)
    .bind(coll)
    .bind(before_block)
    .bind(before_log)
    .bind(limit + 1)
    .fetch_all(state.pool())
    .await?;
    let mut items = rows.iter().map(trade_row).collect::<Result<Vec<_>, _>>()?;
    let next_cursor = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items
            .last()
            .map(|t| format!("{}.{}", t.block_number, t.log_index))
    } else {
        None
    };
    Ok(Json(TradesPage {
        items,
        next_cursor,
        as_of_block: head(&state).await?,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PriceHistoryQuery {
    /// `shares` (default) or `access`.
    pub collection: Option<String>,
    /// Bucket width in seconds, 60 to 2592000 (default 3600).
    pub interval: Option<u64>,
}

/// One time bucket of unit prices.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PriceBucket {
    /// Bucket start, unix seconds.
    pub start: u64,
    pub open: String,
    pub high: String,
    pub low: String,
    pub close: String,
    /// Units traded.
    pub volume: u64,
    /// Total paid, base units.
    pub value: String,
    pub trades: u64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PriceHistory {
    pub content_id: String,
    pub collection: String,
    pub interval: u64,
    /// Oldest first, over the latest 10,000 trades; empty buckets are omitted.
    pub buckets: Vec<PriceBucket>,
    pub as_of_block: Option<u64>,
}

const PRICE_HISTORY_TRADES: i64 = 10_000;

/// A bucket being filled, in exact integers.
struct Candle {
    start: u64,
    open: U256,
    high: U256,
    low: U256,
    close: U256,
    volume: u64,
    value: U256,
    trades: u64,
}

/// Unit-price candles of a content's trades.
#[utoipa::path(get, path = "/v1/contents/{content_id}/price-history", tag = "market",
    params(("content_id" = String, Path, description = "0x + 64 hex digits"), PriceHistoryQuery),
    responses((status = 200, body = PriceHistory), (status = 400, body = ErrorBody)))]
pub async fn price_history(
    State(state): State<AppState>,
    Path(id): Path<String>,
    query: Rejected<Query<PriceHistoryQuery>>,
) -> Result<Json<PriceHistory>, ApiError> {
    let id = content_id_param(&id)?;
    let Query(q) = query?;
    let coll = collection(q.collection.as_deref())?;
    let interval = q.interval.unwrap_or(3600);
    if !(60..=2_592_000).contains(&interval) {
        return Err(ApiError::bad("interval is 60 to 2592000 seconds"));
    }
    let mut rows = sqlx::query(
        "SELECT block_time, unit_price, amount, price FROM trades \
         WHERE content_id = $1 AND collection = $2 \
         ORDER BY block_number DESC, log_index DESC LIMIT $3",
    )
    .bind(&id)
    .bind(coll)
    .bind(PRICE_HISTORY_TRADES)
    .fetch_all(state.pool())
    .await?;
    rows.reverse();
    let mut buckets: Vec<Candle> = Vec::new();
    for r in &rows {
        let time = nonneg(r.try_get(0)?);
        let unit = indexer::db::parse_amount("trades", "unit_price", &r.try_get::<String, _>(1)?)?;
        let amount = nonneg(r.try_get(2)?);
        let paid = indexer::db::parse_amount("trades", "price", &r.try_get::<String, _>(3)?)?;
        let start = time - time % interval;
        match buckets.last_mut() {
            Some(b) if b.start == start => {
                b.high = b.high.max(unit);
                b.low = b.low.min(unit);
                b.close = unit;
                b.volume += amount;
                b.value += paid;
                b.trades += 1;
            }
            _ => buckets.push(Candle {
                start,
                open: unit,
                high: unit,
                low: unit,
                close: unit,
                volume: amount,
                value: paid,
                trades: 1,
            }),
        }
    }
    Ok(Json(PriceHistory {
        content_id: id,
        collection: coll.to_owned(),
        interval,
        buckets: buckets
            .into_iter()
            .map(|c| PriceBucket {
                start: c.start,
                open: c.open.to_string(),
                high: c.high.to_string(),
                low: c.low.to_string(),
                close: c.close.to_string(),
                volume: c.volume,
                value: c.value.to_string(),
                trades: c.trades,
            })
            .collect(),
        as_of_block: head(&state).await?,
    }))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: String,
    pub chain_id: u64,
    /// The highest indexed block; null before the indexer's first block.
    pub head_block: Option<u64>,
}

/// Liveness and index head.
#[utoipa::path(get, path = "/v1/health", tag = "meta",
    responses((status = 200, body = Health), (status = 503, body = ErrorBody)))]
pub async fn health(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    Ok(Json(Health {
        status: "ok".into(),
        chain_id: state.config().deployment.chain_id,
        head_block: head(&state).await?,
    }))
}

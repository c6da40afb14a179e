//! The market of one content: its order book (`…/orderbook`), its trades (`…/trades`, keyset
//! pages), unit-price candles of its latest trades (`…/price-history`) and the realised yield
//! of a share over time (`…/yield-history`).

use alloy::primitives::U256;
use axum::extract::{Path, Query, State};
use axum::Json;
use indexer::read::{Book, Collection, OrderRow, Trade};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{
    content_id_param, event_cursor, head, next_event_cursor, page_size, Rejected, DETAIL_ROWS,
};
use crate::error::{ApiError, ErrorBody};
use crate::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CollectionQuery {
    /// `shares` (royalty shares, default) or `access` (access tokens).
    pub collection: Option<String>,
}

pub(super) fn collection(c: Option<&str>) -> Result<Collection, ApiError> {
    match c.unwrap_or("shares") {
        "shares" => Ok(Collection::Shares),
        "access" => Ok(Collection::Access),
        _ => Err(ApiError::bad("collection is shares or access")),
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OrderBook {
    pub content_id: String,
    pub collection: String,
    /// Open listings, cheapest first (at most 100).
    pub listings: Vec<OrderRow>,
    /// Open offers, highest first (at most 100).
    pub offers: Vec<OrderRow>,
    pub as_of_block: Option<u64>,
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
    let db = &state.config().db;
    let listings = db
        .open_orders(Book::Listings, &id, coll, DETAIL_ROWS)
        .await?;
    let offers = db.open_orders(Book::Offers, &id, coll, DETAIL_ROWS).await?;
    Ok(Json(OrderBook {
        content_id: id,
        collection: coll.as_str().to_owned(),
        listings,
        offers,
        as_of_block: head(&state).await?,
    }))
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
    let before = event_cursor(q.cursor.as_deref())?;
    let page = state.config().db.trades(&id, coll, before, limit).await?;
    let next_cursor = next_event_cursor(
        page.more,
        page.items.last().map(|t| (t.block_number, t.log_index)),
    );
    Ok(Json(TradesPage {
        items: page.items,
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

const PRICE_HISTORY_TRADES: u32 = 10_000;

/// A history's bucket width: 60 s to 30 days, 1 hour when not given.
pub(super) fn interval_param(interval: Option<u64>) -> Result<u64, ApiError> {
    let interval = interval.unwrap_or(3600);
    if !(60..=2_592_000).contains(&interval) {
        return Err(ApiError::bad("interval is 60 to 2592000 seconds"));
    }
    Ok(interval)
}

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

impl From<Candle> for PriceBucket {
    fn from(c: Candle) -> Self {
        Self {
            start: c.start,
            open: c.open.to_string(),
            high: c.high.to_string(),
            low: c.low.to_string(),
            close: c.close.to_string(),
            volume: c.volume,
            value: c.value.to_string(),
            trades: c.trades,
        }
    }
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
    let interval = interval_param(q.interval)?;
    let prices = state
        .config()
        .db
        .trade_prices(&id, coll, PRICE_HISTORY_TRADES)
        .await?;
    let mut buckets: Vec<Candle> = Vec::new();
    for p in prices {
        let start = p.block_time - p.block_time % interval;
        match buckets.last_mut() {
            Some(b) if b.start == start => {
                b.high = b.high.max(p.unit_price);
                b.low = b.low.min(p.unit_price);
                b.close = p.unit_price;
                b.volume += p.amount;
                b.value += p.price;
                b.trades += 1;
            }
            _ => buckets.push(Candle {
                start,
                open: p.unit_price,
                high: p.unit_price,
                low: p.unit_price,
                close: p.unit_price,
                volume: p.amount,
                value: p.price,
                trades: 1,
            }),
        }
    }
    Ok(Json(PriceHistory {
        content_id: id,
        collection: coll.as_str().to_owned(),
        interval,
        buckets: buckets.into_iter().map(PriceBucket::from).collect(),
        as_of_block: head(&state).await?,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct YieldHistoryQuery {
    /// Bucket width in seconds, 60 to 2592000 (default 3600).
    pub interval: Option<u64>,
}

/// The revenue distributed to a content's holders in one time bucket.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct YieldBucket {
    /// Bucket start, unix seconds.
    pub start: u64,
    /// What one royalty share earned in the bucket (base units of the payment token).
    pub per_share: String,
    /// What one share had earned in all, at the bucket's end.
    pub cumulative_per_share: String,
    /// Revenue paid in during the bucket, before fees.
    pub revenue: String,
    pub distributions: u64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct YieldHistory {
    pub content_id: String,
    pub interval: u64,
    /// What one share has earned since registration (the chain's revenue per share).
    pub revenue_per_share: String,
    /// Oldest first, over the latest 10,000 distributions; empty buckets are omitted.
    pub buckets: Vec<YieldBucket>,
    pub as_of_block: Option<u64>,
}

const YIELD_HISTORY_DISTRIBUTIONS: u32 = 10_000;

/// Realised yield per royalty share over time: revenue distributed per share, per bucket and
/// in all.
#[utoipa::path(get, path = "/v1/contents/{content_id}/yield-history", tag = "market",
    params(("content_id" = String, Path, description = "0x + 64 hex digits"), YieldHistoryQuery),
    responses((status = 200, body = YieldHistory), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn yield_history(
    State(state): State<AppState>,
    Path(id): Path<String>,
    query: Rejected<Query<YieldHistoryQuery>>,
) -> Result<Json<YieldHistory>, ApiError> {
    let id = content_id_param(&id)?;
    let Query(q) = query?;
    let interval = interval_param(q.interval)?;
    let history = state
        .config()
        .db
        .distribution_history(&id, YIELD_HISTORY_DISTRIBUTIONS)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no content {id}")))?;
    let mut buckets: Vec<(u64, U256, U256, U256, u64)> = Vec::new();
    for d in history.distributions {
        let start = d.block_time - d.block_time % interval;
        match buckets.last_mut() {
            Some(b) if b.0 == start => {
                b.1 += d.per_share;
                b.2 = d.cumulative_per_share;
                b.3 += d.amount;
                b.4 += 1;
            }
            _ => buckets.push((start, d.per_share, d.cumulative_per_share, d.amount, 1)),
        }
    }
    Ok(Json(YieldHistory {
        content_id: id,
        interval,
        revenue_per_share: history.revenue_per_share.to_string(),
        buckets: buckets
            .into_iter()
            .map(
                |(start, per_share, cumulative, revenue, distributions)| YieldBucket {
                    start,
                    per_share: per_share.to_string(),
                    cumulative_per_share: cumulative.to_string(),
                    revenue: revenue.to_string(),
                    distributions,
                },
            )
            .collect(),
        as_of_block: history.head.map(|h| h.number),
    }))
}

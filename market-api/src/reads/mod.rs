//! The read endpoints, one module per resource: [`contents`] (the catalogue and one content),
//! [`accounts`] (a library and earnings), [`market`] (order books, trades, price and yield history),
//! [`metadata`] (ERC-1155 token metadata); and [`health`]. Each asks the index through its typed reads ([`indexer::read`]) and answers with
//! its own response types, which are what `/openapi.json` documents; rows shown as the index
//! reads them (a content, its terms, sales, revenue, cap table, orders, trades) are the index's
//! row types themselves, which serialize to this API's JSON and carry its schema names.
//!
//! Every list is bounded ([`crate::MAX_PAGE_SIZE`]); the catalogue, trades and claims page by keyset
//! cursors (stable while new rows arrive). Amounts are decimal strings in base units (wei),
//! exact to any uint256; addresses and ids are lowercase 0x-hex as the index stores them.
//! Every answer names the indexed block it reflects (`as_of_block`).

pub mod accounts;
pub mod contents;
pub mod market;
pub mod metadata;

use alloy::primitives::{Address, U256};
use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, ErrorBody};
use crate::{AppState, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};

pub(crate) use contents::CatalogueCache;

type Rejected<T> = Result<T, axum::extract::rejection::QueryRejection>;

/// Most rows of a detail list.
const DETAIL_ROWS: u32 = 100;

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

fn page_size(limit: Option<u32>) -> Result<u32, ApiError> {
    match limit.unwrap_or(DEFAULT_PAGE_SIZE) {
        0 => Err(ApiError::bad("limit must be at least 1")),
        n if n > MAX_PAGE_SIZE => Err(ApiError::BadRequest(format!(
            "limit must be at most {MAX_PAGE_SIZE}"
        ))),
        n => Ok(n),
    }
}

/// A decimal amount filter: digits only, no leading zeros (the index's canonical form).
fn amount_param(name: &str, s: &str) -> Result<U256, ApiError> {
    U256::from_str_radix(s, 10)
        .ok()
        .filter(|_| !s.is_empty() && s.len() <= 78 && s.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| ApiError::BadRequest(format!("{name} must be a decimal integer")))
}

/// A keyset cursor over chain events, `BLOCK.LOG` (the last item of the previous page):
/// the position to read before; no cursor reads from the newest.
fn event_cursor(cursor: Option<&str>) -> Result<(i64, i64), ApiError> {
    match cursor {
        None => Ok((i64::MAX, i64::MAX)),
        Some(c) => c
            .split_once('.')
            .and_then(|(b, l)| Some((b.parse::<i64>().ok()?, l.parse::<i64>().ok()?)))
            .filter(|(b, l)| *b >= 0 && *l >= 0)
            .ok_or_else(|| ApiError::bad("malformed cursor")),
    }
}

/// The cursor after a page whose last event is at `(block, log)`, when more follow.
fn next_event_cursor(more: bool, last: Option<(u64, u64)>) -> Option<String> {
    last.filter(|_| more).map(|(b, l)| format!("{b}.{l}"))
}

async fn head(state: &AppState) -> Result<Option<u64>, ApiError> {
    Ok(state.config().db.head().await?.map(|b| b.number))
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

/// What the fuzzer drives (`fuzz/`, feature `fuzzing`): a request's path parameter and query
/// string, decoded by axum's own `Query` extractor and checked by the same functions the
/// handlers call, without a database.
#[cfg(feature = "fuzzing")]
pub mod fuzzing {
    use axum::extract::Query;
    use axum::http::Uri;

    use super::accounts::ClaimsQuery;
    use super::contents::{catalogue_filter, CatalogueQuery};
    use super::market::{
        collection, interval_param, CollectionQuery, PriceHistoryQuery, TradesQuery,
        YieldHistoryQuery,
    };
    use super::{address_param, content_id_param, event_cursor, page_size};
    use crate::events::EventsQuery;

    /// Checks `path_param` as a content id and an account, and `query` as every endpoint's
    /// query string; refusals are `Err` answers, never panics.
    pub fn read_request(path_param: &str, query: &str) {
        let _ = content_id_param(path_param);
        let _ = address_param(path_param);
        let Ok(uri) = format!("/?{query}").parse::<Uri>() else {
            return;
        };
        if let Ok(Query(q)) = Query::<CatalogueQuery>::try_from_uri(&uri) {
            let _ = catalogue_filter(q);
        }
        if let Ok(Query(q)) = Query::<CollectionQuery>::try_from_uri(&uri) {
            let _ = collection(q.collection.as_deref());
        }
        if let Ok(Query(q)) = Query::<TradesQuery>::try_from_uri(&uri) {
            let _ = collection(q.collection.as_deref());
            let _ = page_size(q.limit);
            let _ = event_cursor(q.cursor.as_deref());
        }
        if let Ok(Query(q)) = Query::<PriceHistoryQuery>::try_from_uri(&uri) {
            let _ = collection(q.collection.as_deref());
            let _ = interval_param(q.interval);
        }
        if let Ok(Query(q)) = Query::<YieldHistoryQuery>::try_from_uri(&uri) {
            let _ = interval_param(q.interval);
        }
        if let Ok(Query(q)) = Query::<ClaimsQuery>::try_from_uri(&uri) {
            let _ = page_size(q.limit);
            let _ = event_cursor(q.cursor.as_deref());
        }
        let _ = Query::<EventsQuery>::try_from_uri(&uri);
    }
}

//! Contents: the catalogue (`GET /v1/contents`, cached per indexed head) and one content
//! (`GET /v1/contents/{content_id}`).

use std::time::Instant;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use indexer::read::{CapTableRow, CatalogueFilter, ContentRow, Offered, RevenueRow, Sale};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{
    address_param, amount_param, content_id_param, head, page_size, Rejected, DETAIL_ROWS,
};
use crate::error::{ApiError, ErrorBody};
use crate::migrations::CONTENT_FACTS;
use crate::AppState;

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
    /// The payment token's address (`0x0000000000000000000000000000000000000000`: the chain's
    /// native token).
    pub payment_token: Option<String>,
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
    pub items: Vec<ContentRow>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
    pub as_of_block: Option<u64>,
}

/// Validates a catalogue request into the index's filter, in canonical form (the search text
/// lowercased): two requests with the same filter get the same page, so it keys the cache.
pub(super) fn catalogue_filter(q: CatalogueQuery) -> Result<CatalogueFilter, ApiError> {
    let limit = page_size(q.limit)?;
    let text = match q.q.as_deref().filter(|t| !t.is_empty()) {
        Some(text) if text.chars().count() > 100 => {
            return Err(ApiError::bad("q is at most 100 characters"))
        }
        Some(text) => Some(text.to_lowercase()),
        None => None,
    };
    let kind = match q.kind.as_deref() {
        None => None,
        Some(k @ ("media" | "data")) => Some(k.to_owned()),
        Some(_) => return Err(ApiError::bad("kind is media or data")),
    };
    let creator = q.creator.as_deref().map(address_param).transpose()?;
    let payment_token = q.payment_token.as_deref().map(address_param).transpose()?;
    let offered = match q.access.as_deref() {
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
    let after = match &q.cursor {
        None => None,
        Some(cursor) => Some(
            cursor
                .split_once('.')
                .and_then(|(b, id)| Some((b.parse::<i64>().ok()?, content_id_param(id).ok()?)))
                .ok_or_else(|| ApiError::bad("malformed cursor"))?,
        ),
    };
    Ok(CatalogueFilter {
        text,
        kind,
        creator,
        payment_token,
        offered,
        min_price,
        max_price,
        after,
        limit,
    })
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
    let filter = catalogue_filter(q)?;
    let cache = &state.inner.catalogue_cache;
    if cache.enabled() {
        let head = state.config().db.head().await?;
        if let Some(body) = cache.get(&head, &filter, Instant::now()) {
            return Ok(json_body(body));
        }
    }
    let generation = cache.generation();
    let read = state
        .config()
        .db
        .catalogue_page(CONTENT_FACTS, &filter)
        .await?;
    let next_cursor = if read.more {
        read.items
            .last()
            .map(|c| format!("{}.{}", c.registered_block, c.content_id))
    } else {
        None
    };
    let page = CataloguePage {
        items: read.items,
        next_cursor,
        as_of_block: read.head.as_ref().map(|h| h.number),
    };
    let body = Bytes::from(serde_json::to_vec(&page).map_err(|e| ApiError::Internal {
        detail: format!("serialising a catalogue page: {e}"),
    })?);
    cache.insert(read.head, filter, body.clone(), generation, Instant::now());
    Ok(json_body(body))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ContentDetail {
    pub content: ContentRow,
    pub key_commitment: String,
    pub renderers: Vec<String>,
    /// Cumulative revenue per share (base units per share).
    pub revenue_per_share: String,
    /// Current holders, largest first.
    pub cap_table: Vec<CapTableRow>,
    /// The latest sales, newest first (at most 100).
    pub recent_sales: Vec<Sale>,
    /// The latest revenue distributions, newest first (at most 100).
    pub recent_revenue: Vec<RevenueRow>,
    pub as_of_block: Option<u64>,
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
    let db = &state.config().db;
    let record = db
        .content(CONTENT_FACTS, &id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no content {id}")))?;
    Ok(Json(ContentDetail {
        content: record.content,
        key_commitment: record.key_commitment,
        revenue_per_share: record.revenue_per_share,
        renderers: db.renderers(&id).await?,
        cap_table: db.cap_table(&id).await?,
        recent_sales: db.recent_sales(&id, DETAIL_ROWS).await?,
        recent_revenue: db.recent_revenue(&id, DETAIL_ROWS).await?,
        as_of_block: head(&state).await?,
    }))
}

/// A content's thumbnail (PNG, JPEG or WebP, as recognised from its bytes), from its `.ddrm`
/// header: the creator's picture, or a frame the packager picked. Immutable: a content id is
/// the digest of its header.
#[utoipa::path(get, path = "/v1/contents/{content_id}/thumbnail", tag = "catalogue",
    params(("content_id" = String, Path, description = "0x + 64 hex digits")),
    responses((status = 200, description = "the picture",
            content(("image/png"), ("image/jpeg"), ("image/webp"))),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn thumbnail(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    use axum::http::header;
    let id = content_id_param(&id)?;
    let (mime, bytes) = crate::facts::thumbnail(&state, &id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no thumbnail of {id} is known")))?;
    Ok((
        [
            (header::CONTENT_TYPE, mime),
            (
                header::CACHE_CONTROL,
                "public, max-age=31536000, immutable".to_owned(),
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        ],
        bytes,
    )
        .into_response())
}

/// A content's clear preview (a picture of its first pages, a short clip or a sound the
/// creator gave), read from its `.ddrm` header in the content store and checked to be that
/// content's. Served with the type its bytes show (never the header's claim, never sniffed),
/// in a sandbox, immutable.
#[utoipa::path(get, path = "/v1/contents/{content_id}/preview", tag = "catalogue",
    params(("content_id" = String, Path, description = "0x + 64 hex digits")),
    responses((status = 200, description = "the preview",
            content(("image/png"), ("image/jpeg"), ("image/webp"), ("video/mp4"), ("video/webm"),
                ("audio/mpeg"), ("audio/ogg"), ("audio/wav"))),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 503, body = ErrorBody)))]
pub async fn preview(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    use axum::http::header;
    let id = content_id_param(&id)?;
    let none = || ApiError::NotFound(format!("{id} has no preview"));
    let record = state
        .config()
        .db
        .content(CONTENT_FACTS, &id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no content {id}")))?;
    if record.content.preview_type.is_none() {
        return Err(none());
    }
    let bounds = state.config().header_backfill.unwrap_or_default();
    let header =
        crate::facts::backfill::registered_header(&state, &bounds, &id, &record.content.cid)
            .await
            .map_err(|e| {
                tracing::warn!(content = %id, error = %e, "reading a preview failed");
                ApiError::Unavailable("the content store")
            })?;
    let preview = header.metadata.preview.ok_or_else(none)?;
    let mime = packager::preview_type(&preview.bytes).ok_or_else(none)?;
    Ok((
        [
            (header::CONTENT_TYPE, mime.to_owned()),
            (
                header::CACHE_CONTROL,
                "public, max-age=31536000, immutable".to_owned(),
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
            (
                header::CONTENT_SECURITY_POLICY,
                "sandbox; default-src 'none'".to_owned(),
            ),
        ],
        preview.bytes,
    )
        .into_response())
}

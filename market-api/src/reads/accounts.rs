//! Accounts: what an account may play (`GET /v1/accounts/{account}/library`) and what it can
//! claim (`GET /v1/accounts/{account}/earnings`).

use alloy::primitives::Address;
use axum::extract::{Path, Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{address_param, event_cursor, head, next_event_cursor, page_size, Rejected};
use crate::error::{ApiError, ErrorBody};
use crate::migrations::CONTENT_FACTS;
use crate::AppState;

/// What an account may play.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LibraryItem {
    pub content_id: String,
    pub title: Option<String>,
    /// Perpetual access tokens held.
    pub access_tokens: u64,
    /// End of timed access (rental or subscription), unix seconds; null if never bought.
    pub expires_at: Option<u64>,
    /// What that timed access was, by the latest one bought: `rental` or `subscription`;
    /// null if never bought.
    pub timed_kind: Option<String>,
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
const MAX_LIBRARY_ITEMS: u32 = 1000;

/// An account's library: every content it holds a token of or ever had timed access to.
#[utoipa::path(get, path = "/v1/accounts/{account}/library", tag = "accounts",
    params(("account" = String, Path, description = "0x + 40 hex digits")),
    responses((status = 200, body = Library), (status = 400, body = ErrorBody)))]
pub async fn library(
    State(state): State<AppState>,
    Path(account): Path<String>,
) -> Result<Json<Library>, ApiError> {
    let account = address_param(&account)?;
    let db = &state.config().db;
    let head = db.head_block().await?;
    let (as_of_block, as_of_time) = match &head {
        Some(b) => (Some(b.number), Some(b.time)),
        None => (None, None),
    };
    let rows = db
        .library(CONTENT_FACTS, &account, MAX_LIBRARY_ITEMS)
        .await?;
    let now = as_of_time.unwrap_or(0);
    let items = rows
        .into_iter()
        .map(|r| {
            let timed = r.expires_at.filter(|&e| now < e);
            LibraryItem {
                content_id: r.content_id,
                title: r.title,
                access_tokens: r.access_tokens,
                expires_at: r.expires_at,
                timed_kind: r.timed_kind,
                playable: r.access_tokens > 0 || timed.is_some(),
                playable_until: if r.access_tokens > 0 { None } else { timed },
            }
        })
        .collect();
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
    /// From the content's header (null while its facts are not known).
    pub title: Option<String>,
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
    let earnings = db.earnings(address).await?;
    let ids: Vec<&str> = earnings.iter().map(|e| e.content_id.as_str()).collect();
    let mut titles = crate::facts::titles(&state, &ids).await?;
    let items = earnings
        .into_iter()
        .map(|e| EarningItem {
            title: titles.remove(&e.content_id),
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

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ClaimsQuery {
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1 to 100 (default 20).
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ClaimsPage {
    pub items: Vec<indexer::read::ClaimRow>,
    pub next_cursor: Option<String>,
    pub as_of_block: Option<u64>,
}

/// An account's royalty claims, newest first (what each paid, when, in which transaction).
#[utoipa::path(get, path = "/v1/accounts/{account}/claims", tag = "accounts",
    params(("account" = String, Path, description = "0x + 40 hex digits"), ClaimsQuery),
    responses((status = 200, body = ClaimsPage), (status = 400, body = ErrorBody)))]
pub async fn claims(
    State(state): State<AppState>,
    Path(account): Path<String>,
    query: Rejected<Query<ClaimsQuery>>,
) -> Result<Json<ClaimsPage>, ApiError> {
    let account = address_param(&account)?;
    let Query(q) = query?;
    let limit = page_size(q.limit)?;
    let before = event_cursor(q.cursor.as_deref())?;
    let as_of_block = head(&state).await?;
    let page = state.config().db.claims(&account, before, limit).await?;
    let next_cursor = next_event_cursor(
        page.more,
        page.items.last().map(|c| (c.block_number, c.log_index)),
    );
    Ok(Json(ClaimsPage {
        items: page.items,
        next_cursor,
        as_of_block,
    }))
}

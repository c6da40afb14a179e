//! Accounts: a library (the contents an account holds an access token of or ever had timed
//! access to) and its history of royalty claims. Earnings are [`crate::Db::earnings`].

use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::{FromRow, Row};
use utoipa::ToSchema;

use super::{ContentFacts, Counts};
use crate::db::Db;
use crate::error::IndexerError;

/// One content of an account's library, with its title from the catalogue facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibraryRow {
    pub content_id: String,
    pub title: Option<String>,
    /// Perpetual access tokens held.
    pub access_tokens: u64,
    /// End of timed access (`Access.expiresAt`), unix seconds; `None` if never bought.
    pub expires_at: Option<u64>,
    /// What the latest timed access was (`"rental"` or `"subscription"`, as in
    /// `access_grants.kind`): the one whose end `expires_at` is; `None` if never bought.
    pub timed_kind: Option<String>,
}

impl FromRow<'_, AnyRow> for LibraryRow {
    fn from_row(r: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            content_id: r.try_get("content_id")?,
            title: r.try_get("title")?,
            access_tokens: r.count("access_tokens")?,
            expires_at: r.opt_count("expires_at")?,
            timed_kind: r.try_get("timed_kind")?,
        })
    }
}

/// One royalty claim (`RoyaltyShares.Claimed`) of an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = Claim, description = "A royalty claim paid to the account.")]
pub struct ClaimRow {
    pub block_number: u64,
    pub block_time: u64,
    pub log_index: u64,
    pub tx_hash: String,
    pub content_id: String,
    /// The payment token (0x000…000: the native token).
    pub token: String,
    /// Base units paid.
    pub amount: String,
}

impl FromRow<'_, AnyRow> for ClaimRow {
    fn from_row(r: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            block_number: r.count("block_number")?,
            block_time: r.count("block_time")?,
            log_index: r.count("log_index")?,
            tx_hash: r.try_get("tx_hash")?,
            content_id: r.try_get("content_id")?,
            token: r.try_get("token")?,
            amount: r.try_get("amount")?,
        })
    }
}

/// A page of claims, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimsPage {
    pub items: Vec<ClaimRow>,
    /// Whether older claims follow the last item.
    pub more: bool,
}

impl Db {
    /// `account`'s claims (lowercase `0x` hex) before the position `before` (block, log
    /// index), newest first, at most `limit`.
    pub async fn claims(
        &self,
        account: &str,
        before: (i64, i64),
        limit: u32,
    ) -> Result<ClaimsPage, IndexerError> {
        const COLUMNS: &str =
            "block_number, block_time, log_index, tx_hash, content_id, token, amount";
        let (items, more) = self
            .rows_before("claims", COLUMNS, &[("account", account)], before, limit)
            .await?;
        Ok(ClaimsPage { items, more })
    }

    /// The first `limit` contents of `account`'s library (lowercase `0x` hex), by content id.
    pub async fn library(
        &self,
        facts: ContentFacts,
        account: &str,
        limit: u32,
    ) -> Result<Vec<LibraryRow>, IndexerError> {
        Ok(sqlx::query_as(&format!(
            "SELECT ids.content_id, m.title, COALESCE(t.balance, 0) AS access_tokens, \
             e.expires_at, \
             (SELECT g.kind FROM access_grants g WHERE g.account = $1 \
              AND g.content_id = ids.content_id AND g.kind IN ('rental', 'subscription') \
              ORDER BY g.block_number DESC, g.log_index DESC LIMIT 1) AS timed_kind FROM \
             (SELECT content_id FROM access_tokens WHERE account = $1 AND balance > 0 \
              UNION SELECT content_id FROM access_expiry WHERE account = $1) ids \
             LEFT JOIN access_tokens t ON t.account = $1 AND t.content_id = ids.content_id \
             LEFT JOIN access_expiry e ON e.account = $1 AND e.content_id = ids.content_id \
             LEFT JOIN {} m ON m.content_id = ids.content_id \
             ORDER BY ids.content_id LIMIT $2",
            facts.table
        ))
        .bind(account)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?)
    }
}

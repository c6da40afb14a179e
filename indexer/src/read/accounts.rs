//! Accounts: a library (the contents an account holds an access token of or ever had timed
//! access to). Earnings are [`crate::Db::earnings`].

use sqlx::any::AnyRow;
use sqlx::{FromRow, Row};

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
}

impl FromRow<'_, AnyRow> for LibraryRow {
    fn from_row(r: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            content_id: r.try_get("content_id")?,
            title: r.try_get("title")?,
            access_tokens: r.count("access_tokens")?,
            expires_at: r.opt_count("expires_at")?,
        })
    }
}

impl Db {
    /// The first `limit` contents of `account`'s library (lowercase `0x` hex), by content id.
    pub async fn library(
        &self,
        facts: ContentFacts,
        account: &str,
        limit: u32,
    ) -> Result<Vec<LibraryRow>, IndexerError> {
        Ok(sqlx::query_as(&format!(
            "SELECT ids.content_id, m.title, COALESCE(t.balance, 0) AS access_tokens, \
             e.expires_at FROM \
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

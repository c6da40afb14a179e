//! Catalogue facts: what a content's `.ddrm` header says of it in the clear (title, creator
//! name, kind, MIME type, duration, size). The chain holds none of it; the API keeps it in its
//! own table ([`crate::migrations::CONTENT_FACTS`]), which every content read joins.
//!
//! Two writers fill the table, through [`record`] only: an upload records the facts of the
//! file it packaged ([`crate::upload`]), and the header backfill ([`backfill`]) reads them
//! from the header of every other registered content — one minted from the command line, or
//! uploaded through another instance that failed before recording — by the CID registered on
//! chain. A row is only ever inserted, never changed: the facts of a content id are fixed,
//! since the id is a digest of its header.

pub mod backfill;

use packager_format::{ContentKind, Header};

use crate::AppState;

/// One content's catalogue facts, as a row of the facts table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    /// `0x` + 64 lowercase hex digits, as the index stores it.
    pub content_id: String,
    pub title: String,
    pub creator_name: String,
    /// [`kind_text`] of the header's kind.
    pub kind: String,
    pub mime_type: String,
    pub duration_ms: u64,
    /// Size of the original file.
    pub size_bytes: u64,
}

impl Facts {
    /// The facts `header` states about the content `content_id` (the caller has checked that
    /// the header is that content's).
    pub fn of_header(content_id: String, header: &Header) -> Self {
        let m = &header.metadata;
        Self {
            content_id,
            title: m.title.clone(),
            creator_name: m.creator.clone(),
            kind: kind_text(header.kind).to_owned(),
            mime_type: m.mime_type.clone(),
            duration_ms: m.duration_ms,
            size_bytes: m.original_size,
        }
    }
}

/// A content kind as the API spells it (`media`, `data`), the same word the header's JSON uses.
pub fn kind_text(kind: ContentKind) -> &'static str {
    match kind {
        ContentKind::Media => "media",
        ContentKind::Data => "data",
    }
}

/// Inserts `facts` unless the content already has a row (another writer was first: the facts
/// of a content id never differ), and after an insert clears this instance's catalogue cache,
/// whose pages may lack the row ([`crate::cache`] says why that keeps them exact). Returns
/// whether a row was inserted.
pub(crate) async fn record(state: &AppState, facts: &Facts) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO api_content_meta (content_id, title, creator_name, kind, mime_type, duration_ms, size_bytes) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (content_id) DO NOTHING",
    )
    .bind(facts.content_id.clone())
    .bind(facts.title.clone())
    .bind(facts.creator_name.clone())
    .bind(facts.kind.clone())
    .bind(facts.mime_type.clone())
    .bind(i64::try_from(facts.duration_ms).unwrap_or(i64::MAX))
    .bind(i64::try_from(facts.size_bytes).unwrap_or(i64::MAX))
    .execute(state.pool())
    .await?;
    let inserted = done.rows_affected() > 0;
    if inserted {
        state.inner.catalogue_cache.clear();
    }
    Ok(inserted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_spelled_as_the_headers_json_spells_them() {
        for kind in [ContentKind::Media, ContentKind::Data] {
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::Value::from(kind_text(kind))
            );
        }
    }
}

//! Catalogue facts: what a content's `.ddrm` header says of it in the clear (title, creator
//! name, kind, MIME type, duration, size, description, thumbnail, the type of its preview). The chain holds none of it; the API keeps it in its
//! own table ([`crate::migrations::CONTENT_FACTS`]), which every content read joins.
//!
//! Two writers fill the table, through [`record`] only: an upload records the facts of the
//! file it packaged ([`crate::pc2::upload`]), and the header backfill ([`backfill`]) reads them
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
    /// The creator's description ("" when none).
    pub description: String,
    /// The header's thumbnail when it is a PNG, JPEG or WebP image: its type as recognised
    /// from its bytes (never the type the header claims), and the bytes.
    pub thumbnail: Option<(&'static str, Vec<u8>)>,
    /// The type of the header's clear preview, recognised from its bytes
    /// ([`packager::preview_type`]); the bytes stay in the header (served from it).
    pub preview_type: Option<&'static str>,
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
            description: m
                .extra
                .iter()
                .find(|(k, _)| k == packager::DESCRIPTION_KEY)
                .map(|(_, v)| v.clone())
                .unwrap_or_default(),
            thumbnail: m
                .thumbnail
                .as_ref()
                .and_then(|t| packager::image_type(&t.bytes).map(|mime| (mime, t.bytes.clone()))),
            preview_type: m
                .preview
                .as_ref()
                .and_then(|p| packager::preview_type(&p.bytes)),
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
        "INSERT INTO api_content_meta (content_id, title, creator_name, kind, mime_type, duration_ms, \
         size_bytes, description, thumbnail_type, thumbnail_hex, preview_type) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (content_id) DO NOTHING",
    )
    .bind(facts.content_id.clone())
    .bind(facts.title.clone())
    .bind(facts.creator_name.clone())
    .bind(facts.kind.clone())
    .bind(facts.mime_type.clone())
    .bind(i64::try_from(facts.duration_ms).unwrap_or(i64::MAX))
    .bind(i64::try_from(facts.size_bytes).unwrap_or(i64::MAX))
    .bind(facts.description.clone())
    .bind(facts.thumbnail.as_ref().map(|(mime, _)| mime.to_string()))
    .bind(facts.thumbnail.as_ref().map(|(_, bytes)| hex::encode(bytes)))
    .bind(facts.preview_type.map(str::to_owned))
    .execute(state.pool())
    .await?;
    let inserted = done.rows_affected() > 0;
    if inserted {
        state.inner.catalogue_cache.clear();
    }
    Ok(inserted)
}

/// The titles of `content_ids` that have facts (the API's own table, read in chunks).
pub(crate) async fn titles(
    state: &AppState,
    content_ids: &[&str],
) -> Result<std::collections::HashMap<String, String>, sqlx::Error> {
    const CHUNK: usize = 500;
    let mut titles = std::collections::HashMap::with_capacity(content_ids.len());
    for chunk in content_ids.chunks(CHUNK) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT content_id, title FROM api_content_meta WHERE content_id IN ({})",
            marks.join(", ")
        );
        let mut query = sqlx::query_as::<_, (String, String)>(&sql);
        for id in chunk {
            query = query.bind(*id);
        }
        titles.extend(query.fetch_all(state.pool()).await?);
    }
    Ok(titles)
}

/// A content's thumbnail: its type and bytes, when its facts have one.
pub(crate) async fn thumbnail(
    state: &AppState,
    content_id: &str,
) -> Result<Option<(String, Vec<u8>)>, crate::ApiError> {
    let row: Option<(Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT thumbnail_type, thumbnail_hex FROM api_content_meta WHERE content_id = $1",
    )
    .bind(content_id)
    .fetch_optional(state.pool())
    .await?;
    match row {
        Some((Some(mime), Some(text))) => {
            let bytes = hex::decode(text).map_err(crate::ApiError::internal)?;
            Ok(Some((mime, bytes)))
        }
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(thumbnail: Option<(&str, Vec<u8>)>, extra: Vec<(String, String)>) -> Header {
        Header {
            salt: vec![0; 32],
            creator_account: [1; 20],
            kind: ContentKind::Data,
            metadata: packager_format::Metadata {
                title: "T".into(),
                thumbnail: thumbnail.map(|(mime, bytes)| packager_format::Attachment {
                    mime_type: mime.into(),
                    bytes,
                }),
                extra,
                ..Default::default()
            },
            tracks: Vec::new(),
            renderers: Vec::new(),
            key: packager_format::KeyEnvelope {
                scheme: 1,
                group_key_id: Vec::new(),
                ciphertext: Vec::new(),
            },
            segments: Vec::new(),
        }
    }

    #[test]
    fn a_thumbnail_is_typed_by_its_bytes_never_by_the_headers_claim() {
        let png = b"\x89PNG\r\n\x1a\n rest".to_vec();
        let facts = Facts::of_header(
            "0x".into(),
            &header(Some(("text/html", png.clone())), vec![]),
        );
        assert_eq!(facts.thumbnail, Some(("image/png", png)));
        let html = b"<script>alert(1)</script>".to_vec();
        let facts = Facts::of_header("0x".into(), &header(Some(("image/png", html)), vec![]));
        assert_eq!(
            facts.thumbnail, None,
            "bytes that are no picture are never served"
        );
    }

    #[test]
    fn the_description_is_the_headers_description_entry() {
        let extra = vec![
            ("author-note".to_owned(), "x".to_owned()),
            ("description".to_owned(), "A song.".to_owned()),
        ];
        assert_eq!(
            Facts::of_header("0x".into(), &header(None, extra)).description,
            "A song."
        );
        assert_eq!(
            Facts::of_header("0x".into(), &header(None, vec![])).description,
            ""
        );
    }

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

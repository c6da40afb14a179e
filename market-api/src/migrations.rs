//! The market API's own tables (`market-api/migrations/`: SIWE nonces, hashed session tokens,
//! catalogue facts from `.ddrm` headers), applied by the API itself at start-up.
//!
//! They live in the index's database, beside the indexer's tables, and share its sqlx migration
//! history: the API's versions start at [`indexer::db::FIRST_SERVICE_MIGRATION`] and each
//! migrator ignores the other's versions (the scheme is explained at [`indexer::db::migrator`]).
//! Databases made before the API owned its migrations already hold version 1000, applied by the
//! indexer's migrator from this very file: the file must stay byte for byte the same, since its
//! checksum was recorded then and is checked now (so its comment that only uploads fill the
//! facts table stays, although the header backfill, [`crate::facts::backfill`], fills it too).

use indexer::read::ContentFacts;
use sqlx::migrate::Migrator;

/// The API's table of catalogue facts from `.ddrm` headers ([`crate::facts`]), which the
/// index's content reads join (`indexer::read`).
pub const CONTENT_FACTS: ContentFacts = ContentFacts {
    table: "api_content_meta",
};

/// The migrations in `market-api/migrations/`, embedded, ignoring the indexer's versions.
pub fn migrator() -> Migrator {
    let mut migrator = sqlx::migrate!("./migrations");
    migrator.set_ignore_missing(true);
    migrator
}

/// Creates or updates the API's tables in `db` (already opened, so the indexer's tables exist).
/// Run once before serving; running it again applies nothing.
pub async fn migrate(db: &indexer::Db) -> Result<(), indexer::IndexerError> {
    db.run_migrations(&migrator()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_migrations_stay_in_the_services_range() {
        let versions: Vec<i64> = migrator().iter().map(|m| m.version).collect();
        assert!(!versions.is_empty());
        assert!(
            versions
                .iter()
                .all(|&v| v >= indexer::db::FIRST_SERVICE_MIGRATION),
            "{versions:?}"
        );
    }
}

//! Each service migrates its own tables in the one database, and databases made when the
//! indexer's migrator also created the API's tables keep opening.

use std::path::Path;

use indexer::testing::TestPostgres;
use indexer::Db;
use sqlx::Row;

/// Migrates `url` the way the old layout did: one migrator over the indexer's migrations and
/// the API's, as if they were one folder.
async fn migrate_as_one_folder(url: &str) {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let folder = tempfile::tempdir().expect("tempdir");
    for dir in [
        manifest.join("../indexer/migrations"),
        manifest.join("migrations"),
    ] {
        for entry in std::fs::read_dir(&dir).expect("migrations folder") {
            let path = entry.expect("entry").path();
            std::fs::copy(&path, folder.path().join(path.file_name().unwrap())).expect("copy");
        }
    }
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.expect("connect");
    let old = sqlx::migrate::Migrator::new(folder.path())
        .await
        .expect("read the migrations");
    old.run(&pool).await.expect("the old layout's migration");
    pool.close().await;
}

async fn applied_versions(db: &Db) -> Vec<i64> {
    sqlx::query("SELECT version FROM _sqlx_migrations ORDER BY version")
        .fetch_all(db.pool())
        .await
        .expect("migration history")
        .iter()
        .map(|r| r.try_get(0).expect("version"))
        .collect()
}

/// Opens `url` as the indexer and the API do, and checks the API's tables are usable.
async fn open_as_the_services_do(url: &str) -> Vec<i64> {
    let db = Db::open(url).await.expect("the indexer opens the database");
    market_api::migrate(&db)
        .await
        .expect("the API migrates the database");
    // Again, as a restart does: nothing left to apply.
    Db::open(url).await.expect("the indexer opens it again");
    market_api::migrate(&db).await.expect("the API again");
    sqlx::query("INSERT INTO api_sessions (token_hash, address, expires_at) VALUES ($1, $2, $3)")
        .bind("00")
        .bind("0x0000000000000000000000000000000000000001")
        .bind(1_i64)
        .execute(db.pool())
        .await
        .expect("the API's tables exist");
    let versions = applied_versions(&db).await;
    db.close().await;
    versions
}

async fn both_layouts_agree(old_url: &str, new_url: &str) {
    migrate_as_one_folder(old_url).await;
    let old = open_as_the_services_do(old_url).await;
    let new = open_as_the_services_do(new_url).await;
    assert_eq!(old, new);
    assert!(old.contains(&1000), "{old:?}");
    assert!(
        old.iter()
            .any(|&v| v < indexer::db::FIRST_SERVICE_MIGRATION),
        "{old:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_database_of_the_old_layout_still_opens() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = |name: &str| format!("sqlite://{}?mode=rwc", dir.path().join(name).display());
    both_layouts_agree(&url("old.db"), &url("new.db")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_database_of_the_old_layout_still_opens() {
    let pg = TestPostgres::start().await;
    let old = pg.fresh_database().await;
    let new = pg.fresh_database().await;
    both_layouts_agree(&old, &new).await;
}

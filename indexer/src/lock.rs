//! One writer per index. PostgreSQL: a session advisory lock held on a dedicated connection.
//! SQLite: an exclusive lock on `<database>.lock` beside the file. Both are released when the
//! holder drops (or its process dies), so a killed indexer never blocks its successor.

use std::time::{Duration, Instant};

use sqlx::{AnyConnection, Connection, Row};

use crate::db::{redact, Backend, Db};
use crate::error::IndexerError;

/// The advisory lock key the indexer takes on PostgreSQL ("ddrmindx").
pub const ADVISORY_LOCK_KEY: i64 = 0x6464_726d_696e_6478;

/// Held while this process is the index's one writer.
#[derive(Debug)]
pub enum WriterLock {
    Postgres(AnyConnection),
    SqliteFile(std::fs::File),
    /// An in-memory SQLite database: private to this process.
    InMemory,
}

/// The SQLite database file a URL names (`None` for an in-memory database).
pub fn sqlite_path(url: &str) -> Option<std::path::PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    if path.is_empty() || path.contains(":memory:") {
        None
    } else {
        Some(path.into())
    }
}

/// Takes the writer lock, retrying for up to `wait` (a predecessor that just died may take a
/// moment to be noticed by PostgreSQL).
pub async fn acquire(db: &Db, wait: Duration) -> Result<WriterLock, IndexerError> {
    let deadline = Instant::now() + wait;
    loop {
        match try_acquire(db).await? {
            Some(lock) => return Ok(lock),
            None if Instant::now() >= deadline => {
                return Err(IndexerError::Locked(redact(db.url())));
            }
            None => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

async fn try_acquire(db: &Db) -> Result<Option<WriterLock>, IndexerError> {
    match db.backend() {
        Backend::Postgres => {
            let mut conn = AnyConnection::connect(db.url()).await?;
            let got: bool = sqlx::query("SELECT pg_try_advisory_lock($1)")
                .bind(ADVISORY_LOCK_KEY)
                .fetch_one(&mut conn)
                .await?
                .try_get(0)?;
            if got {
                Ok(Some(WriterLock::Postgres(conn)))
            } else {
                conn.close().await?;
                Ok(None)
            }
        }
        Backend::Sqlite => {
            let Some(path) = sqlite_path(db.url()) else {
                return Ok(Some(WriterLock::InMemory));
            };
            let (file, lock_path) = lock_file_beside(&path, ".lock")?;
            match file.try_lock() {
                Ok(()) => Ok(Some(WriterLock::SqliteFile(file))),
                Err(std::fs::TryLockError::WouldBlock) => Ok(None),
                Err(std::fs::TryLockError::Error(e)) => Err(IndexerError::LockFile {
                    path: lock_path.display().to_string(),
                    why: e.to_string(),
                }),
            }
        }
    }
}

/// Opens (creating) the lock file `<database><suffix>` beside a SQLite database.
fn lock_file_beside(
    database: &std::path::Path,
    suffix: &str,
) -> Result<(std::fs::File, std::path::PathBuf), IndexerError> {
    let mut p = database.as_os_str().to_owned();
    p.push(suffix);
    let lock_path = std::path::PathBuf::from(p);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| IndexerError::LockFile {
            path: lock_path.display().to_string(),
            why: e.to_string(),
        })?;
    Ok((file, lock_path))
}

/// Held while one process migrates a SQLite database: `<database>.migrate.lock`, taken by every
/// service's migrator (the indexer's and the market API's), so two services started together
/// apply each migration once instead of racing on `CREATE TABLE`. sqlx takes a lock of its own
/// only on PostgreSQL (an advisory lock); SQLite gets `None` from it. `Ok(None)` for PostgreSQL
/// and in-memory databases, which need no file lock.
pub(crate) async fn migration_lock(url: &str) -> Result<Option<std::fs::File>, IndexerError> {
    let Some(path) = sqlite_path(url) else {
        return Ok(None);
    };
    let (file, lock_path) = lock_file_beside(&path, ".migrate.lock")?;
    let failed = |why: String| IndexerError::LockFile {
        path: lock_path.display().to_string(),
        why,
    };
    // A migration takes milliseconds to seconds; waiting for it blocks one thread meanwhile.
    tokio::task::spawn_blocking(move || file.lock().map(|()| file))
        .await
        .map_err(|e| failed(e.to_string()))?
        .map(Some)
        .map_err(|e| failed(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_paths_are_read_from_urls() {
        assert_eq!(
            sqlite_path("sqlite:///tmp/a.db?mode=rwc"),
            Some("/tmp/a.db".into())
        );
        assert_eq!(sqlite_path("sqlite://rel.db"), Some("rel.db".into()));
        assert_eq!(sqlite_path("sqlite::memory:"), None);
    }

    /// `ddrm indexer` and `ddrm serve` started together on a new SQLite index: both open (and
    /// so migrate) at once. Without the migration lock the second failed on `CREATE TABLE`
    /// ("table blocks already exists").
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn services_opening_a_new_sqlite_index_together_migrate_it_once() {
        let dir = tempfile::tempdir().unwrap();
        for round in 0..8 {
            // No `mode`: opening makes the file.
            let url = format!(
                "sqlite://{}",
                dir.path().join(format!("{round}.db")).display()
            );
            let (a, b, c) = tokio::join!(Db::open(&url), Db::open(&url), Db::open(&url));
            for db in [a, b, c] {
                db.unwrap_or_else(|e| panic!("round {round}: {e}"));
            }
        }
    }

    #[tokio::test]
    async fn a_second_sqlite_writer_is_refused_until_the_first_drops() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("i.db").display());
        let db = Db::open(&url).await.unwrap();
        let first = acquire(&db, Duration::ZERO).await.unwrap();
        let err = acquire(&db, Duration::from_millis(200)).await.unwrap_err();
        assert!(matches!(err, IndexerError::Locked(_)), "{err}");
        drop(first);
        acquire(&db, Duration::ZERO).await.unwrap();
    }
}

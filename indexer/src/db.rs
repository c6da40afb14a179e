//! Opening the index and reading what belongs to the accounting model.
//!
//! One code path serves both backends through sqlx's `Any` driver: the schema uses only types
//! SQLite and PostgreSQL share, and amounts are canonical decimal text (see the migration), so
//! every query here runs unchanged on either.

use std::collections::BTreeMap;
use std::str::FromStr;

use alloy::primitives::{Address, U256};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyPool, Row, Transaction};

use crate::error::IndexerError;

/// Migration versions below this are the indexer's (`indexer/migrations/`); from it on they
/// belong to the services that share the index's database (the market API's start at 1000).
pub const FIRST_SERVICE_MIGRATION: i64 = 1000;

/// The migrations in `indexer/migrations/`, embedded, as a migrator that shares its database
/// with other services' migrators.
///
/// Why this works: sqlx 0.8 records every migrator's history in the one `_sqlx_migrations`
/// table of the database (its name is fixed before sqlx 0.9), keyed by version. Two migrators
/// share that table correctly when (1) their versions never collide — the indexer's are below
/// [`FIRST_SERVICE_MIGRATION`], the market API's at or above it (each crate has a test for its
/// range) — and (2) each ignores the versions the other applied (`set_ignore_missing`), which
/// sqlx otherwise refuses with `VersionMissing`. The versions a migrator owns are still checked
/// against their checksums. What the second rule gives up: a migration deleted from this folder
/// would go unnoticed, so migrations are never deleted. Both migrators take the same database
/// lock (PostgreSQL: an advisory lock per database), so they run one after the other.
pub fn migrator() -> sqlx::migrate::Migrator {
    let mut migrator = sqlx::migrate!("./migrations");
    migrator.set_ignore_missing(true);
    migrator
}

/// Connections in a pool on a file or server database.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 8;
/// How long a SQLite connection waits for another process's write lock before failing.
pub const SQLITE_BUSY_TIMEOUT_MS: u32 = 10_000;

/// File name of the embedded SQLite index inside the data directory.
pub const DEFAULT_SQLITE_FILE: &str = "index.sqlite";

/// A SQLite URL without a `mode` gets `mode=rwc`: the database is made when missing (sqlx's
/// default, `rw`, fails on a new file with "unable to open database file").
fn with_sqlite_create_mode(url: &str, backend: Backend) -> String {
    let in_memory = url.contains(":memory:");
    if backend != Backend::Sqlite || in_memory || url.contains("mode=") {
        return url.to_owned();
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}mode=rwc")
}

/// The default database: SQLite at `<data_dir>/index.sqlite`, created when missing. The
/// indexer and `ddrm serve` both use it when no URL is given.
pub fn default_sqlite_url(data_dir: &std::path::Path) -> String {
    format!(
        "sqlite://{}?mode=rwc",
        data_dir.join(DEFAULT_SQLITE_FILE).display()
    )
}

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of_url(url: &str) -> Result<Self, IndexerError> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else {
            Err(IndexerError::BadDatabaseUrl(redact(url)))
        }
    }
}

/// A URL without its password, for errors and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let user_info = &url[scheme + 3..at];
            let user = user_info.split(':').next().unwrap_or("");
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

/// The index: a pool over SQLite or PostgreSQL, migrated.
#[derive(Debug, Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    url: String,
}

/// One content's revenue owed to an account, as `RoyaltyShares` computes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Earning {
    /// `0x` + 64 hex digits.
    pub content_id: String,
    /// `0x0000…0000` for native ELA.
    pub payment_token: String,
    pub shares: u64,
    /// Equal to `RoyaltyShares.claimable(account, contentId)` at the indexed block.
    pub claimable: U256,
    /// Sum of the account's `Claimed` events for this content.
    pub claimed: U256,
}

/// The highest indexed block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockRef {
    pub number: u64,
    pub hash: String,
}

impl Db {
    /// Opens and migrates the database. A SQLite file is created when missing unless the URL
    /// names another `mode` (`mode=ro` opens read-only).
    pub async fn open(url: &str) -> Result<Self, IndexerError> {
        let backend = Backend::of_url(url)?;
        let url = &with_sqlite_create_mode(url, backend);
        sqlx::any::install_default_drivers();
        let options = AnyConnectOptions::from_str(url)
            .map_err(|_| IndexerError::BadDatabaseUrl(redact(url)))?;
        let in_memory = backend == Backend::Sqlite && url.contains(":memory:");
        let pool = AnyPoolOptions::new()
            // An in-memory SQLite database exists once per connection.
            .max_connections(if in_memory {
                1
            } else {
                DEFAULT_MAX_CONNECTIONS
            })
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL: readers (the API) never block the writer (the indexer).
                        sqlx::query("PRAGMA journal_mode = WAL")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA synchronous = NORMAL")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query(&format!("PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}"))
                            .execute(&mut *conn)
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        let db = Self {
            pool,
            backend,
            url: url.to_owned(),
        };
        db.run_migrations(&migrator()).await?;
        Ok(db)
    }

    /// Runs `migrator` (the indexer's, or another service's on the same database) while holding
    /// the database's migration lock, so services started together never race on a migration.
    pub async fn run_migrations(
        &self,
        migrator: &sqlx::migrate::Migrator,
    ) -> Result<(), IndexerError> {
        let _lock = crate::lock::migration_lock(&self.url).await?;
        migrator.run(&self.pool).await?;
        Ok(())
    }

    /// The pool. Readers of the index go through [`crate::read`] (and [`Db::earnings`]), which
    /// own its queries; services sharing this database use the pool for their own tables.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The URL this database was opened with (it may hold a password: never print it; see
    /// [`redact`]).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Closes the pool, waiting for its connections to finish.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The highest indexed block, if any.
    pub async fn head(&self) -> Result<Option<BlockRef>, IndexerError> {
        head_of(&self.pool).await
    }

    /// A read-only transaction whose reads all see one snapshot of the index (SQLite: a
    /// deferred transaction in WAL mode; PostgreSQL: `REPEATABLE READ`). The indexer commits
    /// each range together with its checkpoint, so what such a snapshot reads is the state as of
    /// the head it reads ([`head_of`] on the transaction).
    pub async fn begin_snapshot(&self) -> Result<Transaction<'static, Any>, IndexerError> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin().await?,
            Backend::Postgres => {
                self.pool
                    .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    .await?
            }
        })
    }

    /// What `account` can claim from each content it holds (or held) royalty shares of, to the
    /// wei. It mirrors `RoyaltyShares.claimable`: `owed + shares * (revenuePerShare -
    /// checkpoint)` over the mirrored per-holder record, in 256-bit integers.
    pub async fn earnings(&self, account: Address) -> Result<Vec<Earning>, IndexerError> {
        let account = address_text(account);
        let rows = sqlx::query(
            "SELECT h.content_id, c.payment_token, h.shares, h.checkpoint, h.owed, \
                    c.revenue_per_share \
             FROM royalty_holders h JOIN contents c ON c.content_id = h.content_id \
             WHERE h.account = $1 ORDER BY h.content_id",
        )
        .bind(&account)
        .fetch_all(&self.pool)
        .await?;
        let claims = sqlx::query("SELECT content_id, amount FROM claims WHERE account = $1")
            .bind(&account)
            .fetch_all(&self.pool)
            .await?;
        let mut claimed: BTreeMap<String, U256> = BTreeMap::new();
        for r in claims {
            let id: String = r.try_get(0)?;
            let amount = parse_amount("claims", "amount", &r.try_get::<String, _>(1)?)?;
            *claimed.entry(id).or_default() += amount;
        }
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let content_id: String = r.try_get(0)?;
            let shares: i64 = r.try_get(2)?;
            let record = HolderRecord {
                shares: u64::try_from(shares).map_err(|_| IndexerError::Corrupt {
                    table: "royalty_holders",
                    column: "shares",
                    value: shares.to_string(),
                })?,
                checkpoint: parse_amount(
                    "royalty_holders",
                    "checkpoint",
                    &r.try_get::<String, _>(3)?,
                )?,
                owed: parse_amount("royalty_holders", "owed", &r.try_get::<String, _>(4)?)?,
            };
            let rps = parse_amount("contents", "revenue_per_share", &r.try_get::<String, _>(5)?)?;
            out.push(Earning {
                claimed: claimed.get(&content_id).copied().unwrap_or_default(),
                content_id,
                payment_token: r.try_get(1)?,
                shares: record.shares,
                claimable: record.claimable(rps),
            });
        }
        Ok(out)
    }

    /// Every table's rows in a canonical text form (sorted, every value as text): two indexes
    /// of the same chain compare equal. For tests and diagnostics.
    pub async fn dump(&self) -> Result<String, IndexerError> {
        let tables: Vec<String> = match self.backend {
            Backend::Sqlite => sqlx::query(
                "SELECT name FROM sqlite_master WHERE type = 'table' \
                 AND name NOT LIKE 'sqlite%' AND name NOT LIKE '\\_%' ESCAPE '\\' ORDER BY name",
            ),
            Backend::Postgres => sqlx::query(
                "SELECT CAST(table_name AS TEXT) FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_name NOT LIKE '\\_%' \
                 ORDER BY table_name",
            ),
        }
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| r.try_get::<String, _>(0))
        .collect::<Result<_, _>>()?;
        let mut out = String::new();
        for table in tables {
            let columns: Vec<String> = match self.backend {
                Backend::Sqlite => {
                    sqlx::query("SELECT name FROM pragma_table_info($1) ORDER BY cid")
                }
                Backend::Postgres => sqlx::query(
                    "SELECT CAST(column_name AS TEXT) FROM information_schema.columns \
                     WHERE table_schema = current_schema() AND table_name = $1 \
                     ORDER BY ordinal_position",
                ),
            }
            .bind(&table)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| r.try_get::<String, _>(0))
            .collect::<Result<_, _>>()?;
            let select = columns
                .iter()
                .map(|c| format!("CAST({c} AS TEXT)"))
                .collect::<Vec<_>>()
                .join(", ");
            let rows = sqlx::query(&format!("SELECT {select} FROM {table}"))
                .fetch_all(&self.pool)
                .await?;
            let mut lines: Vec<String> = rows
                .iter()
                .map(|r| {
                    (0..columns.len())
                        .map(|i| {
                            r.try_get::<Option<String>, _>(i)
                                .map(|v| v.unwrap_or_else(|| "NULL".into()))
                        })
                        .collect::<Result<Vec<_>, _>>()
                        .map(|v| v.join("|"))
                })
                .collect::<Result<_, _>>()?;
            lines.sort();
            out.push_str(&format!("== {table} ({})\n", columns.join("|")));
            for l in lines {
                out.push_str(&l);
                out.push('\n');
            }
        }
        Ok(out)
    }
}

/// The highest indexed block, read through `executor` (the pool, or a connection or
/// transaction, e.g. one of [`Db::begin_snapshot`]).
pub async fn head_of<'e, E>(executor: E) -> Result<Option<BlockRef>, IndexerError>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let row = sqlx::query(
        "SELECT block_number, block_hash FROM blocks ORDER BY block_number DESC LIMIT 1",
    )
    .fetch_optional(executor)
    .await?;
    Ok(match row {
        Some(r) => Some(BlockRef {
            number: block_number(r.try_get(0)?)?,
            hash: r.try_get(1)?,
        }),
        None => None,
    })
}

/// `RoyaltyShares`' per-holder record (`Holder`), mirrored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HolderRecord {
    pub shares: u64,
    pub checkpoint: U256,
    pub owed: U256,
}

impl HolderRecord {
    /// `RoyaltyShares.claimable`: `owed + shares * (revenuePerShare - checkpoint)`. A holder's
    /// checkpoint never exceeds the content's revenue per share (it is only ever set to it).
    pub fn claimable(&self, revenue_per_share: U256) -> U256 {
        self.owed + U256::from(self.shares) * revenue_per_share.saturating_sub(self.checkpoint)
    }

    /// `RoyaltyShares._move`'s settlement: earnings so far move into `owed`, the checkpoint
    /// becomes the current revenue per share.
    pub fn settle(&mut self, revenue_per_share: U256) {
        self.owed = self.claimable(revenue_per_share);
        self.checkpoint = revenue_per_share;
    }
}

/// An address as the index stores it: lowercase `0x` hex.
pub fn address_text(a: Address) -> String {
    format!("{a:#x}")
}

/// A content id as the index stores it: `0x` + 64 lowercase hex digits.
pub fn content_id_text(id: U256) -> String {
    format!("0x{}", hex::encode(id.to_be_bytes::<32>()))
}

/// A 32-byte hash as lowercase `0x` hex.
pub fn hash_text(h: alloy::primitives::B256) -> String {
    format!("{h:#x}")
}

/// An amount as the index stores it: canonical decimal.
pub fn amount_text(v: U256) -> String {
    v.to_string()
}

/// Parses a stored decimal amount.
pub fn parse_amount(
    table: &'static str,
    column: &'static str,
    s: &str,
) -> Result<U256, IndexerError> {
    U256::from_str_radix(s, 10).map_err(|_| IndexerError::Corrupt {
        table,
        column,
        value: s.to_owned(),
    })
}

pub(crate) fn block_number(v: i64) -> Result<u64, IndexerError> {
    u64::try_from(v).map_err(|_| IndexerError::Corrupt {
        table: "blocks",
        column: "block_number",
        value: v.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sqlite_url_without_a_mode_creates_its_file() {
        for (url, backend, want) in [
            (
                "sqlite:///d/i.db",
                Backend::Sqlite,
                "sqlite:///d/i.db?mode=rwc",
            ),
            (
                "sqlite:///d/i.db?x=1",
                Backend::Sqlite,
                "sqlite:///d/i.db?x=1&mode=rwc",
            ),
            (
                "sqlite:///d/i.db?mode=ro",
                Backend::Sqlite,
                "sqlite:///d/i.db?mode=ro",
            ),
            ("sqlite::memory:", Backend::Sqlite, "sqlite::memory:"),
            ("postgres://u@h/db", Backend::Postgres, "postgres://u@h/db"),
        ] {
            assert_eq!(with_sqlite_create_mode(url, backend), want, "{url}");
        }
    }

    #[test]
    fn passwords_never_appear_in_redacted_urls() {
        assert_eq!(
            redact("postgres://ddrm:s3cret@127.0.0.1:5432/index"),
            "postgres://ddrm:***@127.0.0.1:5432/index"
        );
        assert_eq!(redact("sqlite://x.db?mode=rwc"), "sqlite://x.db?mode=rwc");
        let err = Backend::of_url("mysql://u:pw@h/db")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("pw@"), "{err}");
    }

    #[test]
    fn claimable_mirrors_the_contract() {
        let mut h = HolderRecord {
            shares: 2_500,
            checkpoint: U256::from(10u64),
            owed: U256::from(7u64),
        };
        assert_eq!(h.claimable(U256::from(14u64)), U256::from(7 + 2_500 * 4u64));
        h.settle(U256::from(14u64));
        assert_eq!(h.owed, U256::from(10_007u64));
        assert_eq!(h.checkpoint, U256::from(14u64));
        assert_eq!(h.claimable(U256::from(14u64)), U256::from(10_007u64));
    }

    #[test]
    fn the_indexer_migrations_stay_below_the_services_range() {
        let versions: Vec<i64> = migrator().iter().map(|m| m.version).collect();
        assert!(!versions.is_empty());
        assert!(
            versions.iter().all(|&v| v < FIRST_SERVICE_MIGRATION),
            "{versions:?}"
        );
    }

    #[tokio::test]
    async fn sqlite_opens_migrates_and_dumps() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("i.db").display());
        let db = Db::open(&url).await.unwrap();
        assert_eq!(db.backend(), Backend::Sqlite);
        assert_eq!(db.head().await.unwrap(), None);
        let dump = db.dump().await.unwrap();
        assert!(
            dump.contains("== royalty_holders (content_id|account|shares|checkpoint|owed)"),
            "{dump}"
        );
        assert!(!dump.contains("_sqlx_migrations"), "{dump}");
        // Opening again runs no migration twice.
        Db::open(&url).await.unwrap();
    }
}

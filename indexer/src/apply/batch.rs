//! Row batching: values of rows written later, in multi-row statements (`INSERT … VALUES
//! (…), (…)`), since one statement per row is what made indexing slow (see BENCHMARKS.md).

use std::fmt::Write as _;

use sqlx::AnyConnection;

use super::ChainLog;
use crate::db::hash_text;
use crate::error::IndexerError;

/// A value of a deferred insert.
#[derive(Debug, Clone)]
pub(super) enum Val {
    Text(String),
    Int(Option<i64>),
}

impl From<String> for Val {
    fn from(v: String) -> Self {
        Self::Text(v)
    }
}
impl From<&String> for Val {
    fn from(v: &String) -> Self {
        Self::Text(v.clone())
    }
}
impl From<&str> for Val {
    fn from(v: &str) -> Self {
        Self::Text(v.to_owned())
    }
}
impl From<i64> for Val {
    fn from(v: i64) -> Self {
        Self::Int(Some(v))
    }
}
impl From<Option<i64>> for Val {
    fn from(v: Option<i64>) -> Self {
        Self::Int(v)
    }
}

/// Rows per multi-row INSERT (well under SQLite's and PostgreSQL's bind-parameter limits).
const ROWS_PER_INSERT: usize = 400;

/// Runs `head VALUES (…), (…) … tail` over `rows` in chunks; returns the statements' results.
pub(super) async fn insert_rows(
    conn: &mut AnyConnection,
    head: &str,
    tail: &str,
    rows: &[Vec<Val>],
) -> Result<Vec<sqlx::any::AnyRow>, IndexerError> {
    // SQLite looks a named parameter (`$n`) up by walking the statement's list of names, so
    // binding N of them costs N²: a 400-row statement spent most of its time there. Anonymous
    // `?` parameters bind by position.
    let positional = conn.backend_name() == <sqlx::Sqlite as sqlx::Database>::NAME;
    let mut returned = Vec::new();
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        let mut sql = String::with_capacity(head.len() + chunk.len() * 64);
        sql.push_str(head);
        sql.push_str(" VALUES ");
        let mut n = 0;
        for (i, row) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            for j in 0..row.len() {
                if j > 0 {
                    sql.push_str(", ");
                }
                n += 1;
                if positional {
                    sql.push('?');
                } else {
                    let _ = write!(sql, "${n}");
                }
            }
            sql.push(')');
        }
        sql.push(' ');
        sql.push_str(tail);
        let mut q = sqlx::query(&sql);
        for row in chunk {
            for v in row {
                q = match v {
                    Val::Text(t) => q.bind(t.clone()),
                    Val::Int(i) => q.bind(*i),
                };
            }
        }
        returned.extend(q.fetch_all(&mut *conn).await?);
    }
    Ok(returned)
}

/// The first columns of every per-event row: block hash, log index, block number, block time
/// and transaction hash.
pub(super) fn event_position(log: &ChainLog) -> Result<Vec<Val>, IndexerError> {
    Ok(vec![
        Val::from(hash_text(log.block_hash)),
        Val::from(int(log.log_index, "log index")?),
        Val::from(int(log.block_number, "block number")?),
        Val::from(int(log.block_time, "block time")?),
        Val::from(hash_text(log.tx_hash)),
    ])
}

/// A u64 as a BIGINT.
pub(super) fn int(v: u64, what: &'static str) -> Result<i64, IndexerError> {
    i64::try_from(v).map_err(|_| IndexerError::Corrupt {
        table: "(event)",
        column: what,
        value: v.to_string(),
    })
}

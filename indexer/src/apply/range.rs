//! The range loop: one block range written inside the caller's transaction, and the rebuild of
//! every derived table from the stored raw logs, both through the same fold.

use std::collections::HashSet;

use contracts_bindings::Contracts;
use sqlx::{AnyConnection, Row};

use super::batch::{insert_rows, int, Val};
use super::decode::{event_name, stored_log};
use super::fold::Fold;
use super::{BlockHeader, ChainLog, DERIVED_TABLES};
use crate::db::{address_text, hash_text};
use crate::error::IndexerError;

/// Writes one block range: checkpoints for `blocks`, then every log (already in chain order)
/// not stored before. Returns how many logs were applied. The caller commits.
pub async fn apply_range(
    conn: &mut AnyConnection,
    contracts: &Contracts,
    blocks: &[BlockHeader],
    logs: &[ChainLog],
) -> Result<usize, IndexerError> {
    if let Some(first) = blocks.first() {
        drop_previous_head(conn, first).await?;
    }
    insert_checkpoints(conn, blocks).await?;
    // Raw logs first, in batches; only those not stored before are folded.
    let inserted = insert_raw_logs(conn, contracts, logs).await?;
    let mut fold = Fold::new(conn, *contracts);
    let mut applied = 0;
    for log in logs {
        let key = (hash_text(log.block_hash), int(log.log_index, "log index")?);
        if inserted.contains(&key) {
            fold.apply(log).await?;
            applied += 1;
        }
    }
    fold.flush().await?;
    Ok(applied)
}

/// The previous range's last block stays a checkpoint only if it holds events: the new range's
/// last block (after `first`) takes over as the head, so the trail does not depend on how the
/// chain was cut into ranges.
async fn drop_previous_head(
    conn: &mut AnyConnection,
    first: &BlockHeader,
) -> Result<(), IndexerError> {
    sqlx::query(
        "DELETE FROM blocks WHERE block_number = \
         (SELECT MAX(block_number) FROM blocks WHERE block_number < $1) \
         AND NOT EXISTS (SELECT 1 FROM raw_events e WHERE e.block_number = blocks.block_number)",
    )
    .bind(int(first.number, "block number")?)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The checkpoints of `blocks` (a block already stored keeps its row).
async fn insert_checkpoints(
    conn: &mut AnyConnection,
    blocks: &[BlockHeader],
) -> Result<(), IndexerError> {
    let block_rows = blocks
        .iter()
        .map(|b| {
            Ok(vec![
                Val::from(int(b.number, "block number")?),
                Val::from(hash_text(b.hash)),
                Val::from(hash_text(b.parent_hash)),
                Val::from(int(b.time, "block time")?),
            ])
        })
        .collect::<Result<Vec<_>, IndexerError>>()?;
    insert_rows(
        conn,
        "INSERT INTO blocks (block_number, block_hash, parent_hash, block_time)",
        "ON CONFLICT (block_number) DO NOTHING",
        &block_rows,
    )
    .await?;
    Ok(())
}

/// Stores `logs` as received; returns the (block hash, log index) of those not stored before.
async fn insert_raw_logs(
    conn: &mut AnyConnection,
    contracts: &Contracts,
    logs: &[ChainLog],
) -> Result<HashSet<(String, i64)>, IndexerError> {
    let mut rows = Vec::with_capacity(logs.len());
    for log in logs {
        rows.push(vec![
            Val::from(hash_text(log.block_hash)),
            Val::from(int(log.log_index, "log index")?),
            Val::from(int(log.block_number, "block number")?),
            Val::from(hash_text(log.tx_hash)),
            Val::from(address_text(log.address)),
            Val::from(event_name(contracts, log)),
            Val::from(
                log.topics
                    .iter()
                    .map(|t| hash_text(*t))
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            Val::from(format!("0x{}", hex::encode(&log.data))),
        ]);
    }
    let inserted = insert_rows(
        conn,
        "INSERT INTO raw_events \
         (block_hash, log_index, block_number, tx_hash, address, name, topics, data)",
        "ON CONFLICT (block_hash, log_index) DO NOTHING RETURNING block_hash, log_index",
        &rows,
    )
    .await?
    .iter()
    .map(|r| Ok((r.try_get::<String, _>(0)?, r.try_get::<i64, _>(1)?)))
    .collect::<Result<_, sqlx::Error>>()?;
    Ok(inserted)
}

/// Empties the derived tables and folds every stored raw log again, in chain order.
pub async fn rebuild(
    conn: &mut AnyConnection,
    contracts: &Contracts,
) -> Result<usize, IndexerError> {
    for table in DERIVED_TABLES {
        sqlx::query(&format!("DELETE FROM {table}"))
            .execute(&mut *conn)
            .await?;
    }
    const PAGE: i64 = 5_000;
    let mut after: (i64, i64) = (-1, -1);
    let mut fold = Fold::new(conn, *contracts);
    let mut applied = 0;
    loop {
        let rows = sqlx::query(
            "SELECT e.block_number, e.log_index, e.block_hash, b.block_time, e.tx_hash, \
                    e.address, e.topics, e.data \
             FROM raw_events e JOIN blocks b ON b.block_number = e.block_number \
             WHERE e.block_number > $1 OR (e.block_number = $1 AND e.log_index > $2) \
             ORDER BY e.block_number, e.log_index LIMIT $3",
        )
        .bind(after.0)
        .bind(after.1)
        .bind(PAGE)
        .fetch_all(&mut *fold.conn)
        .await?;
        if rows.is_empty() {
            break;
        }
        for r in &rows {
            let log = stored_log(r)?;
            after = (
                int(log.block_number, "block number")?,
                int(log.log_index, "log index")?,
            );
            fold.apply(&log).await?;
            applied += 1;
        }
    }
    fold.flush().await?;
    Ok(applied)
}

//! The append-only, hash-chained audit log of a node's decisions.
//!
//! One JSON object per line: `{"entry": {...}, "hash": "<hex>"}` where `hash` is
//! SHA-256 of the compact JSON encoding of `entry` (fields in the order of [`AuditEntry`]), and
//! `entry.prev` is the previous line's hash (64 zeros for the first line), `entry.seq` its
//! 0-based line number. Editing any field, dropping or reordering a line breaks the chain;
//! [`verify_file`] names the first broken line. Dropping lines at the *end* leaves a shorter valid
//! chain: compare the head hash (`/v1/info`, `audit verify`) with a copy kept elsewhere.
//!
//! Lines are written by one thread that batches concurrent entries and calls `fsync` once per
//! batch; a decision is answered only after its line is on disk.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use licence_net_protocol::{Address, B256, U256};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::oneshot;

/// What a node decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Granted,
    Refused,
}

/// The facts of one decision, before the log places it in the chain.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditFacts {
    /// Refusal code (see `PROTOCOL.md`), `None` when granted.
    pub reason: Option<String>,
    pub detail: Option<String>,
    /// The recovered signer, once the signature verified.
    pub account: Option<Address>,
    pub content_id: Option<U256>,
    pub nonce: Option<B256>,
    pub expiry: Option<u64>,
    pub request_hash: Option<B256>,
    pub measurement: Option<B256>,
    pub runtime: Option<Address>,
    /// The block the rights were read at.
    pub block: Option<u64>,
    pub play_until: Option<u64>,
}

/// One line's entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditEntry {
    pub seq: u64,
    pub prev: B256,
    /// Unix seconds.
    pub time: u64,
    pub node: u32,
    pub decision: Decision,
    pub facts: AuditFacts,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    entry: AuditEntry,
    hash: B256,
}

fn entry_hash(entry: &AuditEntry) -> B256 {
    let bytes = serde_json::to_vec(entry).expect("audit entry serializes");
    B256::from(<[u8; 32]>::from(Sha256::digest(bytes)))
}

/// Problems with an audit log.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("cannot open audit log {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("audit log {path}, line {line}: {why}")]
    Broken {
        path: String,
        line: u64,
        why: String,
    },
    #[error("the audit log writer stopped")]
    WriterStopped,
    #[error("cannot write the audit log: {0}")]
    Write(String),
}

/// What a verified log contains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditSummary {
    pub entries: u64,
    pub granted: u64,
    pub refused: u64,
    /// Hash of the last line (zeros for an empty log).
    pub head: B256,
}

/// Reads and checks a whole log: every line parses, its hash matches its entry, its `seq`
/// follows the previous one and its `prev` is the previous line's hash.
pub fn verify_file(path: &Path) -> Result<AuditSummary, AuditError> {
    read_chain(path).map(|(summary, _)| summary)
}

pub(crate) fn read_chain(path: &Path) -> Result<(AuditSummary, Vec<AuditEntry>), AuditError> {
    let p = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|source| AuditError::Io {
        path: p.clone(),
        source,
    })?;
    let mut summary = AuditSummary {
        entries: 0,
        granted: 0,
        refused: 0,
        head: B256::ZERO,
    };
    let mut entries = Vec::new();
    for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
        let n = n as u64 + 1;
        let broken = |why: String| AuditError::Broken {
            path: p.clone(),
            line: n,
            why,
        };
        let line = line.map_err(|e| broken(format!("unreadable: {e}")))?;
        let parsed: Line =
            serde_json::from_str(&line).map_err(|e| broken(format!("not an audit line: {e}")))?;
        if entry_hash(&parsed.entry) != parsed.hash {
            return Err(broken(
                "the entry does not match its hash (edited)".to_string(),
            ));
        }
        if parsed.entry.seq != summary.entries {
            return Err(broken(format!(
                "sequence number {} where {} was expected (a line was dropped or moved)",
                parsed.entry.seq, summary.entries
            )));
        }
        if parsed.entry.prev != summary.head {
            return Err(broken(
                "does not chain to the previous line (a line was dropped, moved or edited)"
                    .to_string(),
            ));
        }
        summary.entries += 1;
        summary.head = parsed.hash;
        match parsed.entry.decision {
            Decision::Granted => summary.granted += 1,
            Decision::Refused => summary.refused += 1,
        }
        entries.push(parsed.entry);
    }
    Ok((summary, entries))
}

type Job = (Decision, AuditFacts, oneshot::Sender<Result<B256, String>>);

/// The writing end of a node's audit log.
#[derive(Debug)]
pub struct AuditLog {
    tx: std::sync::mpsc::Sender<Job>,
    head: std::sync::Arc<std::sync::Mutex<(u64, B256)>>,
    path: PathBuf,
}

impl AuditLog {
    /// Opens (or creates) the log at `path` for node `node`, verifying what is already there.
    /// Returns the existing entries (the node rebuilds its nonce store from them).
    pub fn open(path: &Path, node: u32) -> Result<(Self, Vec<AuditEntry>), AuditError> {
        let p = path.display().to_string();
        let io = |source| AuditError::Io {
            path: p.clone(),
            source,
        };
        let (summary, entries) = if path.exists() {
            read_chain(path)?
        } else {
            (
                AuditSummary {
                    entries: 0,
                    granted: 0,
                    refused: 0,
                    head: B256::ZERO,
                },
                Vec::new(),
            )
        };
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(io)?;
        let head = std::sync::Arc::new(std::sync::Mutex::new((summary.entries, summary.head)));
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        let writer_head = head.clone();
        std::thread::Builder::new()
            .name(format!("audit-{node}"))
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    let mut batch = vec![first];
                    while batch.len() < 512 {
                        match rx.try_recv() {
                            Ok(job) => batch.push(job),
                            Err(_) => break,
                        }
                    }
                    let mut text = String::new();
                    let mut acks = Vec::with_capacity(batch.len());
                    let (mut seq, mut prev) = *writer_head.lock().expect("audit head lock");
                    let time = now_secs();
                    for (decision, facts, ack) in batch {
                        let entry = AuditEntry {
                            seq,
                            prev,
                            time,
                            node,
                            decision,
                            facts,
                        };
                        let hash = entry_hash(&entry);
                        text.push_str(
                            &serde_json::to_string(&Line { entry, hash })
                                .expect("audit line serializes"),
                        );
                        text.push('\n');
                        acks.push((ack, hash));
                        seq += 1;
                        prev = hash;
                    }
                    let written = file
                        .write_all(text.as_bytes())
                        .and_then(|()| file.sync_data());
                    match written {
                        Ok(()) => {
                            *writer_head.lock().expect("audit head lock") = (seq, prev);
                            for (ack, hash) in acks {
                                let _ = ack.send(Ok(hash));
                            }
                        }
                        Err(e) => {
                            // A log that cannot be written stops the node from granting.
                            for (ack, _) in acks {
                                let _ = ack.send(Err(e.to_string()));
                            }
                            return;
                        }
                    }
                }
            })
            .map_err(io)?;
        Ok((
            Self {
                tx,
                head,
                path: path.to_owned(),
            },
            entries,
        ))
    }

    /// Appends a decision and waits until it is on disk.
    pub async fn record(&self, decision: Decision, facts: AuditFacts) -> Result<B256, AuditError> {
        let (ack, done) = oneshot::channel();
        self.tx
            .send((decision, facts, ack))
            .map_err(|_| AuditError::WriterStopped)?;
        done.await
            .map_err(|_| AuditError::WriterStopped)?
            .map_err(AuditError::Write)
    }

    /// Number of lines and the hash of the last one.
    pub fn head(&self) -> (u64, B256) {
        *self.head.lock().expect("audit head lock")
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

pub(crate) fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn write_log(path: &Path, n: usize) {
        let (log, _) = AuditLog::open(path, 0).unwrap();
        for i in 0..n {
            let decision = if i % 2 == 0 {
                Decision::Granted
            } else {
                Decision::Refused
            };
            let facts = AuditFacts {
                reason: (i % 2 == 1).then(|| "no_access".to_string()),
                expiry: Some(i as u64),
                ..Default::default()
            };
            log.record(decision, facts).await.unwrap();
        }
    }

    #[tokio::test]
    async fn a_written_log_verifies_and_reopens_where_it_ended() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jsonl");
        write_log(&path, 5).await;
        let s = verify_file(&path).unwrap();
        assert_eq!((s.entries, s.granted, s.refused), (5, 3, 2));
        write_log(&path, 2).await;
        let s2 = verify_file(&path).unwrap();
        assert_eq!(s2.entries, 7);
        assert_ne!(s2.head, s.head);
    }

    #[tokio::test]
    async fn edits_drops_and_reorders_are_detected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jsonl");
        write_log(&path, 4).await;
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();

        let edited = text.replacen("\"expiry\":2", "\"expiry\":3", 1);
        std::fs::write(&path, &edited).unwrap();
        let e = verify_file(&path).unwrap_err().to_string();
        assert!(e.contains("line 3") && e.contains("edited"), "{e}");

        let dropped = [lines[0], lines[2], lines[3]].join("\n") + "\n";
        std::fs::write(&path, dropped).unwrap();
        let e = verify_file(&path).unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("dropped"), "{e}");

        let swapped = [lines[0], lines[2], lines[1], lines[3]].join("\n") + "\n";
        std::fs::write(&path, swapped).unwrap();
        let e = verify_file(&path).unwrap_err().to_string();
        assert!(e.contains("line 2"), "{e}");

        // Re-hashing an edited entry still breaks the link from the next line.
        let mut entries: Vec<Line> = lines
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        entries[1].entry.facts.reason = Some("granted really".into());
        entries[1].hash = entry_hash(&entries[1].entry);
        let rehashed: String = entries
            .iter()
            .map(|l| serde_json::to_string(l).unwrap() + "\n")
            .collect();
        std::fs::write(&path, rehashed).unwrap();
        let e = verify_file(&path).unwrap_err().to_string();
        assert!(e.contains("line 3") && e.contains("chain"), "{e}");

        // A node refuses to start on a broken log.
        assert!(AuditLog::open(&path, 0).is_err());
    }
}

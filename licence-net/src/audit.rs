//! The append-only, hash-chained audit log of a node's decisions.
//!
//! One JSON object per line: `{"entry": {...}, "hash": "<hex>"}` where `hash` is
//! SHA-256 of the compact JSON encoding of `entry` (fields in the order of [`AuditEntry`]), and
//! `entry.prev` is the previous line's hash (64 zeros for the first line), `entry.seq` its
//! 0-based line number. Editing any field, dropping or reordering a line breaks the chain;
//! [`verify_file`] names the first broken line. Dropping lines at the *end* leaves a shorter valid
//! chain: compare the head hash (`/v1/info`, `audit verify`) with a copy kept elsewhere.
//!
//! Lines are written by one thread that takes every decision queued while the previous `fsync`
//! ran and writes them with one `fsync` (group commit); a decision is answered only after its
//! line is on disk. The log must stay available under abuse, so:
//!
//! - the queue is bounded ([`AUDIT_QUEUE`]); when it is full, [`AuditLog::record`] fails at once
//!   with [`AuditError::Busy`] instead of growing memory or making every caller wait longer;
//! - a failed write (disk full, I/O error) fails that batch, truncates the file back to the end of
//!   the last batch that reached the disk, reopens it and carries on after a back-off: decisions
//!   during the outage are refused, and the log recovers by itself when the disk does;
//! - at open, the file is streamed (never held in memory) and a torn last line, one without its
//!   newline, is cut off: it is the tail of a batch whose `fsync` never returned, so it was never
//!   acknowledged. Any other broken line still stops the node (that is tampering, not a crash);
//! - [`bounded_detail`] keeps attacker-chosen text out of lines.
//!
//! Trade-off: the tail cut at open means a crash can lose unacknowledged decisions, never
//! acknowledged ones; and a node that cannot write answers `audit_unavailable` rather than
//! releasing anything unlogged.

use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use licence_net_protocol::{Address, RuntimeKind, B256, U256};
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
    /// What holds the runtime key (`file-secp256k1`: local development only). Absent in lines
    /// written before it was recorded, so their hashes still verify.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_kind: Option<RuntimeKind>,
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
    #[error("the audit log queue is full")]
    Busy,
    #[error("cannot write the audit log: {0}")]
    Write(String),
}

/// Most decisions waiting for the writer; past it [`AuditLog::record`] answers
/// [`AuditError::Busy`]. A queued line is at most a few hundred bytes (details are bounded), so
/// the queue holds at most a few MiB.
pub const AUDIT_QUEUE: usize = 4096;
/// Most decisions written with one `fsync`.
const MAX_BATCH: usize = 512;
/// Longest line read back; a longer one is broken (lines the node writes are far shorter).
const MAX_LINE_BYTES: u64 = 64 * 1024;
/// Longest free-text detail kept as is by [`bounded_detail`].
pub const MAX_DETAIL_BYTES: usize = 128;
/// Longest pause of the writer between two failed writes.
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// A refusal's explanation fit for the log: kept as is when it is printable ASCII of at most
/// [`MAX_DETAIL_BYTES`], otherwise replaced by `sha256:<hex>` of it, so that no long or
/// unprintable text (which could only come from a request) reaches a line, while an operator
/// who has the request can still match it.
pub fn bounded_detail(text: &str) -> String {
    if text.len() <= MAX_DETAIL_BYTES && text.bytes().all(|b| b == b' ' || b.is_ascii_graphic()) {
        text.to_string()
    } else {
        format!("sha256:{}", hex::encode(Sha256::digest(text.as_bytes())))
    }
}

/// What a verified log contains.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditSummary {
    pub entries: u64,
    pub granted: u64,
    pub refused: u64,
    /// Hash of the last line (zeros for an empty log).
    pub head: B256,
}

impl AuditSummary {
    fn empty() -> Self {
        Self {
            entries: 0,
            granted: 0,
            refused: 0,
            head: B256::ZERO,
        }
    }
}

/// Reads and checks a whole log: every line parses, its hash matches its entry, its `seq`
/// follows the previous one and its `prev` is the previous line's hash. A last line without its
/// newline (a torn write) is an error here; [`AuditLog::open`] cuts it off instead.
pub fn verify_file(path: &Path) -> Result<AuditSummary, AuditError> {
    let scan = scan_chain(path, |_| {})?;
    if scan.torn_bytes > 0 {
        return Err(AuditError::Broken {
            path: path.display().to_string(),
            line: scan.summary.entries + 1,
            why: format!(
                "incomplete last line ({} bytes without a newline: a write cut short, never acknowledged)",
                scan.torn_bytes
            ),
        });
    }
    Ok(scan.summary)
}

struct Scan {
    summary: AuditSummary,
    /// Bytes of complete, verified lines.
    good_len: u64,
    /// Bytes after them with no newline.
    torn_bytes: u64,
}

/// Streams the log line by line, verifying the chain and handing each entry to `visit`; keeps
/// only the summary in memory.
fn scan_chain(path: &Path, mut visit: impl FnMut(AuditEntry)) -> Result<Scan, AuditError> {
    let p = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|source| AuditError::Io {
        path: p.clone(),
        source,
    })?;
    let mut reader = std::io::BufReader::new(file);
    let mut summary = AuditSummary::empty();
    let mut good_len = 0u64;
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let n = summary.entries + 1;
        let broken = |why: String| AuditError::Broken {
            path: p.clone(),
            line: n,
            why,
        };
        let read = (&mut reader)
            .take(MAX_LINE_BYTES + 1)
            .read_until(b'\n', &mut buf)
            .map_err(|e| broken(format!("unreadable: {e}")))?;
        if read == 0 {
            break;
        }
        if buf.last() != Some(&b'\n') {
            if read as u64 > MAX_LINE_BYTES {
                return Err(broken(format!("longer than {MAX_LINE_BYTES} bytes")));
            }
            // End of file inside a line: only possible for the last one.
            return Ok(Scan {
                summary,
                good_len,
                torn_bytes: read as u64,
            });
        }
        let parsed: Line = serde_json::from_slice(&buf[..buf.len() - 1]).map_err(|e| {
            broken(format!(
                "not an audit line ({:?} error at column {})",
                e.classify(),
                e.column()
            ))
        })?;
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
        good_len += read as u64;
        visit(parsed.entry);
    }
    Ok(Scan {
        summary,
        good_len,
        torn_bytes: 0,
    })
}

type Job = (Decision, AuditFacts, oneshot::Sender<Result<B256, String>>);

/// What [`AuditLog::open`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    pub summary: AuditSummary,
    /// Bytes of a torn last line that were cut off (0 when the file ended cleanly).
    pub torn_bytes_removed: u64,
}

/// The writing end of a node's audit log.
#[derive(Debug)]
pub struct AuditLog {
    tx: std::sync::mpsc::SyncSender<Job>,
    head: Arc<Mutex<(u64, B256)>>,
    path: PathBuf,
}

struct Writer {
    path: PathBuf,
    node: u32,
    /// `None` after a failed write: reopened (and cut back to `good_len`) before the next one.
    file: Option<std::fs::File>,
    /// Length of the file up to the last batch that reached the disk.
    good_len: u64,
    head: Arc<Mutex<(u64, B256)>>,
    failures: u32,
}

impl Writer {
    fn run(mut self, rx: std::sync::mpsc::Receiver<Job>) {
        while let Ok(first) = rx.recv() {
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            let mut text = String::new();
            let mut acks = Vec::with_capacity(batch.len());
            let (mut seq, mut prev) = *self.head.lock().expect("audit head lock");
            let time = now_secs();
            for (decision, facts, ack) in batch {
                let entry = AuditEntry {
                    seq,
                    prev,
                    time,
                    node: self.node,
                    decision,
                    facts,
                };
                let hash = entry_hash(&entry);
                text.push_str(
                    &serde_json::to_string(&Line { entry, hash }).expect("audit line serializes"),
                );
                text.push('\n');
                acks.push((ack, hash));
                seq += 1;
                prev = hash;
            }
            match self.append(text.as_bytes()) {
                Ok(()) => {
                    self.failures = 0;
                    self.good_len += text.len() as u64;
                    *self.head.lock().expect("audit head lock") = (seq, prev);
                    for (ack, hash) in acks {
                        let _ = ack.send(Ok(hash));
                    }
                }
                Err(e) => {
                    // Nothing of this batch counts: the next write first cuts the file back.
                    self.file = None;
                    self.failures = self.failures.saturating_add(1);
                    for (ack, _) in acks {
                        let _ = ack.send(Err(e.to_string()));
                    }
                    let pause = Duration::from_millis(10)
                        .saturating_mul(1 << self.failures.min(7))
                        .min(MAX_BACKOFF);
                    std::thread::sleep(pause);
                }
            }
        }
    }

    fn append(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let file = match &mut self.file {
            Some(f) => f,
            None => {
                // Not `create`: a log that vanished must not restart as a new chain.
                let f = std::fs::OpenOptions::new().append(true).open(&self.path)?;
                f.set_len(self.good_len)?;
                self.file.insert(f)
            }
        };
        file.write_all(bytes)?;
        file.sync_data()
    }
}

impl AuditLog {
    /// Opens (or creates) the log at `path` for node `node`: streams and verifies what is
    /// already there, handing each entry to `visit` (the node rebuilds its replay store from the
    /// recent ones), and cuts off a torn last line.
    pub fn open(
        path: &Path,
        node: u32,
        visit: impl FnMut(AuditEntry),
    ) -> Result<(Self, Opened), AuditError> {
        let p = path.display().to_string();
        let io = |source| AuditError::Io {
            path: p.clone(),
            source,
        };
        let scan = if path.exists() {
            scan_chain(path, visit)?
        } else {
            Scan {
                summary: AuditSummary::empty(),
                good_len: 0,
                torn_bytes: 0,
            }
        };
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(io)?;
        if scan.torn_bytes > 0 {
            file.set_len(scan.good_len).map_err(io)?;
            file.sync_data().map_err(io)?;
        }
        let head = Arc::new(Mutex::new((scan.summary.entries, scan.summary.head)));
        let (tx, rx) = std::sync::mpsc::sync_channel::<Job>(AUDIT_QUEUE);
        let writer = Writer {
            path: path.to_owned(),
            node,
            file: Some(file),
            good_len: scan.good_len,
            head: head.clone(),
            failures: 0,
        };
        std::thread::Builder::new()
            .name(format!("audit-{node}"))
            .spawn(move || writer.run(rx))
            .map_err(io)?;
        Ok((
            Self {
                tx,
                head,
                path: path.to_owned(),
            },
            Opened {
                summary: scan.summary,
                torn_bytes_removed: scan.torn_bytes,
            },
        ))
    }

    /// Appends a decision and waits until it is on disk. Fails at once with
    /// [`AuditError::Busy`] when [`AUDIT_QUEUE`] decisions are already waiting.
    pub async fn record(&self, decision: Decision, facts: AuditFacts) -> Result<B256, AuditError> {
        let (ack, done) = oneshot::channel();
        self.tx
            .try_send((decision, facts, ack))
            .map_err(|e| match e {
                std::sync::mpsc::TrySendError::Full(_) => AuditError::Busy,
                std::sync::mpsc::TrySendError::Disconnected(_) => AuditError::WriterStopped,
            })?;
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

impl std::fmt::Display for AuditSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "audit log intact: {} entries ({} granted, {} refused), head {}",
            self.entries, self.granted, self.refused, self.head
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn write_log(path: &Path, n: usize) {
        let (log, _) = AuditLog::open(path, 0, |_| {}).unwrap();
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

    /// A log of `n` entries in a fresh folder (kept while the folder lives).
    async fn new_log(n: usize) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jsonl");
        write_log(&path, n).await;
        (dir, path)
    }

    #[tokio::test]
    async fn a_written_log_verifies_and_reopens_where_it_ended() {
        let (_dir, path) = new_log(5).await;
        let s = verify_file(&path).unwrap();
        assert_eq!((s.entries, s.granted, s.refused), (5, 3, 2));
        write_log(&path, 2).await;
        let s2 = verify_file(&path).unwrap();
        assert_eq!(s2.entries, 7);
        assert_ne!(s2.head, s.head);
    }

    #[tokio::test]
    async fn edits_drops_and_reorders_are_detected() {
        let (_dir, path) = new_log(4).await;
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
        assert!(AuditLog::open(&path, 0, |_| {}).is_err());
    }

    #[tokio::test]
    async fn a_torn_last_line_is_cut_off_at_open_and_the_chain_continues() {
        let (_dir, path) = new_log(3).await;
        let before = verify_file(&path).unwrap();
        let clean_len = std::fs::metadata(&path).unwrap().len();
        // A batch whose write was cut short: half a line, no newline.
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        let torn = br#"{"entry":{"seq":3,"prev":"0x"#;
        f.write_all(torn).unwrap();
        drop(f);
        let e = verify_file(&path).unwrap_err().to_string();
        assert!(
            e.contains("line 4") && e.contains("incomplete last line"),
            "{e}"
        );

        let mut seen = 0;
        let (log, opened) = AuditLog::open(&path, 0, |_| seen += 1).unwrap();
        assert_eq!(seen, 3);
        assert_eq!(opened.summary, before);
        assert_eq!(opened.torn_bytes_removed, torn.len() as u64);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), clean_len);
        log.record(Decision::Granted, AuditFacts::default())
            .await
            .unwrap();
        let after = verify_file(&path).unwrap();
        assert_eq!(after.entries, 4);
    }

    #[test]
    fn a_complete_but_unparseable_line_still_stops_the_node() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jsonl");
        std::fs::write(&path, "not json\n").unwrap();
        let e = AuditLog::open(&path, 0, |_| {}).unwrap_err().to_string();
        assert!(
            e.contains("line 1") && e.contains("not an audit line"),
            "{e}"
        );
        assert!(
            !e.contains("not json"),
            "the line's bytes are not echoed: {e}"
        );
    }

    #[test]
    fn details_are_kept_short_and_printable() {
        assert_eq!(
            bounded_detail("no access at block 7"),
            "no access at block 7"
        );
        let long = "a".repeat(30_000);
        let d = bounded_detail(&long);
        assert!(d.starts_with("sha256:") && d.len() == 71, "{d}");
        assert!(bounded_detail("line\nbreak").starts_with("sha256:"));
        assert!(bounded_detail("caf\u{e9}").starts_with("sha256:"));
    }
}

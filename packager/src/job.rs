//! Packaging as a child process: the protocol between a server that accepts untrusted files
//! (the pc2 role of `ddrm serve`) and the process that runs FFmpeg on them.
//!
//! FFmpeg's demuxers and decoders are large C code reading bytes an uploader chose. Run inside
//! the API process, a crash or a runaway allocation would take the server (and every other
//! owner's session) down, and a memory-safety bug would run with the server's rights. So the
//! server spawns a child with resource limits and speaks this protocol to it:
//!
//! - stdin: one [`JobSpec`] as JSON (at most [`MAX_SPEC_BYTES`]), then end of file;
//! - stdout: [`JobEvent`]s, one JSON object per line: any number of `progress`, then exactly
//!   one `done` or `failed` as the last line. A child that exits without a last line failed.
//!
//! Before it opens any input, the child confines itself with the job's [`Limits`]
//! (`setrlimit` on memory, CPU time, file size and open files; no core dumps; a lower
//! priority; killed if its parent dies). Setting them in the child, after the dynamic loader
//! has mapped FFmpeg's libraries and before the first untrusted byte is read, makes them exact:
//! set from the outside they would race the loader.
//!
//! The child holds the fresh content key only while it seals (the key never crosses this
//! protocol: the report, a [`PackageReport`], carries its commitment). [`run`] is the child's whole program; the
//! `ddrm` binary exposes it as a hidden subcommand.

use std::io::{BufRead, Read, Write};
use std::path::PathBuf;

use licence_net_protocol::{Address, GroupKey};
use serde::{Deserialize, Serialize};

use crate::{package, PackageError, PackageOptions, PackageReport, Progress};

/// Largest job specification read from stdin.
pub const MAX_SPEC_BYTES: u64 = 1024 * 1024;
/// Longest event line a parent should accept (a `failed` message is cut well below it).
pub const MAX_EVENT_LINE: usize = 64 * 1024;
/// Longest failure message sent.
const MAX_MESSAGE: usize = 2048;

/// What to package: the subset of [`PackageOptions`] a server may ask for (no key export).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobSpec {
    pub input: PathBuf,
    pub output: PathBuf,
    /// The licence network's group key as `GroupKey::to_json` writes it.
    pub group_key: String,
    #[serde(with = "hex32_list")]
    pub renderers: Vec<[u8; 32]>,
    pub title: Option<String>,
    pub creator: String,
    pub creator_account: Address,
    pub as_data: bool,
    pub description: Option<String>,
    /// The creator's picture, spooled beside the input.
    pub thumbnail: Option<PathBuf>,
    /// The creator's clear preview, spooled beside the input.
    pub preview: Option<PathBuf>,
    pub limits: Limits,
}

/// What the child may use; applied by the child to itself before it opens any input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Address space (`RLIMIT_AS`): allocations past it fail (the child aborts).
    pub memory_bytes: u64,
    /// CPU time (`RLIMIT_CPU`): `SIGXCPU` past it.
    pub cpu_seconds: u64,
    /// Largest file it may write (`RLIMIT_FSIZE`): `SIGXFSZ` past it.
    pub file_bytes: u64,
    /// Open files (`RLIMIT_NOFILE`).
    pub open_files: u64,
}

/// The child's scheduling niceness (higher is kinder to the server that started it).
const NICENESS: i32 = 10;

/// Sets `limits` on this process (never above the hard limits it inherited), forbids core
/// dumps, lowers its priority and has it killed when its parent dies.
fn confine(limits: &Limits) -> std::io::Result<()> {
    use rustix::process::{Resource, Rlimit};
    for (resource, value) in [
        (Resource::As, limits.memory_bytes),
        (Resource::Cpu, limits.cpu_seconds),
        (Resource::Fsize, limits.file_bytes),
        (Resource::Nofile, limits.open_files),
        (Resource::Core, 0),
    ] {
        let value = rustix::process::getrlimit(resource)
            .maximum
            .map_or(value, |hard| hard.min(value));
        let limit = Rlimit {
            current: Some(value),
            maximum: Some(value),
        };
        rustix::process::setrlimit(resource, limit)?;
    }
    rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL))?;
    rustix::process::setpriority_process(None, NICENESS)?;
    Ok(())
}

/// One line of the child's stdout.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum JobEvent {
    /// Packaging progress: bytes of data, or milliseconds of media (`total` 0 when unknown).
    Progress {
        done: u64,
        total: u64,
    },
    Done(Box<PackageReport>),
    Failed {
        kind: FailureKind,
        message: String,
    },
}

/// Why a child failed, as far as the uploader may be told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// FFmpeg could not read the file as media (the message says why).
    NotMedia,
    /// The packager refused the request or the input (the message says why).
    Invalid,
    /// Anything else (an I/O error, a bad spec); the message is for the operator's log.
    Other,
}

/// A child's failure to follow the protocol (before or after packaging).
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("cannot read the job: {0}")]
    Read(std::io::Error),
    #[error("the job is not valid: {0}")]
    Spec(String),
    #[error("cannot write an event: {0}")]
    Write(std::io::Error),
    #[error("cannot set the packaging limits: {0}")]
    Confine(std::io::Error),
}

/// The child's program: reads one spec from `input`, confines this process to the spec's
/// [`Limits`], packages, writes events to `output`. Returns `Ok` when the job ended with a
/// `done` or `failed` event the parent can read; a packaging failure is such an event, not an
/// error.
pub fn run(input: impl Read, output: impl Write) -> Result<(), JobError> {
    run_with(input, output, true)
}

/// [`run`] without confining this process: the protocol alone, for tests (which must not limit
/// the process that runs them).
pub fn run_unconfined(input: impl Read, output: impl Write) -> Result<(), JobError> {
    run_with(input, output, false)
}

fn run_with(input: impl Read, mut output: impl Write, confined: bool) -> Result<(), JobError> {
    let prepared = read_spec(input).and_then(|spec| {
        if confined {
            confine(&spec.limits).map_err(JobError::Confine)?;
        }
        let group_key =
            GroupKey::from_json(&spec.group_key).map_err(|e| JobError::Spec(e.to_string()))?;
        Ok((spec, group_key))
    });
    let (spec, group_key) = match prepared {
        Ok(prepared) => prepared,
        Err(e) => {
            let message = e.to_string();
            send(
                &mut output,
                &JobEvent::Failed {
                    kind: FailureKind::Other,
                    message,
                },
            )?;
            return Err(e);
        }
    };
    let opts = PackageOptions {
        input: spec.input,
        output: spec.output,
        group_key,
        renderers: spec.renderers,
        title: spec.title,
        creator: spec.creator,
        creator_account: spec.creator_account,
        as_data: spec.as_data,
        lossless: false,
        export_key: None,
        description: spec.description,
        thumbnail: spec.thumbnail,
        preview: spec.preview,
    };
    let mut write_error = None;
    let outcome = package(&opts, &mut |p| {
        let (done, total) = match p {
            Progress::Bytes { done, total } => (done, total),
            Progress::Media { done_ms, total_ms } => (done_ms, total_ms),
        };
        if write_error.is_none() {
            write_error = send(&mut output, &JobEvent::Progress { done, total }).err();
        }
    });
    if let Some(e) = write_error {
        return Err(e);
    }
    let last = match outcome {
        Ok(report) => JobEvent::Done(Box::new(report)),
        Err(e) => failure(&e),
    };
    send(&mut output, &last)
}

/// The `failed` event of a packaging error.
fn failure(e: &PackageError) -> JobEvent {
    let kind = match e {
        PackageError::Media(_) => FailureKind::NotMedia,
        PackageError::Invalid(_) => FailureKind::Invalid,
        _ => FailureKind::Other,
    };
    let mut message = e.to_string();
    if message.len() > MAX_MESSAGE {
        let mut cut = MAX_MESSAGE;
        while !message.is_char_boundary(cut) {
            cut -= 1;
        }
        message.truncate(cut);
    }
    JobEvent::Failed { kind, message }
}

fn read_spec(input: impl Read) -> Result<JobSpec, JobError> {
    let mut text = Vec::new();
    input
        .take(MAX_SPEC_BYTES + 1)
        .read_to_end(&mut text)
        .map_err(JobError::Read)?;
    if text.len() as u64 > MAX_SPEC_BYTES {
        return Err(JobError::Spec(format!(
            "longer than {MAX_SPEC_BYTES} bytes"
        )));
    }
    serde_json::from_slice(&text).map_err(|e| JobError::Spec(e.to_string()))
}

fn send(output: &mut impl Write, event: &JobEvent) -> Result<(), JobError> {
    let mut line = serde_json::to_vec(event).map_err(|e| JobError::Write(e.into()))?;
    line.push(b'\n');
    output.write_all(&line).map_err(JobError::Write)?;
    output.flush().map_err(JobError::Write)
}

/// Parses one event line of a child (the parent's side), refusing lines over
/// [`MAX_EVENT_LINE`].
pub fn parse_event(line: &[u8]) -> Result<JobEvent, String> {
    if line.len() > MAX_EVENT_LINE {
        return Err(format!("an event line longer than {MAX_EVENT_LINE} bytes"));
    }
    serde_json::from_slice(line).map_err(|e| format!("an unreadable event line: {e}"))
}

/// Reads a child's events from a blocking reader until its last one (tests and simple
/// parents; a server reads them asynchronously with [`parse_event`]).
pub fn read_events(output: impl BufRead) -> Result<Vec<JobEvent>, String> {
    let mut events = Vec::new();
    for line in output.split(b'\n') {
        let line = line.map_err(|e| e.to_string())?;
        let event = parse_event(&line)?;
        let last = !matches!(event, JobEvent::Progress { .. });
        events.push(event);
        if last {
            return Ok(events);
        }
    }
    Err("the child stopped before its last event".into())
}

mod hex32_list {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(list: &[[u8; 32]], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(list.iter().map(|b| format!("0x{}", hex::encode(b))))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<[u8; 32]>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|t| crate::hex32::parse(t).map_err(serde::de::Error::custom))
            .collect()
    }
}

//! The packaging child: FFmpeg runs on an uploader's bytes in a process of its own, under
//! resource limits, never inside the API process.
//!
//! The child is our own binary speaking [`packager::job`]'s protocol: its job carries its
//! [`Limits`], which it sets on itself (`setrlimit`) after its libraries are loaded and before
//! it opens the upload, so no untrusted byte is processed without them (and no `unsafe`
//! pre-exec hook is needed here). The child gets an empty environment (bar `PATH` and
//! `LD_LIBRARY_PATH`), runs at a lower priority so the API stays responsive, dies with its
//! parent, and is killed when its job is dropped or its wall-clock time is up.
//!
//! Trade-off: rlimits bound one process, not a process tree; the packager links FFmpeg as a
//! library and starts no processes of its own, so one process is the whole job.

use std::ffi::OsString;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use packager::job::{parse_event, FailureKind, JobEvent, JobSpec, Limits, MAX_EVENT_LINE};
use packager::PackageReport;
use rustix::process::Signal;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

/// Most of the child's stderr kept for the operator's log.
const MAX_STDERR: u64 = 8 * 1024;

/// How to start the packaging child: `program args…` must run [`packager::job::run`] on its
/// stdin and stdout (`ddrm package-job`).
#[derive(Debug, Clone)]
pub struct PackagerCommand {
    pub program: PathBuf,
    pub args: Vec<OsString>,
    pub limits: ChildLimits,
}

/// What one packaging child may use: the [`Limits`] it sets on itself, and its wall-clock time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChildLimits {
    /// Address space (`RLIMIT_AS`): allocations past it fail.
    pub memory_bytes: u64,
    /// CPU time (`RLIMIT_CPU`): the child is stopped by `SIGXCPU` past it.
    pub cpu_seconds: u64,
    /// Largest file it may write (`RLIMIT_FSIZE`, `SIGXFSZ` past it); `None`: twice the input
    /// plus [`OUTPUT_SLACK`], which any honest package fits in.
    pub file_bytes: Option<u64>,
    /// Open files (`RLIMIT_NOFILE`).
    pub open_files: u64,
    /// Wall-clock time, then `SIGKILL`.
    pub wall_time: Duration,
}

/// Room beyond twice the input for a package's header and segment table.
pub const OUTPUT_SLACK: u64 = 64 * 1024 * 1024;

impl ChildLimits {
    /// The limits of a child packaging an input of `input_bytes`.
    pub fn for_input(&self, input_bytes: u64) -> Limits {
        Limits {
            memory_bytes: self.memory_bytes,
            cpu_seconds: self.cpu_seconds,
            file_bytes: self
                .file_bytes
                .unwrap_or_else(|| input_bytes.saturating_mul(2).saturating_add(OUTPUT_SLACK)),
            open_files: self.open_files,
        }
    }
}

impl Default for ChildLimits {
    fn default() -> Self {
        Self {
            memory_bytes: 4 << 30,
            cpu_seconds: 30 * 60,
            file_bytes: None,
            open_files: 256,
            wall_time: Duration::from_secs(60 * 60),
        }
    }
}

/// Why a child did not deliver a package. `Display` is what the uploader may read; details
/// (`Crashed`, `Protocol`) go to the log.
#[derive(Debug, thiserror::Error)]
pub enum ChildFailure {
    #[error("the packager could not be started")]
    Spawn(#[source] std::io::Error),
    #[error("packaging needed more {0} than this PC2 allows")]
    Limit(&'static str),
    #[error("packaging took longer than {0} s")]
    TimedOut(u64),
    #[error("packaging stopped unexpectedly")]
    Crashed(String),
    #[error("packaging stopped unexpectedly")]
    Protocol(String),
    /// The packager's own refusal, as its last event.
    #[error("{message}")]
    Failed { kind: FailureKind, message: String },
}

/// Runs one job (its limits set, [`ChildLimits::for_input`]) in a child, calling
/// `progress(done, total)` on each progress event.
pub async fn run(
    command: &PackagerCommand,
    spec: &JobSpec,
    mut progress: impl FnMut(u64, u64),
) -> Result<PackageReport, ChildFailure> {
    let mut cmd = tokio::process::Command::new(&command.program);
    cmd.args(&command.args)
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for var in ["PATH", "LD_LIBRARY_PATH"] {
        if let Some(value) = std::env::var_os(var) {
            cmd.env(var, value);
        }
    }
    if let Some(dir) = spec.output.parent() {
        cmd.current_dir(dir);
    }
    let mut child = cmd.spawn().map_err(ChildFailure::Spawn)?;
    let job = serde_json::to_vec(spec).map_err(|e| ChildFailure::Protocol(e.to_string()))?;
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let stdout = child.stdout.take().expect("stdout is piped");
    let stderr = child.stderr.take().expect("stderr is piped");
    let stderr = tokio::spawn(keep_head(stderr));
    let deadline = command.limits.wall_time;
    let outcome = tokio::time::timeout(deadline, async {
        // A child that dies before reading its job closes the pipe: that shows in its status.
        let _ = stdin.write_all(&job).await;
        drop(stdin);
        let last = last_event(stdout, &mut progress).await;
        let status = child.wait().await;
        (last, status)
    })
    .await;
    let Ok((last, status)) = outcome else {
        let _ = child.start_kill();
        let _ = child.wait().await;
        return Err(ChildFailure::TimedOut(deadline.as_secs()));
    };
    let stderr = stderr.await.unwrap_or_default();
    let status = status.map_err(|e| ChildFailure::Crashed(e.to_string()))?;
    judge(last, status, &stderr)
}

/// Reads events until the last one (`done` or `failed`); `Err` names a protocol breach or
/// an early end.
async fn last_event(
    stdout: tokio::process::ChildStdout,
    progress: &mut impl FnMut(u64, u64),
) -> Result<JobEvent, String> {
    let mut reader = BufReader::new(stdout);
    loop {
        let mut line = Vec::new();
        let n = (&mut reader)
            .take(MAX_EVENT_LINE as u64 + 1)
            .read_until(b'\n', &mut line)
            .await
            .map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("the child ended before its last event".into());
        }
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        match parse_event(&line)? {
            JobEvent::Progress { done, total } => progress(done, total),
            last => return Ok(last),
        }
    }
}

/// The start of the child's stderr (the rest is read and dropped, so the child never blocks).
async fn keep_head(stderr: tokio::process::ChildStderr) -> String {
    let mut head = Vec::new();
    let mut stderr = stderr;
    let _ = (&mut stderr).take(MAX_STDERR).read_to_end(&mut head).await;
    let _ = tokio::io::copy(&mut stderr, &mut tokio::io::sink()).await;
    String::from_utf8_lossy(&head).into_owned()
}

/// The job's outcome from its last event and how the child ended.
fn judge(
    last: Result<JobEvent, String>,
    status: ExitStatus,
    stderr: &str,
) -> Result<PackageReport, ChildFailure> {
    match (last, status.signal()) {
        (Ok(JobEvent::Done(report)), None) if status.success() => Ok(*report),
        (Ok(JobEvent::Failed { kind, message }), None) => {
            Err(ChildFailure::Failed { kind, message })
        }
        (_, Some(signal)) if signal == Signal::XCPU.as_raw() => {
            Err(ChildFailure::Limit("CPU time"))
        }
        (_, Some(signal)) if signal == Signal::XFSZ.as_raw() => {
            Err(ChildFailure::Limit("disk space"))
        }
        _ if stderr.contains("memory allocation of") => Err(ChildFailure::Limit("memory")),
        (Ok(event), _) => Err(ChildFailure::Protocol(format!(
            "last event {event:?} with {status}"
        ))),
        (Err(e), _) => Err(ChildFailure::Crashed(format!(
            "{e}; {status}; stderr: {stderr}"
        ))),
    }
}

//! A real kubo daemon for tests, isolated from the public network and from the user's node.
//!
//! [`KuboDaemon::start`] finds the `ipfs` binary ([`kubo_binary`]), creates a repository in a
//! temporary directory with `ipfs init --profile=test` (no bootstrap peers, no MDNS, no
//! AutoConf, API/Gateway/Swarm on 127.0.0.1 port 0) plus `Routing.Type=none`, starts
//! `ipfs daemon`, and waits (bounded) until it is ready. Dropping the guard stops the daemon
//! and deletes the repository.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// Environment variable naming the `ipfs` binary to use.
pub const KUBO_BIN_ENV: &str = "DDRM_IPFS_BIN";
/// Where the project's setup script installs kubo.
pub const SETUP_KUBO_BIN: &str = "/var/tmp/ddrm-tools/bin/ipfs";
/// The kubo version the project is tested with.
pub const KUBO_VERSION: &str = "v0.38.1";

/// Limit for `ipfs init` and each `ipfs config` call.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// Limit for the daemon to report that it is ready.
const READY_TIMEOUT: Duration = Duration::from_secs(90);
const READY_LINE: &str = "Daemon is ready";

/// Why a kubo daemon could not be started.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// No kubo binary was found.
    #[error(
        "kubo (`ipfs`) not found; looked for: {tried}. Run scripts/setup.sh, which builds kubo \
         {version} from its Go module into /var/tmp/ddrm-tools/bin, or point {env} at an ipfs binary"
    )]
    KuboMissing {
        /// The places looked at, in order.
        tried: String,
        /// [`KUBO_VERSION`].
        version: &'static str,
        /// [`KUBO_BIN_ENV`].
        env: &'static str,
    },
    /// A command could not be run or failed.
    #[error("`{command}` failed: {message}")]
    Command {
        /// The command line.
        command: String,
        /// What happened, with the command's error output.
        message: String,
    },
    /// The daemon did not become ready.
    #[error("kubo daemon did not become ready: {message}")]
    NotReady {
        /// What happened, with the daemon's error output.
        message: String,
    },
    /// Preparing the temporary repository failed.
    #[error("kubo test repository: {0}")]
    Io(#[from] std::io::Error),
}

/// Finds the kubo binary: `$DDRM_IPFS_BIN`, else [`SETUP_KUBO_BIN`], else `ipfs` on `PATH`.
pub fn kubo_binary() -> Result<PathBuf, HarnessError> {
    let mut tried = Vec::new();
    if let Some(from_env) = std::env::var_os(KUBO_BIN_ENV) {
        let path = PathBuf::from(from_env);
        if path.is_file() {
            return Ok(path);
        }
        tried.push(format!("${KUBO_BIN_ENV}={}", path.display()));
    } else {
        tried.push(format!("${KUBO_BIN_ENV} (unset)"));
    }
    let setup = Path::new(SETUP_KUBO_BIN);
    if setup.is_file() {
        return Ok(setup.to_path_buf());
    }
    tried.push(SETUP_KUBO_BIN.to_owned());
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join("ipfs");
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    tried.push("`ipfs` on PATH".to_owned());
    Err(HarnessError::KuboMissing {
        tried: tried.join(", "),
        version: KUBO_VERSION,
        env: KUBO_BIN_ENV,
    })
}

/// A running, isolated kubo daemon; stopped when dropped.
#[derive(Debug)]
pub struct KuboDaemon {
    child: Child,
    binary: PathBuf,
    api_url: String,
    gateway_url: Option<String>,
    // Dropped after the daemon is killed (field order), deleting the repository.
    repo: tempfile::TempDir,
}

impl KuboDaemon {
    /// Initialises a fresh repository and starts the daemon on loopback ports.
    pub fn start() -> Result<KuboDaemon, HarnessError> {
        let binary = kubo_binary()?;
        let repo = tempfile::Builder::new().prefix("ddrm-kubo-").tempdir()?;
        let ipfs = |args: &[&str]| {
            let mut command = Command::new(&binary);
            command.args(args).env("IPFS_PATH", repo.path());
            run_bounded(command, COMMAND_TIMEOUT)
        };
        ipfs(&["init", "--profile=test"])?;
        ipfs(&["config", "Routing.Type", "none"])?;

        let stderr_path = repo.path().join("daemon.stderr");
        let stderr = std::fs::File::create(&stderr_path)?;
        let mut child = Command::new(&binary)
            .args(["daemon", "--migrate=false"])
            .env("IPFS_PATH", repo.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .map_err(|e| HarnessError::Command {
                command: format!("{} daemon", binary.display()),
                message: e.to_string(),
            })?;

        let Some(stdout) = child.stdout.take() else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(HarnessError::NotReady {
                message: "daemon stdout was not captured".into(),
            });
        };
        let (lines_tx, lines_rx) = mpsc::channel();
        // Reads the daemon's stdout until it exits, so that the pipe never fills up.
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // Once start() has returned nobody listens; keep draining anyway.
                let _ = lines_tx.send(line);
            }
        });

        let mut daemon = KuboDaemon {
            child,
            binary,
            api_url: String::new(),
            gateway_url: None,
            repo,
        };
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match lines_rx.recv_timeout(left.min(Duration::from_millis(200))) {
                Ok(line) => {
                    if let Some(address) = line.strip_prefix("Gateway server listening on ") {
                        daemon.gateway_url = multiaddr_to_http(address.trim());
                    }
                    if line.contains(READY_LINE) {
                        break;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(daemon.not_ready("daemon closed its output before being ready"));
                }
            }
            if let Ok(Some(status)) = daemon.child.try_wait() {
                return Err(daemon.not_ready(&format!("daemon exited with {status}")));
            }
            if Instant::now() >= deadline {
                return Err(
                    daemon.not_ready(&format!("no \"{READY_LINE}\" within {READY_TIMEOUT:?}"))
                );
            }
        }

        // The daemon writes its actual API address (port 0 resolved) to $IPFS_PATH/api.
        let api_file = daemon.repo.path().join("api");
        let address = std::fs::read_to_string(&api_file)?;
        daemon.api_url =
            multiaddr_to_http(address.trim()).ok_or_else(|| HarnessError::NotReady {
                message: format!(
                    "unexpected API address {address:?} in {}",
                    api_file.display()
                ),
            })?;
        Ok(daemon)
    }

    /// The RPC API address, `http://127.0.0.1:PORT`, for `--ipfs-api`.
    pub fn api_url(&self) -> &str {
        &self.api_url
    }

    /// The HTTP gateway address, if the daemon reported one.
    pub fn gateway_url(&self) -> Option<&str> {
        self.gateway_url.as_deref()
    }

    /// The daemon's repository (`IPFS_PATH`).
    pub fn repo_path(&self) -> &Path {
        self.repo.path()
    }

    /// An `ipfs` command bound to this daemon's repository, e.g. for `ipfs add`.
    pub fn command(&self) -> Command {
        let mut command = Command::new(&self.binary);
        command.env("IPFS_PATH", self.repo.path());
        command
    }

    /// Runs `ipfs ARGS` against this daemon (bounded in time) and returns its stdout.
    pub fn run(&self, args: &[&str]) -> Result<String, HarnessError> {
        let mut command = self.command();
        command.args(args);
        run_bounded(command, COMMAND_TIMEOUT)
    }

    fn not_ready(&mut self, what: &str) -> HarnessError {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let stderr =
            std::fs::read_to_string(self.repo.path().join("daemon.stderr")).unwrap_or_default();
        HarnessError::NotReady {
            message: format!("{what}; stderr: {}", tail(&stderr)),
        }
    }
}

impl Drop for KuboDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `/ip4/A.B.C.D/tcp/PORT[/...]` to `http://A.B.C.D:PORT`.
fn multiaddr_to_http(address: &str) -> Option<String> {
    let mut parts = address.split('/').skip(1);
    let (Some("ip4"), Some(ip), Some("tcp"), Some(port)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let port: u16 = port.parse().ok()?;
    Some(format!("http://{ip}:{port}"))
}

fn tail(text: &str) -> &str {
    let start = text.len().saturating_sub(2000);
    let start = (start..text.len())
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(text.len());
    &text[start..]
}

/// Runs `command` to completion within `limit`, returning its stdout.
fn run_bounded(mut command: Command, limit: Duration) -> Result<String, HarnessError> {
    let shown = format!("{command:?}");
    let failed = |message: String| HarnessError::Command {
        command: shown.clone(),
        message,
    };
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| failed(e.to_string()))?;
    let stdout = child.stdout.take().map(drain);
    let stderr = child.stderr.take().map(drain);
    let deadline = Instant::now() + limit;
    let status: ExitStatus = loop {
        if let Some(status) = child.try_wait().map_err(|e| failed(e.to_string()))? {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(failed(format!("did not finish within {limit:?}")));
        }
        thread::sleep(Duration::from_millis(20));
    };
    let stdout = stdout.and_then(|h| h.join().ok()).unwrap_or_default();
    let stderr = stderr.and_then(|h| h.join().ok()).unwrap_or_default();
    if status.success() {
        Ok(stdout)
    } else {
        Err(failed(format!("{status}; stderr: {}", tail(&stderr))))
    }
}

fn drain(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut out = Vec::new();
        let _ = pipe.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_loopback_multiaddrs() {
        assert_eq!(
            multiaddr_to_http("/ip4/127.0.0.1/tcp/40123"),
            Some("http://127.0.0.1:40123".into())
        );
        assert_eq!(multiaddr_to_http("/ip6/::1/tcp/1"), None);
        assert_eq!(multiaddr_to_http("/ip4/127.0.0.1/tcp/x"), None);
    }

    #[test]
    fn missing_kubo_message_says_how_to_install() {
        let error = HarnessError::KuboMissing {
            tried: "somewhere".into(),
            version: KUBO_VERSION,
            env: KUBO_BIN_ENV,
        };
        let message = error.to_string();
        assert!(message.contains("scripts/setup.sh") && message.contains("v0.38.1"));
        assert!(message.contains("DDRM_IPFS_BIN"));
        assert!(message.contains("somewhere"));
    }
}

//! A software TPM 2.0 (`swtpm`, Debian package `swtpm`) on loopback, for tests and local
//! stacks: the same commands and the same TSS path as a real TPM, with its state in a folder.
//! Its state is a file, so a key in it is only as uncopyable as that folder: it proves the code
//! path, not the hardware.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Why a software TPM did not start.
#[derive(Debug, thiserror::Error)]
pub enum SwTpmError {
    #[error("cannot run swtpm ({0}); install the Debian package swtpm (scripts/setup.sh does)")]
    Missing(std::io::Error),
    #[error("cannot create the swtpm state folder {path}: {source}")]
    State {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("swtpm did not start listening on loopback after {0} attempts")]
    NotListening(u32),
}

/// A running `swtpm socket`; stopped when dropped. Its state stays in the folder it was given.
#[derive(Debug)]
pub struct SwTpm {
    child: Child,
    port: u16,
}

impl SwTpm {
    /// Starts a TPM 2.0 emulator whose state lives in `state` (created if missing; a folder
    /// used before keeps its seeds, hence its keys). The command port and the next one (the
    /// control port the swtpm TCTI expects) are free loopback ports.
    pub fn start(state: &Path) -> Result<Self, SwTpmError> {
        std::fs::create_dir_all(state).map_err(|source| SwTpmError::State {
            path: state.to_path_buf(),
            source,
        })?;
        const ATTEMPTS: u32 = 8;
        for _ in 0..ATTEMPTS {
            let Some(port) = free_port_pair() else {
                continue;
            };
            let mut child = Command::new("swtpm")
                .arg("socket")
                .arg("--tpm2")
                .arg("--tpmstate")
                .arg(format!("dir={}", state.display()))
                .arg("--server")
                .arg(format!("type=tcp,port={port},bindaddr=127.0.0.1"))
                .arg("--ctrl")
                .arg(format!("type=tcp,port={},bindaddr=127.0.0.1", port + 1))
                .arg("--flags")
                .arg("not-need-init,startup-clear")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(SwTpmError::Missing)?;
            // Listening, or exited (a port was taken meanwhile): try another pair.
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
                if TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_ok() {
                    return Ok(Self { child, port });
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        Err(SwTpmError::NotListening(ATTEMPTS))
    }

    /// The TSS TCTI that reaches it.
    pub fn tcti(&self) -> String {
        format!("swtpm:host=127.0.0.1,port={}", self.port)
    }
}

impl Drop for SwTpm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port whose successor is free too (at the time of asking).
fn free_port_pair() -> Option<u16> {
    let first = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).ok()?;
    let port = first.local_addr().ok()?.port();
    let next = port.checked_add(1)?;
    TcpListener::bind((Ipv4Addr::LOCALHOST, next)).ok()?;
    Some(port)
}

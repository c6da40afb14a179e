//! `tests`: the harness for end-to-end journeys. It runs the real `ddrm` binary against real
//! components started on loopback (kubo today; anvil and licence nodes as they land), each
//! stopped by a drop guard. A missing component fails the test loudly, naming what to install.
//!
//! The journeys themselves live in `tests/journeys/` as the `ddrm` package's integration test
//! binary, so they get the freshly built binary through `CARGO_BIN_EXE_ddrm`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub mod media;
pub mod up;

pub use store::testing::KuboDaemon;

/// A scratch directory and the `ddrm` binary under test.
pub struct Journey {
    bin: PathBuf,
    dir: tempfile::TempDir,
}

/// The result of one `ddrm` run.
pub struct Run {
    pub args: Vec<String>,
    pub output: Output,
}

impl Run {
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }
    /// Panics with the command and its output unless it succeeded.
    pub fn ok(self) -> Self {
        assert!(
            self.output.status.success(),
            "ddrm {:?} failed ({}):\nstdout: {}\nstderr: {}",
            self.args,
            self.output.status,
            self.stdout(),
            self.stderr()
        );
        self
    }
    /// Panics unless it failed; returns standard error.
    pub fn fails(self) -> String {
        assert!(
            !self.output.status.success(),
            "ddrm {:?} should have failed:\nstdout: {}",
            self.args,
            self.stdout()
        );
        self.stderr()
    }
    /// Standard output parsed as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.output.stdout).unwrap_or_else(|e| {
            panic!(
                "ddrm {:?}: stdout is not JSON ({e}): {}",
                self.args,
                self.stdout()
            )
        })
    }
}

impl Journey {
    /// `bin` is the `ddrm` binary (`env!("CARGO_BIN_EXE_ddrm")` in the journeys).
    pub fn new(bin: &str) -> Self {
        Self {
            bin: PathBuf::from(bin),
            dir: tempfile::tempdir().expect("a temporary directory"),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Runs `ddrm` with `args` in the journey's directory.
    pub fn ddrm<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.ddrm_env(&[], args)
    }

    /// [`Journey::ddrm`] with `env` added to its environment.
    pub fn ddrm_env<I, S>(&self, env: &[(&str, &Path)], args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let args: Vec<std::ffi::OsString> =
            args.into_iter().map(|a| a.as_ref().to_owned()).collect();
        let output = Command::new(&self.bin)
            .envs(env.iter().copied())
            .args(&args)
            .current_dir(self.dir.path())
            .env_remove("DDRM_GROUP_KEY")
            .env_remove("DDRM_IPFS_API")
            .env_remove("DDRM_CONTENT_KEY")
            .env("DDRM_DATA_DIR", self.dir.path().join("data"))
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.bin.display()));
        Run {
            args: args
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect(),
            output,
        }
    }

    /// Makes a short test clip with the ffmpeg CLI: `testsrc2` video (640x360, 24 fps) as input
    /// 0 and a 440 Hz sine as input 1; `extra` chooses streams and codecs.
    pub fn make_clip(&self, name: &str, seconds: u32, extra: &[&str]) -> PathBuf {
        media::make(&self.path(name), seconds, "640x360", extra)
    }

    /// Runs `ffprobe` on `file`, returning its JSON description of streams and format.
    pub fn ffprobe(&self, file: &Path) -> serde_json::Value {
        let out = Command::new("ffprobe")
            .args([
                "-v",
                "error",
                "-print_format",
                "json",
                "-show_streams",
                "-show_format",
            ])
            .arg(file)
            .output()
            .unwrap_or_else(|e| panic!("ffprobe is required (apt-get install ffmpeg): {e}"));
        assert!(
            out.status.success(),
            "ffprobe cannot read {}",
            file.display()
        );
        serde_json::from_slice(&out.stdout).expect("ffprobe prints JSON")
    }
}

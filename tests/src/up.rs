//! A whole `ddrm up` stack as a child process, and the small process and HTTP helpers the
//! journeys on it share.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use stack::StackFile;

/// A `ddrm up` child; stopped with SIGINT when dropped.
pub struct Up {
    child: Child,
    data_dir: PathBuf,
}

impl Up {
    pub fn start(bin: &str, data_dir: &Path) -> Self {
        Self::start_with(bin, data_dir, &[])
    }

    /// `ddrm up` with more of its flags, e.g. `["--head-ttl", "0"]`.
    pub fn start_with(bin: &str, data_dir: &Path, flags: &[&str]) -> Self {
        let child = Command::new(bin)
            .args(["up", "--data-dir"])
            .arg(data_dir)
            .args(flags)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("ddrm up starts");
        Self {
            child,
            data_dir: data_dir.to_owned(),
        }
    }

    /// The `ddrm up` process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn stack_path(&self) -> PathBuf {
        self.data_dir.join("stack.json")
    }

    /// Waits for stack.json, failing with ddrm up's output if it exits first.
    pub fn wait_ready(&mut self) -> StackFile {
        let deadline = Instant::now() + Duration::from_secs(240);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let out = self.child.stdout.take().map(read_all).unwrap_or_default();
                let err = self.child.stderr.take().map(read_all).unwrap_or_default();
                panic!("ddrm up exited ({status}) before writing stack.json:\n{out}\n{err}");
            }
            if self.stack_path().exists() {
                return StackFile::load(&self.stack_path()).expect("a valid stack.json");
            }
            assert!(Instant::now() < deadline, "no stack.json within 240 s");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Sends `signal`, waits for the exit, returns standard output.
    pub fn stop(mut self, signal: &str) -> String {
        signal_pid(self.child.id(), signal);
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.child.try_wait().unwrap().is_none() {
            assert!(
                Instant::now() < deadline,
                "ddrm up did not stop on {signal}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let out = self.child.stdout.take().map(read_all).unwrap_or_default();
        assert!(
            self.child.wait().unwrap().success(),
            "ddrm up failed: {out}"
        );
        out
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            signal_pid(self.child.id(), "INT");
            let _ = self.child.wait();
        }
    }
}

pub fn read_all(mut r: impl std::io::Read) -> String {
    let mut s = String::new();
    let _ = r.read_to_string(&mut s);
    s
}

/// Sends `signal` (a name such as INT or KILL) to `pid`.
pub fn signal_pid(pid: u32, signal: &str) {
    let ok = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .expect("the kill command");
    assert!(ok.success(), "kill -{signal} {pid}");
}

/// Whether `pid` is a running (not zombie) process.
pub fn alive(pid: u32) -> bool {
    // A zombie still has a /proc entry; its state letter is Z.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            !s.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
        .unwrap_or(false)
}

/// Runs curl (5 s limit) and returns its standard output; fails the test when curl fails.
pub fn curl(args: &[&str]) -> String {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "5"])
        .args(args)
        .output()
        .expect("curl is required for this journey (apt-get install curl)");
    assert!(out.status.success(), "curl {args:?} failed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// One JSON-RPC call through curl.
pub fn rpc(url: &str, method: &str, params: &str) -> String {
    curl(&[
        "-H",
        "content-type: application/json",
        "-d",
        &format!(r#"{{"jsonrpc":"2.0","id":1,"method":"{method}","params":{params}}}"#),
        url,
    ])
}

/// A long-running `ddrm` service (indexer, market API) as a child process; stopped with SIGTERM
/// when dropped.
pub struct Service {
    pub name: &'static str,
    child: Child,
    log: PathBuf,
}

impl Service {
    /// Starts `bin args` in `dir`, its output going to `dir/<name>.log`.
    pub fn start(name: &'static str, bin: &str, dir: &Path, args: &[&str]) -> Self {
        let log = dir.join(format!("{name}.log"));
        let file = std::fs::File::create(&log).expect("a service log file");
        let child = Command::new(bin)
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("log file handle"))
            .stderr(file)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Self { name, child, log }
    }

    /// What the service printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Fails the test (with the service's log) if it has exited.
    pub fn assert_running(&mut self) {
        if let Some(status) = self.child.try_wait().expect("wait on a service") {
            panic!("{} exited ({status}):\n{}", self.name, self.log());
        }
    }

    /// Polls `check` every 200 ms until it returns `Some`, for at most `limit`; fails the test
    /// with the service's log otherwise, or when the service exits meanwhile.
    pub fn wait_for<T>(
        &mut self,
        what: &str,
        limit: Duration,
        mut check: impl FnMut() -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + limit;
        loop {
            self.assert_running();
            if let Some(v) = check() {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "{}: no {what} within {limit:?}:\n{}",
                self.name,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// SIGTERM, then waits (up to 30 s) for a successful exit.
    pub fn stop(mut self) {
        signal_pid(self.child.id(), "TERM");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait on a service") {
                assert!(
                    status.success(),
                    "{} stopped with {status}:\n{}",
                    self.name,
                    self.log()
                );
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{} did not stop on SIGTERM",
                self.name
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The market side of a local stack as the README starts it: `ddrm indexer` and `ddrm serve`
/// (serving the web app from `web_dist`) together on a new index, on a free loopback port.
pub struct MarketServices {
    pub indexer: Service,
    pub api: Service,
    /// `http://127.0.0.1:PORT`
    pub base: String,
}

impl MarketServices {
    pub fn start(bin: &str, dir: &Path, stack: &str, web_dist: &Path) -> Self {
        Self::start_with(bin, dir, stack, web_dist, &[])
    }

    /// [`MarketServices::start`] with more `ddrm serve` flags (`serve_flags`).
    pub fn start_with(
        bin: &str,
        dir: &Path,
        stack: &str,
        web_dist: &Path,
        serve_flags: &[&str],
    ) -> Self {
        let indexer = Service::start("ddrm indexer", bin, dir, &["indexer", "--stack", stack]);
        let listen = format!("127.0.0.1:{}", free_port());
        let web_dir = web_dist.to_str().expect("a UTF-8 path");
        let mut args = vec![
            "serve",
            "--stack",
            stack,
            "--listen",
            &listen,
            "--web-dir",
            web_dir,
        ];
        args.extend_from_slice(serve_flags);
        let api = Service::start("ddrm serve", bin, dir, &args);
        Self {
            indexer,
            api,
            base: format!("http://{listen}"),
        }
    }

    /// Polls the API's `path` (for at most `limit`) until `ready` accepts its body; fails the
    /// test with the services' logs otherwise.
    pub fn wait_for(
        &mut self,
        what: &str,
        path: &str,
        limit: Duration,
        ready: impl Fn(&str) -> bool,
    ) -> String {
        let url = format!("{}{path}", self.base);
        let indexer = &mut self.indexer;
        self.api.wait_for(what, limit, || {
            indexer.assert_running();
            try_curl(&[&url]).filter(|body| ready(body))
        })
    }

    pub fn stop(self) {
        self.indexer.stop();
        self.api.stop();
    }
}

/// Like [`curl`], but `None` when the request fails (for polling a service still starting).
pub fn try_curl(args: &[&str]) -> Option<String> {
    let out = Command::new("curl")
        .args(["-sS", "--fail", "--max-time", "5"])
        .args(args)
        .output()
        .expect("curl is required for this journey (apt-get install curl)");
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A loopback port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// A content a journey published on a stack from the command line, as a creator would.
#[derive(Debug, Clone)]
pub struct Published {
    /// Its CID in the stack's store.
    pub cid: String,
    /// Its content id (0x-hex), as `ddrm package --json` prints it.
    pub content_id: String,
}

impl crate::Journey {
    /// `ddrm package INPUT --out OUT --pin` for the stack's `creator` (with `package_flags`),
    /// then `ddrm mint OUT` (its CID computed from the file) at a price of 1 with `split` (`ADDRESS:BPS,…`) and `mint_flags`, signed
    /// by the creator: what a creator does to sell a file.
    pub fn publish(
        &self,
        stack: &StackFile,
        input: &Path,
        out: &str,
        split: &str,
        [package_flags, mint_flags]: [&[&str]; 2],
    ) -> Published {
        let stack_path = stack_arg(stack);
        let creator = dev_account(stack, "creator");
        let packaged = self
            .ddrm(
                [
                    "package",
                    input.to_str().expect("a UTF-8 path"),
                    "--out",
                    out,
                    "--creator-account",
                    &creator.address.to_string(),
                    "--pin",
                    "--json",
                    "--stack",
                    &stack_path,
                ]
                .into_iter()
                .chain(package_flags.iter().copied()),
            )
            .ok()
            .json();
        let published = Published {
            cid: packaged["cid"].as_str().expect("pinned").to_owned(),
            content_id: packaged["content_id"].as_str().expect("an id").to_owned(),
        };
        self.ddrm(
            [
                "mint",
                out,
                // No --cid: mint registers the file's own CID, the one --pin stored it under
                // (the market journey finds the content by that CID).
                "--price",
                "1",
                "--split",
                split,
                "--private-key",
                &creator.private_key,
                "--stack",
                &stack_path,
            ]
            .into_iter()
            .chain(mint_flags.iter().copied()),
        )
        .ok();
        published
    }

    /// `ddrm buy CONTENT_ID` by the stack's dev account `who` (e.g. "buyer").
    pub fn buy(&self, stack: &StackFile, content_id: &str, who: &str) {
        let key = &dev_account(stack, who).private_key;
        self.ddrm([
            "buy",
            content_id,
            "--private-key",
            key,
            "--stack",
            &stack_arg(stack),
        ])
        .ok();
    }
}

/// The stack's dev account `label` ("creator", "buyer", ...).
pub fn dev_account<'a>(stack: &'a StackFile, label: &str) -> &'a stack::file::DevAccount {
    stack
        .dev_accounts
        .get(label)
        .unwrap_or_else(|| panic!("no dev account {label}"))
}

/// The `--stack` argument naming `stack`'s file.
pub fn stack_arg(stack: &StackFile) -> String {
    stack
        .data_dir
        .join(stack::STACK_FILE_NAME)
        .to_str()
        .expect("a UTF-8 path")
        .to_owned()
}

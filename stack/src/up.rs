//! Starting and stopping a whole local stack: anvil (or a given RPC), the contracts, the licence
//! keys and five `ddrm licence node` processes, the runtime key and the player capsule on chain,
//! the store; then `stack.json`.
//!
//! One stack per data directory: `up.lock` is held (an OS file lock, released even if the process
//! dies) for as long as the stack runs. Every child process is stopped when the stack stops or is
//! dropped.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use alloy::node_bindings::{Anvil, AnvilInstance};
use alloy::primitives::{Address, B256};
use contracts_bindings::bindings::CapsuleRegistry;
use contracts_bindings::{Chain, ChainError, DeployOptions, Deployment};

use crate::file::{
    write_atomic, CapsuleEntry, ChainEndpoint, DevAccounts, LicenceNetwork, LicenceNodeEntry,
    RuntimeEntry, StackDeployment, StackFile, StackFileError, StoreEndpoint, STACK_FILE_NAME,
    STACK_FORMAT,
};

/// Chain id of the local anvil: ESC mainnet's.
pub const LOCAL_CHAIN_ID: u64 = 20;
/// Licence nodes a stack runs.
pub const NODES: usize = 5;
/// Shares needed to release a content key.
pub const THRESHOLD: usize = 3;
/// The lock file in the data directory.
pub const LOCK_FILE_NAME: &str = "up.lock";
/// How long a licence node may take to listen and answer `/health`.
pub const NODE_START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a child may take to exit after SIGINT before it is killed.
pub const STOP_GRACE: Duration = Duration::from_secs(5);
/// Timeout of each chain call made while setting up.
pub const CHAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Errors starting or stopping a stack.
#[derive(Debug, thiserror::Error)]
pub enum UpError {
    #[error(
        "another `ddrm up` (pid {pid}) is running on {data_dir}; stop it (Ctrl-C) or use another --data-dir"
    )]
    AlreadyRunning { data_dir: String, pid: String },
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: String,
        source: std::io::Error,
    },
    #[error("cannot start anvil: {0}")]
    Anvil(String),
    #[error(transparent)]
    Chain(#[from] ChainError),
    #[error("chain call {0} timed out")]
    ChainTimeout(&'static str),
    #[error(transparent)]
    Dealer(#[from] licence_net::dealer::DealerError),
    #[error(
        "the licence keys in {dir} are incomplete ({why}); remove that folder to generate new ones"
    )]
    PartialKeys { dir: String, why: String },
    #[error("licence node {node} did not start: {why} (log: {log})")]
    NodeStart {
        node: usize,
        why: String,
        log: String,
    },
    #[error(
        "the capsule's publisher {0} is not one of the dev accounts; register the capsule with its publisher's key"
    )]
    UnknownPublisher(Address),
    #[error(transparent)]
    StackFile(#[from] StackFileError),
    #[error("the store: {0}")]
    Store(#[from] store::StoreError),
}

/// The player capsule to register on chain.
#[derive(Debug, Clone, Copy)]
pub struct CapsuleToRegister {
    pub measurement: B256,
    pub version: u32,
    pub publisher: Address,
}

/// What `ddrm up` was asked for.
#[derive(Debug, Clone)]
pub struct UpOptions {
    pub data_dir: PathBuf,
    /// Use this chain instead of starting anvil.
    pub rpc: Option<String>,
    /// Use this kubo node instead of the embedded store.
    pub ipfs_api: Option<String>,
    /// The `ddrm` binary whose `licence node` subcommand runs each node.
    pub ddrm_exe: PathBuf,
    /// The runtime attestation key file and its address (approved on chain).
    pub runtime: RuntimeEntry,
    /// The capsule to register (its publisher must be a dev account).
    pub capsule: Option<CapsuleToRegister>,
    /// How long each licence node reuses a fetched chain head (the node's `--head-ttl`). A
    /// rental that ends on chain is seen by a node up to this long after its block is mined;
    /// tests that move the chain's clock and expect an immediate refusal pass zero.
    pub head_ttl: Duration,
    /// Every node refuses file-backed runtime keys (`--require-hardware-runtime`).
    pub require_hardware_runtime: bool,
    /// The nodes' log format (`--log-format`, e.g. `json`), passed as `DDRM_LOG_FORMAT`;
    /// `None`: what the environment says.
    pub node_log_format: Option<String>,
    /// Base of the tokens' ERC-1155 metadata URIs (`uri(id)` = base + `access/{id}` or
    /// `royalty/{id}`), normally a market server's `/v1/metadata/`; `None`: `uri()` is empty.
    pub metadata_base: Option<String>,
}

/// The default data directory: the user's ddrm data directory + `/stack`.
pub fn default_data_dir() -> PathBuf {
    store::default_data_dir().join("stack")
}

/// A child process the stack started.
struct Managed {
    name: String,
    child: Child,
}

/// A running stack. Stop it with [`RunningStack::stop`]; dropping it stops its children too.
pub struct RunningStack {
    file: StackFile,
    path: PathBuf,
    children: Children,
    _lock: File,
}

impl std::fmt::Debug for RunningStack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningStack")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// One process stopped by [`RunningStack::stop`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stopped {
    pub name: String,
    pub pid: u32,
    /// False when it had to be killed after [`STOP_GRACE`].
    pub graceful: bool,
}

fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> UpError {
    let path = path.display().to_string();
    move |source| UpError::Io { what, path, source }
}

async fn timed<T>(
    what: &'static str,
    f: impl std::future::Future<Output = T>,
) -> Result<T, UpError> {
    tokio::time::timeout(CHAIN_TIMEOUT, f)
        .await
        .map_err(|_| UpError::ChainTimeout(what))
}

/// Takes the data directory's lock, or says who holds it.
fn lock(data_dir: &Path) -> Result<File, UpError> {
    let path = data_dir.join(LOCK_FILE_NAME);
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io("cannot open the lock file", &path))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut pid = String::new();
            let _ = file.read_to_string(&mut pid);
            let pid = pid.trim();
            return Err(UpError::AlreadyRunning {
                data_dir: data_dir.display().to_string(),
                pid: if pid.is_empty() { "?" } else { pid }.to_owned(),
            });
        }
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(io("cannot lock", &path)(e));
        }
    }
    file.set_len(0).map_err(io("cannot write", &path))?;
    writeln!(file, "{}", std::process::id()).map_err(io("cannot write", &path))?;
    Ok(file)
}

/// Sends a transaction and waits for a successful receipt, within [`CHAIN_TIMEOUT`].
async fn send<F>(what: &'static str, call: F) -> Result<(), UpError>
where
    F: std::future::Future<
        Output = Result<
            alloy::providers::PendingTransactionBuilder<alloy::network::Ethereum>,
            alloy::contract::Error,
        >,
    >,
{
    timed(what, async {
        contracts_bindings::chain::confirm(what, call.await).await
    })
    .await??;
    Ok(())
}

/// The licence keys in `dir`: reused when complete, dealt when absent.
fn licence_keys(dir: &Path) -> Result<(PathBuf, Vec<PathBuf>), UpError> {
    let group = dir.join("group.pub");
    let shares: Vec<PathBuf> = (1..=NODES)
        .map(|i| dir.join(licence_net::dealer::share_file_name(i)))
        .collect();
    let present = std::iter::once(&group)
        .chain(&shares)
        .filter(|p| p.exists())
        .count();
    if present == NODES + 1 {
        let text = std::fs::read_to_string(&group).map_err(io("cannot read", &group))?;
        let key =
            licence_net_protocol::GroupKey::from_json(&text).map_err(|e| UpError::PartialKeys {
                dir: dir.display().to_string(),
                why: format!("group.pub: {e}"),
            })?;
        if key.nodes() != NODES || key.threshold() != THRESHOLD {
            return Err(UpError::PartialKeys {
                dir: dir.display().to_string(),
                why: format!(
                    "the group is {}-of-{}, not {THRESHOLD}-of-{NODES}",
                    key.threshold(),
                    key.nodes()
                ),
            });
        }
        return Ok((group, shares));
    }
    if present != 0 {
        return Err(UpError::PartialKeys {
            dir: dir.display().to_string(),
            why: format!("{present} of {} files", NODES + 1),
        });
    }
    let dealt = licence_net::dealer::deal(NODES, THRESHOLD, dir)?;
    Ok((dealt.group_path, dealt.share_paths))
}

/// Waits until the node's log names its address, then until `/health` answers.
async fn wait_for_node(
    number: usize,
    child: &mut Child,
    log: &Path,
    client: &reqwest::Client,
) -> Result<String, UpError> {
    let fail = |why: String| UpError::NodeStart {
        node: number,
        why,
        log: log.display().to_string(),
    };
    let deadline = Instant::now() + NODE_START_TIMEOUT;
    loop {
        if let Some(status) = child.try_wait().map_err(|e| fail(e.to_string()))? {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(5).collect();
            return Err(fail(format!(
                "it exited ({status}): {}",
                tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
            )));
        }
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let url = text
            .split_once(" on http://")
            .and_then(|(_, rest)| rest.split([',', ' ', '\n']).next())
            .filter(|addr| addr.parse::<std::net::SocketAddr>().is_ok())
            .map(|addr| format!("http://{addr}"));
        if let Some(url) = url {
            let healthy = client
                .get(format!("{url}/health"))
                .timeout(Duration::from_secs(2))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if healthy {
                return Ok(url);
            }
        }
        if Instant::now() > deadline {
            return Err(fail(format!(
                "no healthy answer within {NODE_START_TIMEOUT:?}"
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

impl RunningStack {
    /// Starts everything and writes `stack.json`; `progress` hears each step. The steps: the
    /// data directory (locked), the chain, the contracts, the capsule, the licence network, the
    /// store; `stack.json` is written last, from what they returned. A failure at any step stops
    /// what the earlier steps started (`Children` stops its processes when dropped).
    pub async fn start(opts: &UpOptions, progress: &mut dyn FnMut(&str)) -> Result<Self, UpError> {
        std::fs::create_dir_all(&opts.data_dir).map_err(io("cannot create", &opts.data_dir))?;
        let data_dir = opts
            .data_dir
            .canonicalize()
            .map_err(io("cannot resolve", &opts.data_dir))?;
        let lock = lock(&data_dir)?;
        let path = data_dir.join(STACK_FILE_NAME);
        // A stack file left by a stack that did not stop cleanly describes dead processes.
        let _ = std::fs::remove_file(&path);

        let mut children = Children::default();
        let dev_accounts = DevAccounts::standard();
        let (chain, endpoint) = children.start_chain(opts, &dev_accounts, progress).await?;
        let (deployment, dep_path) = deploy(&chain, opts, &data_dir, progress).await?;
        let capsule = match opts.capsule {
            Some(c) => {
                let entry =
                    register_capsule(&chain, &deployment, &dev_accounts, &endpoint.rpc, c).await?;
                progress(&format!(
                    "capsule {} (version {}) registered by its publisher {}",
                    c.measurement, c.version, c.publisher
                ));
                Some(entry)
            }
            None => None,
        };
        let licence = children
            .start_licence_network(opts, &data_dir, &endpoint.rpc, &dep_path, progress)
            .await?;
        let store = open_stack_store(opts, &data_dir, progress).await?;

        let file = StackFile {
            format: STACK_FORMAT,
            data_dir,
            pid: std::process::id(),
            chain: endpoint,
            deployment: StackDeployment {
                file: Some(dep_path),
                inline: Some(deployment),
            },
            licence,
            store,
            runtime: opts.runtime.clone(),
            capsule,
            dev_accounts,
        };
        file.validate().map_err(|what| StackFileError::Invalid {
            path: path.display().to_string(),
            what,
        })?;
        file.save(&path)?;
        Ok(Self {
            file,
            path,
            children,
            _lock: lock,
        })
    }

    /// What `stack.json` says.
    pub fn file(&self) -> &StackFile {
        &self.file
    }

    /// Where `stack.json` is.
    pub fn stack_path(&self) -> &Path {
        &self.path
    }

    /// Stops every child (SIGINT, then a kill after [`STOP_GRACE`]), removes `stack.json`, and
    /// releases the data directory.
    pub fn stop(mut self) -> Vec<Stopped> {
        let stopped = self.children.stop();
        let _ = std::fs::remove_file(&self.path);
        stopped
    }
}

impl Drop for RunningStack {
    fn drop(&mut self) {
        if !self.children.nodes.is_empty() {
            self.children.stop_nodes();
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The processes a stack started: anvil (unless the chain was given) and the licence nodes.
/// Dropping it stops them, so a stack that fails halfway leaves nothing running.
#[derive(Default)]
struct Children {
    anvil: Option<AnvilInstance>,
    nodes: Vec<Managed>,
}

impl Children {
    /// The chain: anvil started here, or the RPC the options name; connected as the deployer.
    async fn start_chain(
        &mut self,
        opts: &UpOptions,
        dev_accounts: &DevAccounts,
        progress: &mut dyn FnMut(&str),
    ) -> Result<(Chain, ChainEndpoint), UpError> {
        let mut anvil_pid = None;
        let rpc = match &opts.rpc {
            Some(rpc) => rpc.clone(),
            None => {
                let anvil = spawn_anvil()?;
                progress(&format!(
                    "anvil (chain id {LOCAL_CHAIN_ID}) on {} (pid {})",
                    anvil.endpoint(),
                    anvil.child().id()
                ));
                anvil_pid = Some(anvil.child().id());
                let url = anvil.endpoint();
                self.anvil = Some(anvil);
                url
            }
        };
        let deployer = dev_accounts
            .get("deployer")
            .expect("the standard accounts have a deployer")
            .signer()?;
        let chain = timed("connect", Chain::connect(&rpc, Some(deployer))).await??;
        let endpoint = ChainEndpoint {
            rpc: chain_url(&rpc),
            chain_id: chain.chain_id,
            anvil_pid,
            confirmations: anvil_pid.map(|_| 0),
        };
        Ok((chain, endpoint))
    }

    /// Deals the licence keys and starts one `ddrm licence node` per share, each answering
    /// `/health` before the next starts.
    async fn start_licence_network(
        &mut self,
        opts: &UpOptions,
        data_dir: &Path,
        rpc: &str,
        dep_path: &Path,
        progress: &mut dyn FnMut(&str),
    ) -> Result<LicenceNetwork, UpError> {
        let keys = data_dir.join("licence");
        let (group_key, shares) = licence_keys(&keys)?;
        let logs = data_dir.join("logs");
        std::fs::create_dir_all(&logs).map_err(io("cannot create", &logs))?;
        let client = reqwest::Client::new();
        let mut nodes = Vec::new();
        for (i, share) in shares.iter().enumerate() {
            let number = i + 1;
            let log = logs.join(format!("node-{number}.log"));
            let audit = keys.join(format!("node-{number}.audit.jsonl"));
            let child = spawn_node(opts, share, rpc, dep_path, &audit, &log)?;
            self.nodes.push(Managed {
                name: format!("licence node {number}"),
                child,
            });
            let managed = self.nodes.last_mut().expect("just pushed");
            let url = wait_for_node(number, &mut managed.child, &log, &client).await?;
            progress(&format!(
                "licence node {number} of {NODES} healthy on {url} (pid {})",
                managed.child.id()
            ));
            nodes.push(LicenceNodeEntry {
                url,
                pid: Some(managed.child.id()),
                audit_log: audit,
                log: Some(log),
            });
        }
        Ok(LicenceNetwork {
            group_key,
            threshold: THRESHOLD,
            nodes,
        })
    }

    /// Stops the nodes, then anvil.
    fn stop(&mut self) -> Vec<Stopped> {
        let mut stopped = self.stop_nodes();
        if let Some(anvil) = self.anvil.take() {
            let pid = anvil.child().id();
            // AnvilInstance kills and reaps its process when dropped.
            drop(anvil);
            stopped.push(Stopped {
                name: "anvil".into(),
                pid,
                graceful: true,
            });
        }
        stopped
    }

    fn stop_nodes(&mut self) -> Vec<Stopped> {
        for m in &self.nodes {
            interrupt(m.child.id());
        }
        let deadline = Instant::now() + STOP_GRACE;
        let mut stopped = Vec::new();
        for mut m in self.nodes.drain(..) {
            let mut graceful = false;
            while Instant::now() < deadline {
                if matches!(m.child.try_wait(), Ok(Some(_))) {
                    graceful = true;
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            if !graceful {
                let _ = m.child.kill();
                let _ = m.child.wait();
            }
            stopped.push(Stopped {
                name: m.name,
                pid: m.child.id(),
                graceful,
            });
        }
        stopped
    }
}

impl Drop for Children {
    fn drop(&mut self) {
        self.stop_nodes();
    }
}

/// Deploys the contracts (approving the stack's runtime key) and writes `deployment.json`.
async fn deploy(
    chain: &Chain,
    opts: &UpOptions,
    data_dir: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<(Deployment, PathBuf), UpError> {
    let deploy = DeployOptions {
        approve_runtimes: vec![opts.runtime.address],
        test_token: true,
        fee_bps: contracts_bindings::chain::DEFAULT_FEE_BPS,
        pool_bps: contracts_bindings::chain::DEFAULT_POOL_BPS,
        metadata_base: opts.metadata_base.clone(),
        ..DeployOptions::default()
    };
    let deployment = timed("deploy", contracts_bindings::chain::deploy(chain, &deploy)).await??;
    let dep_path = data_dir.join("deployment.json");
    write_atomic(
        &dep_path,
        serde_json::to_string_pretty(&deployment).expect("serialises") + "\n",
    )?;
    progress(&format!(
        "contracts deployed on chain {} (block {}); runtime key {} ({}{}) approved",
        deployment.chain_id,
        deployment.deployment_block,
        opts.runtime.address,
        opts.runtime.kind,
        if opts.runtime.local_development_only {
            ", local development only"
        } else {
            ""
        }
    ));
    Ok((deployment, dep_path))
}

/// One `ddrm licence node` on an ephemeral port, its output in `log`.
fn spawn_node(
    opts: &UpOptions,
    share: &Path,
    rpc: &str,
    dep_path: &Path,
    audit: &Path,
    log: &Path,
) -> Result<Child, UpError> {
    let out = File::create(log).map_err(io("cannot create", log))?;
    let err = out.try_clone().map_err(io("cannot open", log))?;
    Command::new(&opts.ddrm_exe)
        .args(["licence", "node", "--share"])
        .arg(share)
        .args(["--rpc", rpc, "--deployment"])
        .arg(dep_path)
        .args([
            "--listen",
            "127.0.0.1:0",
            "--confirmations",
            "0",
            "--head-ttl",
        ])
        .arg(format!("{}ms", opts.head_ttl.as_millis()))
        .args(
            opts.require_hardware_runtime
                .then_some("--require-hardware-runtime"),
        )
        .arg("--audit")
        .arg(audit)
        .env_remove("DDRM_RPC")
        .envs(
            opts.node_log_format
                .as_deref()
                .map(|f| ("DDRM_LOG_FORMAT", f)),
        )
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .map_err(io("cannot run", &opts.ddrm_exe))
}

/// The stack's store: kubo when the options name one, else the embedded store in the data
/// directory; opened once so a bad kubo URL fails now.
async fn open_stack_store(
    opts: &UpOptions,
    data_dir: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<StoreEndpoint, UpError> {
    // The stack's data directory is its store's too, so `--data-dir` and `--stack` name one
    // folder for the store, the index and the capsule cache.
    let store = match &opts.ipfs_api {
        Some(api) => StoreEndpoint::Kubo { api: api.clone() },
        None => StoreEndpoint::Embedded {
            data_dir: data_dir.to_path_buf(),
        },
    };
    store::open_store(&store.config(data_dir)).await?;
    progress(&match &store {
        StoreEndpoint::Embedded { data_dir } => format!("embedded store in {}", data_dir.display()),
        StoreEndpoint::Kubo { api } => format!("kubo store at {api}"),
    });
    Ok(store)
}

/// Sends SIGINT, which a licence node answers by shutting down gracefully.
fn interrupt(pid: u32) {
    if let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::INT);
    }
}

/// A preset name becomes its URL, so stack.json always holds a URL.
fn chain_url(rpc: &str) -> String {
    contracts_bindings::chain::ChainPreset::from_name(rpc)
        .map(|p| p.rpc_url().to_owned())
        .unwrap_or_else(|| rpc.to_owned())
}

fn spawn_anvil() -> Result<AnvilInstance, UpError> {
    let path = contracts_bindings::anvil::find_anvil().map_err(UpError::Anvil)?;
    Anvil::at(&path)
        .chain_id(LOCAL_CHAIN_ID)
        .host("127.0.0.1")
        .port(0u16)
        .paris()
        .timeout(30_000)
        .try_spawn()
        .map_err(|e| UpError::Anvil(format!("{}: {e}", path.display())))
}

/// Makes the capsule's publisher a publisher (governance = the deployer) and registers the
/// capsule from the publisher's own account.
async fn register_capsule(
    chain: &Chain,
    dep: &Deployment,
    dev_accounts: &DevAccounts,
    rpc: &str,
    c: CapsuleToRegister,
) -> Result<CapsuleEntry, UpError> {
    let registry = CapsuleRegistry::new(dep.contracts.capsule_registry, &chain.provider);
    send(
        "setPublisher",
        registry.setPublisher(c.publisher, true).send(),
    )
    .await?;
    let publisher = dev_accounts
        .accounts
        .iter()
        .find(|a| a.address == c.publisher)
        .ok_or(UpError::UnknownPublisher(c.publisher))?
        .signer()?;
    let as_publisher = timed("connect", Chain::connect(rpc, Some(publisher))).await??;
    let registry = CapsuleRegistry::new(dep.contracts.capsule_registry, &as_publisher.provider);
    send(
        "registerCapsule",
        registry.registerCapsule(c.measurement, c.version).send(),
    )
    .await?;
    Ok(CapsuleEntry {
        measurement: c.measurement,
        publisher: c.publisher,
        version: c.version,
    })
}

/// SIGINT and SIGTERM, caught from the moment this is made (so a Ctrl-C while the stack starts
/// stops it cleanly instead of killing the process).
#[derive(Debug)]
pub struct StopSignals {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
}

impl StopSignals {
    pub fn new() -> std::io::Result<Self> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Self {
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
        })
    }

    /// Waits for the next one; returns its name.
    pub async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.int.recv() => "SIGINT",
            _ = self.term.recv() => "SIGTERM",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_data_dir_is_refused_naming_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let held = lock(dir.path()).unwrap();
        let e = lock(dir.path()).unwrap_err().to_string();
        assert!(e.contains("another `ddrm up`"), "{e}");
        assert!(e.contains(&format!("pid {}", std::process::id())), "{e}");
        drop(held);
        lock(dir.path()).unwrap();
    }

    #[test]
    fn licence_keys_are_dealt_once_then_reused_and_partial_sets_refused() {
        let dir = tempfile::tempdir().unwrap();
        let keys = dir.path().join("licence");
        let (group, shares) = licence_keys(&keys).unwrap();
        let first = std::fs::read(&group).unwrap();
        let (again, _) = licence_keys(&keys).unwrap();
        assert_eq!(std::fs::read(again).unwrap(), first);
        std::fs::remove_file(&shares[4]).unwrap();
        let e = licence_keys(&keys).unwrap_err().to_string();
        assert!(e.contains("incomplete") && e.contains("5 of 6"), "{e}");
    }

    #[test]
    fn presets_become_urls() {
        assert_eq!(chain_url("local"), "http://127.0.0.1:8545");
        assert_eq!(chain_url("http://127.0.0.1:1"), "http://127.0.0.1:1");
    }
}

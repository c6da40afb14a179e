//! `stack.json`: everything a running local stack offers, written by `ddrm up` and read by every
//! other command given `--stack`.
//!
//! Paths in the file may be relative; they are taken relative to the file's own directory.
//! [`StackFile::load`] checks the whole file (format, URLs, the deployment against the chain id,
//! the group key against the node list, every dev account's key against its address) and names
//! the first problem.

use std::path::{Path, PathBuf};

use alloy::primitives::{Address, B256};
use alloy::signers::local::PrivateKeySigner;
use contracts_bindings::Deployment;
use licence_net_protocol::{GroupKey, RuntimeKind};
use serde::{Deserialize, Serialize};

/// The file name `ddrm up` writes in its data directory.
pub const STACK_FILE_NAME: &str = "stack.json";
/// The format version this crate reads and writes.
pub const STACK_FORMAT: u32 = 1;

/// The mnemonic anvil derives its standard dev accounts from. Public: never hold real value.
pub const DEV_MNEMONIC: &str = "test test test test test test test test test test test junk";

/// Anvil's standard dev accounts (BIP-44 `m/44'/60'/0'/0/i` of [`DEV_MNEMONIC`]), with the role
/// each plays on a local stack. Public keys, for local chains only.
pub const DEV_KEYS: [(&str, &str); 10] = [
    (
        "deployer",
        "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    ),
    (
        "creator",
        "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    ),
    (
        "producer",
        "5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    ),
    (
        "buyer",
        "7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    ),
    (
        "other",
        "47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    ),
    (
        "dev5",
        "8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    ),
    (
        "dev6",
        "92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    ),
    (
        "dev7",
        "4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
    ),
    (
        "dev8",
        "dbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
    ),
    (
        "dev9",
        "2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
    ),
];

/// What the warning in every stack file says.
pub const DEV_ACCOUNTS_WARNING: &str =
    "dev only: anvil's public standard accounts; anyone can spend from them on a public chain";

/// Errors reading or writing a stack file. None of them contains a private key.
#[derive(Debug, thiserror::Error)]
pub enum StackFileError {
    #[error("cannot read the stack file {path}: {why}")]
    Read { path: String, why: String },
    #[error("the stack file {path} is not valid stack JSON: {why}")]
    Parse { path: String, why: String },
    #[error("the stack file {path} is inconsistent: {what}")]
    Invalid { path: String, what: String },
    #[error("cannot write the stack file {path}: {why}")]
    Write { path: String, why: String },
}

/// The whole `stack.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StackFile {
    /// [`STACK_FORMAT`].
    pub format: u32,
    /// The stack's data directory (keys, logs, the embedded store).
    pub data_dir: PathBuf,
    /// The `ddrm up` process that owns the stack (stop it with SIGINT or SIGTERM).
    pub pid: u32,
    pub chain: ChainEndpoint,
    pub deployment: StackDeployment,
    pub licence: LicenceNetwork,
    pub store: StoreEndpoint,
    pub runtime: RuntimeEntry,
    /// The player capsule registered on this stack's chain, when one is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capsule: Option<CapsuleEntry>,
    pub dev_accounts: DevAccounts,
}

/// The chain: where to reach it and which anvil (if any) the stack started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainEndpoint {
    /// HTTP(S) JSON-RPC URL.
    pub rpc: String,
    pub chain_id: u64,
    /// The anvil process `ddrm up` started; `None` when it was given `--rpc`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anvil_pid: Option<u32>,
    /// How deep a block must be before an index counts it final: 0 on the stack's own anvil
    /// (it mines on demand and never reorganises, so a quiet dev chain shows its last blocks);
    /// `None` for a chain given with `--rpc`: the reader's own default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmations: Option<u64>,
}

/// Where the contracts live: a deployment file, the deployment inline, or both (then equal).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StackDeployment {
    /// `deployment.json` as `ddrm chain deploy` writes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inline: Option<Deployment>,
}

/// The licence network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LicenceNetwork {
    /// `group.pub`: what `ddrm package` wraps content keys to.
    pub group_key: PathBuf,
    /// Shares needed to release a content key.
    pub threshold: usize,
    pub nodes: Vec<LicenceNodeEntry>,
}

/// One licence node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LicenceNodeEntry {
    /// Base URL, e.g. `http://127.0.0.1:7401`.
    pub url: String,
    /// Its `ddrm licence node` process, when the stack started it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// Its hash-chained audit log (`ddrm licence audit verify FILE`).
    pub audit_log: PathBuf,
    /// Its standard output and error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<PathBuf>,
}

/// The content store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum StoreEndpoint {
    /// The embedded store in this data directory.
    Embedded { data_dir: PathBuf },
    /// A kubo node's RPC API.
    Kubo { api: String },
}

/// The runtime attestation key of this install.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeEntry {
    /// The key file (mode 0600): a `file-secp256k1` key's secret, or a `tpm2-p256` key's TPM
    /// blobs and TCTI.
    pub key_file: PathBuf,
    /// Its runtime id, approved in the CapsuleRegistry.
    pub address: Address,
    /// What holds the key.
    pub kind: RuntimeKind,
    /// True exactly for a `file-secp256k1` key: its owner can copy it and use it outside any
    /// capsule, so it serves local development stacks only.
    pub local_development_only: bool,
}

impl RuntimeEntry {
    /// The entry for a key of `kind`.
    pub fn new(key_file: PathBuf, address: Address, kind: RuntimeKind) -> Self {
        Self {
            key_file,
            address,
            kind,
            local_development_only: !kind.is_hardware(),
        }
    }
}

/// The bundled player capsule as registered on chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapsuleEntry {
    /// SHA-256 of the capsule's bytes.
    pub measurement: B256,
    pub publisher: Address,
    pub version: u32,
}

/// The chain's dev accounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DevAccounts {
    /// [`DEV_ACCOUNTS_WARNING`].
    pub warning: String,
    pub mnemonic: String,
    pub accounts: Vec<DevAccount>,
}

/// One dev account.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DevAccount {
    pub label: String,
    pub address: Address,
    /// Hex, without `0x`.
    pub private_key: String,
}

impl std::fmt::Debug for DevAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevAccount")
            .field("label", &self.label)
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl DevAccount {
    pub fn signer(&self) -> Result<PrivateKeySigner, contracts_bindings::ChainError> {
        contracts_bindings::chain::parse_private_key(&self.private_key)
    }
}

impl DevAccounts {
    /// Anvil's standard accounts, labelled by role.
    pub fn standard() -> Self {
        let accounts = DEV_KEYS
            .iter()
            .map(|(label, key)| {
                let signer: PrivateKeySigner = key.parse().expect("a valid built-in dev key");
                DevAccount {
                    label: (*label).to_owned(),
                    address: signer.address(),
                    private_key: (*key).to_owned(),
                }
            })
            .collect();
        Self {
            warning: DEV_ACCOUNTS_WARNING.to_owned(),
            mnemonic: DEV_MNEMONIC.to_owned(),
            accounts,
        }
    }

    /// The account with this label.
    pub fn get(&self, label: &str) -> Option<&DevAccount> {
        self.accounts.iter().find(|a| a.label == label)
    }
}

impl StackFile {
    /// Reads, resolves relative paths against the file's directory, and validates.
    pub fn load(path: &Path) -> Result<Self, StackFileError> {
        let text = std::fs::read_to_string(path).map_err(|e| StackFileError::Read {
            path: path.display().to_string(),
            why: e.to_string(),
        })?;
        let mut file: Self = serde_json::from_str(&text).map_err(|e| StackFileError::Parse {
            path: path.display().to_string(),
            why: e.to_string(),
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        file.resolve(base);
        file.validate().map_err(|what| StackFileError::Invalid {
            path: path.display().to_string(),
            what,
        })?;
        Ok(file)
    }

    /// Writes the file atomically (temporary file beside it, mode 0600, then rename).
    pub fn save(&self, path: &Path) -> Result<(), StackFileError> {
        let text = serde_json::to_string_pretty(self).expect("a stack file serialises");
        write_atomic(path, text + "\n")
    }

    fn resolve(&mut self, base: &Path) {
        let fix = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        fix(&mut self.data_dir);
        if let Some(f) = &mut self.deployment.file {
            fix(f);
        }
        fix(&mut self.licence.group_key);
        for n in &mut self.licence.nodes {
            fix(&mut n.audit_log);
            if let Some(l) = &mut n.log {
                fix(l);
            }
        }
        if let StoreEndpoint::Embedded { data_dir } = &mut self.store {
            fix(data_dir);
        }
        fix(&mut self.runtime.key_file);
    }

    /// Checks the file's parts against each other; the message names the first problem.
    pub fn validate(&self) -> Result<(), String> {
        if self.format != STACK_FORMAT {
            return Err(format!(
                "format {} (this ddrm reads format {STACK_FORMAT})",
                self.format
            ));
        }
        check_url("chain.rpc", &self.chain.rpc)?;
        if self.chain.chain_id == 0 {
            return Err("chain.chain_id is 0".into());
        }
        let dep = self.deployment().map_err(|e| e.to_string())?;
        if dep.chain_id != self.chain.chain_id {
            return Err(format!(
                "the deployment is for chain {} but chain.chain_id is {}",
                dep.chain_id, self.chain.chain_id
            ));
        }
        let group = self.group_key()?;
        let l = &self.licence;
        if l.nodes.is_empty() {
            return Err("licence.nodes is empty".into());
        }
        if l.threshold == 0 || l.threshold > l.nodes.len() {
            return Err(format!(
                "licence.threshold {} must be between 1 and the {} nodes",
                l.threshold,
                l.nodes.len()
            ));
        }
        if group.threshold() != l.threshold || group.nodes() != l.nodes.len() {
            return Err(format!(
                "the group key is {}-of-{} but the file lists {}-of-{}",
                group.threshold(),
                group.nodes(),
                l.threshold,
                l.nodes.len()
            ));
        }
        for (i, n) in l.nodes.iter().enumerate() {
            check_url(&format!("licence.nodes[{i}].url"), &n.url)?;
        }
        match &self.store {
            StoreEndpoint::Embedded { data_dir } if data_dir.as_os_str().is_empty() => {
                return Err("store.data_dir is empty".into())
            }
            StoreEndpoint::Kubo { api } if api.trim().is_empty() => {
                return Err("store.api is empty".into())
            }
            _ => {}
        }
        if self.runtime.address == Address::ZERO {
            return Err("runtime.address is zero".into());
        }
        if self.runtime.local_development_only == self.runtime.kind.is_hardware() {
            return Err(format!(
                "runtime.local_development_only must be {} for a {} key",
                !self.runtime.kind.is_hardware(),
                self.runtime.kind
            ));
        }
        if let Some(c) = &self.capsule {
            if c.measurement == B256::ZERO || c.publisher == Address::ZERO {
                return Err("capsule.measurement or capsule.publisher is zero".into());
            }
        }
        for a in &self.dev_accounts.accounts {
            let signer = a
                .signer()
                .map_err(|_| format!("dev account {:?} has an invalid private key", a.label))?;
            if signer.address() != a.address {
                return Err(format!(
                    "dev account {:?}: its private key is not the key of {}",
                    a.label, a.address
                ));
            }
        }
        Ok(())
    }

    /// The deployment, read from its file or inline (both must agree when both are given).
    pub fn deployment(&self) -> Result<Deployment, contracts_bindings::ChainError> {
        let from_file = self
            .deployment
            .file
            .as_deref()
            .map(Deployment::load)
            .transpose()?;
        match (from_file, &self.deployment.inline) {
            (Some(f), Some(i)) if &f != i => Err(contracts_bindings::ChainError::DeploymentFile {
                path: self
                    .deployment
                    .file
                    .as_deref()
                    .unwrap_or(Path::new(""))
                    .display()
                    .to_string(),
                why: "differs from the deployment inline in the stack file".into(),
            }),
            (Some(f), _) => Ok(f),
            (None, Some(i)) => Ok(i.clone()),
            (None, None) => Err(contracts_bindings::ChainError::DeploymentFile {
                path: "<stack file>".into(),
                why: "neither deployment.file nor deployment.inline is given".into(),
            }),
        }
    }

    /// A deployment file for commands that take a path: `deployment.file`, or the inline
    /// deployment written once to the data directory.
    pub fn deployment_file(&self) -> Result<PathBuf, StackFileError> {
        if let Some(f) = &self.deployment.file {
            return Ok(f.clone());
        }
        let dep = self.deployment().map_err(|e| StackFileError::Invalid {
            path: "<stack file>".into(),
            what: e.to_string(),
        })?;
        let path = self.data_dir.join("deployment.json");
        if Deployment::load(&path).ok().as_ref() != Some(&dep) {
            write_atomic(
                &path,
                serde_json::to_string_pretty(&dep).expect("serialises"),
            )?;
        }
        Ok(path)
    }

    /// The group public key.
    pub fn group_key(&self) -> Result<GroupKey, String> {
        let path = &self.licence.group_key;
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the group key {}: {e}", path.display()))?;
        GroupKey::from_json(&text).map_err(|e| format!("invalid group key {}: {e}", path.display()))
    }

    /// The licence nodes' URLs, in node order.
    pub fn node_urls(&self) -> Vec<String> {
        self.licence.nodes.iter().map(|n| n.url.clone()).collect()
    }

    /// The content store this stack runs (a kubo stack keeps its local files, such as compiled
    /// capsules and the index, in the stack's data directory).
    pub fn store_config(&self) -> store::StoreConfig {
        self.store.config(&self.data_dir)
    }
}

impl StoreEndpoint {
    /// The store configuration of this endpoint, for a stack whose data directory is
    /// `data_dir` (where a kubo stack keeps its local files).
    pub fn config(&self, data_dir: &Path) -> store::StoreConfig {
        match self {
            StoreEndpoint::Embedded { data_dir } => store::StoreConfig {
                data_dir: data_dir.clone(),
                ipfs_api: None,
            },
            StoreEndpoint::Kubo { api } => store::StoreConfig {
                data_dir: data_dir.to_path_buf(),
                ipfs_api: Some(api.clone()),
            },
        }
    }
}

fn check_url(field: &str, url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| format!("{field} {url:?} is not an http(s) URL"))?;
    if rest.is_empty() || rest.starts_with('/') || rest.chars().any(char::is_whitespace) {
        return Err(format!("{field} {url:?} has no host"));
    }
    Ok(())
}

/// Writes `text` to `path` through a temporary file beside it.
pub(crate) fn write_atomic(path: &Path, text: String) -> Result<(), StackFileError> {
    let err = |why: String| StackFileError::Write {
        path: path.display().to_string(),
        why,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| err(e.to_string()))?;
    std::io::Write::write_all(&mut tmp, text.as_bytes()).map_err(|e| err(e.to_string()))?;
    tmp.as_file().sync_all().map_err(|e| err(e.to_string()))?;
    tmp.persist(path).map_err(|e| err(e.error.to_string()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment(chain_id: u64) -> Deployment {
        contracts_bindings::testing::sample_deployment(chain_id)
    }

    fn sample(dir: &Path) -> StackFile {
        let keys = dir.join("licence");
        let group_key = keys.join("group.pub");
        if !group_key.exists() {
            licence_net::dealer::deal(5, 3, &keys).unwrap();
        }
        StackFile {
            format: STACK_FORMAT,
            data_dir: dir.to_owned(),
            pid: 42,
            chain: ChainEndpoint {
                rpc: "http://127.0.0.1:8545".into(),
                chain_id: 20,
                anvil_pid: Some(43),
                confirmations: Some(0),
            },
            deployment: StackDeployment {
                file: None,
                inline: Some(deployment(20)),
            },
            licence: LicenceNetwork {
                group_key,
                threshold: 3,
                nodes: (1..=5)
                    .map(|i| LicenceNodeEntry {
                        url: format!("http://127.0.0.1:{}", 7400 + i),
                        pid: Some(100 + i),
                        audit_log: keys.join(format!("node-{i}.audit.jsonl")),
                        log: None,
                    })
                    .collect(),
            },
            store: StoreEndpoint::Embedded {
                data_dir: dir.to_path_buf(),
            },
            runtime: RuntimeEntry::new(
                dir.join("runtime.key"),
                Address::repeat_byte(9),
                RuntimeKind::FileSecp256k1,
            ),
            capsule: None,
            dev_accounts: DevAccounts::standard(),
        }
    }

    #[test]
    fn a_saved_stack_file_loads_back_equal() {
        let dir = tempfile::tempdir().unwrap();
        let file = sample(dir.path());
        let path = dir.path().join(STACK_FILE_NAME);
        file.save(&path).unwrap();
        assert_eq!(StackFile::load(&path).unwrap(), file);
    }

    #[test]
    fn relative_paths_are_taken_from_the_file_directory() {
        let dir = tempfile::tempdir().unwrap();
        let mut file = sample(dir.path());
        file.licence.group_key = PathBuf::from("licence/group.pub");
        let path = dir.path().join(STACK_FILE_NAME);
        file.save(&path).unwrap();
        let back = StackFile::load(&path).unwrap();
        assert_eq!(back.licence.group_key, dir.path().join("licence/group.pub"));
    }

    #[test]
    fn the_dev_accounts_are_anvils_standard_ones() {
        let d = DevAccounts::standard();
        assert_eq!(d.accounts.len(), 10);
        assert_eq!(
            d.get("deployer").unwrap().address,
            "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
                .parse::<Address>()
                .unwrap()
        );
        assert!(format!("{:?}", d.accounts[0]).contains("deployer"));
        assert!(!format!("{:?}", d.accounts[0]).contains(DEV_KEYS[0].1));
    }

    fn invalid(dir: &Path, edit: impl FnOnce(&mut serde_json::Value)) -> String {
        let file = sample(dir);
        let mut v = serde_json::to_value(&file).unwrap();
        edit(&mut v);
        let path = dir.join("bad.json");
        std::fs::write(&path, serde_json::to_string(&v).unwrap()).unwrap();
        StackFile::load(&path).unwrap_err().to_string()
    }

    #[test]
    fn inconsistent_files_are_refused_naming_the_problem() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let e = invalid(d, |v| v["format"] = 2.into());
        assert!(e.contains("format 2"), "{e}");
        let e = invalid(d, |v| v["chain"]["rpc"] = "ftp://x".into());
        assert!(e.contains("chain.rpc") && e.contains("not an http"), "{e}");
        let e = invalid(d, |v| v["chain"]["chain_id"] = 21.into());
        assert!(e.contains("deployment is for chain 20"), "{e}");
        let e = invalid(d, |v| v["licence"]["threshold"] = 4.into());
        assert!(e.contains("3-of-5"), "{e}");
        let e = invalid(d, |v| {
            v["licence"]["nodes"].as_array_mut().unwrap().pop();
        });
        assert!(e.contains("3-of-5") && e.contains("3-of-4"), "{e}");
        let e = invalid(d, |v| {
            v["licence"]["group_key"] = "/nonexistent/group.pub".into()
        });
        assert!(e.contains("cannot read the group key"), "{e}");
        let e = invalid(d, |v| v["deployment"] = serde_json::json!({}));
        assert!(e.contains("neither deployment.file nor"), "{e}");
        let e = invalid(d, |v| {
            v["dev_accounts"]["accounts"][1]["private_key"] = DEV_KEYS[0].1.into()
        });
        assert!(
            e.contains("\"creator\"") && !e.contains(DEV_KEYS[0].1),
            "{e}"
        );
        // A file key must say it is for local development only.
        let e = invalid(d, |v| v["runtime"]["local_development_only"] = false.into());
        assert!(
            e.contains("local_development_only must be true for a file-secp256k1 key"),
            "{e}"
        );
        let e = invalid(d, |v| v["surprise"] = 1.into());
        assert!(
            e.contains("not valid stack JSON") && e.contains("surprise"),
            "{e}"
        );
        let e = StackFile::load(&d.join("missing.json"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("cannot read the stack file"), "{e}");
    }

    #[test]
    fn an_inline_deployment_is_written_once_for_commands_taking_a_path() {
        let dir = tempfile::tempdir().unwrap();
        let file = sample(dir.path());
        let path = file.deployment_file().unwrap();
        assert_eq!(Deployment::load(&path).unwrap(), deployment(20));
        let mut with_file = file.clone();
        with_file.deployment.file = Some(path.clone());
        assert_eq!(with_file.deployment().unwrap(), deployment(20));
        with_file.deployment.inline = Some(deployment(21));
        assert!(with_file.deployment().is_err());
    }
}

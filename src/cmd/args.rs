//! The argument groups shared by subcommands, each concept with one spelling (older spellings
//! stay as hidden aliases) and a `resolve` step that fills what the command line left unsaid:
//! from `--stack PATH/stack.json` first, then from the group's environment variable. Because a
//! group resolves its own fields, every command that flattens it takes `--stack` by construction.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use contracts_bindings::commands::{SecretKeyText, SignerSource};
use stack::StackFile;

/// Environment variable holding the chain's RPC endpoint.
pub const RPC_ENV: &str = "DDRM_RPC";
/// Environment variable holding the private key, so it need not appear in the process list.
pub const PRIVATE_KEY_ENV: &str = "DDRM_PRIVATE_KEY";
/// The older name of [`PRIVATE_KEY_ENV`] for `ddrm play`'s wallet key, still read.
pub const WALLET_KEY_ENV: &str = "DDRM_WALLET_KEY";
/// Environment variable naming the licence network's group key file.
pub const GROUP_KEY_ENV: &str = "DDRM_GROUP_KEY";
/// Environment variable naming ddrm's data directory.
pub const DATA_DIR_ENV: &str = "DDRM_DATA_DIR";
/// Environment variable naming a kubo node's RPC API.
pub const IPFS_API_ENV: &str = "DDRM_IPFS_API";
/// The deployment file chain commands use when none is named.
pub const DEFAULT_DEPLOYMENT: &str = "deployment.json";

/// Fills a group's unset fields from a running stack and the environment.
pub trait Resolve {
    /// Leaves every field given on the command line as it is.
    fn resolve(&mut self, stack: Option<&StackFile>) -> anyhow::Result<()>;
}

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The chain's RPC endpoint.
#[derive(Debug, Clone, Default, Args)]
pub struct RpcArgs {
    /// Chain RPC endpoint: a preset (esc = chain 20, esc-testnet = chain 21, local = anvil on
    /// 127.0.0.1:8545) or an HTTP(S) URL [env: DDRM_RPC; with --stack: the stack's chain].
    #[arg(long, value_name = "URL")]
    pub rpc: Option<String>,
}

impl Resolve for RpcArgs {
    fn resolve(&mut self, stack: Option<&StackFile>) -> anyhow::Result<()> {
        if self.rpc.is_none() {
            self.rpc = stack
                .map(|s| s.chain.rpc.clone())
                .or_else(|| env_var(RPC_ENV));
        }
        Ok(())
    }
}

impl RpcArgs {
    /// The endpoint; an error naming the flag when there is none.
    pub fn required(&self) -> anyhow::Result<String> {
        super::required(self.rpc.clone(), "--rpc")
    }

    /// The endpoint, or a local anvil.
    pub fn or_local(&self) -> String {
        self.rpc
            .clone()
            .unwrap_or_else(|| contracts_bindings::commands::DEFAULT_RPC.to_owned())
    }
}

/// The deployment file `ddrm chain deploy` wrote.
#[derive(Debug, Clone, Default, Args)]
pub struct DeploymentArgs {
    /// deployment.json written by `ddrm chain deploy` [with --stack: the stack's].
    #[arg(long, value_name = "FILE")]
    pub deployment: Option<PathBuf>,
}

impl Resolve for DeploymentArgs {
    fn resolve(&mut self, stack: Option<&StackFile>) -> anyhow::Result<()> {
        if let (None, Some(stack)) = (&self.deployment, stack) {
            self.deployment = Some(stack.deployment_file()?);
        }
        Ok(())
    }
}

impl DeploymentArgs {
    /// The file; an error naming the flag when there is none.
    pub fn required(&self) -> anyhow::Result<PathBuf> {
        super::required(self.deployment.clone(), "--deployment")
    }

    /// The file, or `deployment.json` in the working directory.
    pub fn or_default(&self) -> PathBuf {
        self.deployment
            .clone()
            .unwrap_or_else(|| DEFAULT_DEPLOYMENT.into())
    }
}

/// The chain and the deployment on it.
#[derive(Debug, Clone, Default, Args)]
pub struct ChainArgs {
    #[command(flatten)]
    pub rpc: RpcArgs,
    #[command(flatten)]
    pub deployment: DeploymentArgs,
}

impl Resolve for ChainArgs {
    fn resolve(&mut self, stack: Option<&StackFile>) -> anyhow::Result<()> {
        self.rpc.resolve(stack)?;
        self.deployment.resolve(stack)
    }
}

/// Who signs: the account's private key, typed or in a file.
#[derive(Debug, Clone, Default, Args)]
pub struct SignerArgs {
    /// Hex private key of the account that signs (the buyer's wallet for `ddrm play` and
    /// `ddrm licence request`). Prefer the DDRM_PRIVATE_KEY environment variable or
    /// --private-key-file, which keep it out of the process list.
    #[arg(
        long,
        env = PRIVATE_KEY_ENV,
        hide_env_values = true,
        value_name = "HEX",
        alias = "wallet-key"
    )]
    pub private_key: Option<SecretKeyText>,
    /// File holding the hex private key (first line).
    #[arg(long, value_name = "FILE", alias = "wallet-key-file")]
    pub private_key_file: Option<PathBuf>,
}

impl Resolve for SignerArgs {
    /// A stack names no signer; DDRM_WALLET_KEY is read when no key is given otherwise.
    fn resolve(&mut self, _stack: Option<&StackFile>) -> anyhow::Result<()> {
        if self.private_key.is_none() && self.private_key_file.is_none() {
            self.private_key = env_var(WALLET_KEY_ENV).map(|k| k.parse()).transpose()?;
        }
        Ok(())
    }
}

impl SignerArgs {
    pub fn source(&self) -> SignerSource {
        SignerSource {
            private_key: self.private_key.clone(),
            private_key_file: self.private_key_file.clone(),
        }
    }
}

/// The licence network's group public key.
#[derive(Debug, Clone, Default, Args)]
pub struct GroupKeyArgs {
    /// The licence network's group public key (group.pub from `ddrm licence keygen`)
    /// [env: DDRM_GROUP_KEY; with --stack: the stack's].
    #[arg(long, value_name = "FILE", alias = "group")]
    pub group_key: Option<PathBuf>,
}

impl Resolve for GroupKeyArgs {
    fn resolve(&mut self, stack: Option<&StackFile>) -> anyhow::Result<()> {
        if self.group_key.is_none() {
            self.group_key = stack
                .map(|s| s.licence.group_key.clone())
                .or_else(|| env_var(GROUP_KEY_ENV).map(PathBuf::from));
        }
        Ok(())
    }
}

impl GroupKeyArgs {
    /// The file; an error naming the flag when there is none.
    pub fn required(&self) -> anyhow::Result<PathBuf> {
        super::required(self.group_key.clone(), "--group-key")
    }
}

/// The licence network: its group key and its nodes.
#[derive(Debug, Clone, Default, Args)]
pub struct LicenceNetworkArgs {
    #[command(flatten)]
    pub group_key: GroupKeyArgs,
    /// Base URL of a licence node, in share order (node-1 first); repeat the flag or separate by
    /// commas [with --stack: the stack's nodes].
    #[arg(
        long = "licence-node",
        value_name = "URL",
        value_delimiter = ',',
        alias = "endpoint"
    )]
    pub licence_nodes: Vec<String>,
}

impl Resolve for LicenceNetworkArgs {
    fn resolve(&mut self, stack: Option<&StackFile>) -> anyhow::Result<()> {
        self.group_key.resolve(stack)?;
        if let (true, Some(stack)) = (self.licence_nodes.is_empty(), stack) {
            self.licence_nodes = stack.node_urls();
        }
        Ok(())
    }
}

impl LicenceNetworkArgs {
    /// The nodes; an error naming the flag when there are none.
    pub fn required_nodes(&self) -> anyhow::Result<Vec<String>> {
        if self.licence_nodes.is_empty() {
            anyhow::bail!("--licence-node is required, once per node (or --stack PATH/stack.json)");
        }
        Ok(self.licence_nodes.clone())
    }
}

/// How a command prints its result.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Args)]
pub struct OutputArgs {
    /// Print the result as JSON on standard output.
    #[arg(long)]
    pub json: bool,
}

impl OutputArgs {
    /// What to print: `value` as pretty JSON (one line break after it), else `text(value)`.
    pub fn render<T: serde::Serialize>(
        &self,
        value: &T,
        text: impl FnOnce(&T) -> String,
    ) -> anyhow::Result<String> {
        if self.json {
            Ok(serde_json::to_string_pretty(value)? + "\n")
        } else {
            Ok(text(value))
        }
    }
}

/// ddrm's data directory: where an install (or a stack) keeps its state, the embedded store's
/// blocks, the SQLite index and the compiled-capsule cache. One folder for all of them, so that
/// `--data-dir` means the same wherever it is taken.
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
pub struct DataDirArgs {
    /// ddrm's data directory: the embedded store, the index, compiled capsules [env:
    /// DDRM_DATA_DIR; with --stack: the stack's; default: $XDG_DATA_HOME/ddrm or
    /// ~/.local/share/ddrm].
    #[arg(long, value_name = "DIR", global = true)]
    pub data_dir: Option<PathBuf>,
}

impl Resolve for DataDirArgs {
    fn resolve(&mut self, stack: Option<&StackFile>) -> anyhow::Result<()> {
        if self.data_dir.is_none() {
            self.data_dir = stack
                .map(|s| s.data_dir.clone())
                .or_else(|| env_var(DATA_DIR_ENV).map(PathBuf::from));
        }
        Ok(())
    }
}

impl DataDirArgs {
    /// The directory, or the default one.
    pub fn dir(&self) -> PathBuf {
        self.data_dir
            .clone()
            .unwrap_or_else(store::default_data_dir)
    }
}

/// A duration on the command line: a number with its unit (`500ms`, `10s`, `2m`), or `0`.
/// Every flag that takes a time parses it here, so no flag's name carries a unit and no two
/// flags count in different units.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("`{text}` has no unit: write e.g. 500ms, 10s or 2m"))?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration: write e.g. 500ms, 10s or 2m"))?;
    let per_unit_ms: u64 = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        _ => return Err(format!("unknown unit `{unit}` in `{text}`: use ms, s or m")),
    };
    n.checked_mul(per_unit_ms)
        .map(Duration::from_millis)
        .ok_or_else(|| format!("`{text}` is too long a duration"))
}

/// A duration flag's value: parsed by [`parse_duration`], shown (in `--help` defaults) as
/// `500ms` or `10s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DurationArg(pub Duration);

impl std::str::FromStr for DurationArg {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        parse_duration(text).map(DurationArg)
    }
}

impl std::fmt::Display for DurationArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = self.0.as_millis();
        if ms.is_multiple_of(1_000) && ms > 0 {
            write!(f, "{}s", ms / 1_000)
        } else {
            write!(f, "{ms}ms")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_a_unit_and_show_back_the_same() {
        for (text, ms) in [("0", 0), ("500ms", 500), ("10s", 10_000), ("2m", 120_000)] {
            let d = parse_duration(text).unwrap();
            assert_eq!(d, Duration::from_millis(ms), "{text}");
            if ms > 0 {
                assert_eq!(DurationArg(d).to_string(), text.replace("2m", "120s"));
            }
        }
        for bad in [
            "",
            "10",
            "ms",
            "1.5s",
            "10h",
            "-1s",
            "99999999999999999999s",
        ] {
            let err = parse_duration(bad).unwrap_err();
            assert!(!err.is_empty(), "{bad:?} parsed");
        }
        assert!(parse_duration("10").unwrap_err().contains("no unit"));
    }
}

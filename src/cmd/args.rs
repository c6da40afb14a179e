//! The argument groups shared by subcommands, each concept with one spelling (older spellings
//! stay as hidden aliases) and a `resolve` step that fills what the command line left unsaid:
//! from `--stack PATH/stack.json` first, then from the group's environment variable. Because a
//! group resolves its own fields, every command that flattens it takes `--stack` by construction.

use std::path::PathBuf;

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
/// Environment variable naming the embedded store's directory.
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

//! `ddrm licence ...`: arguments, and printing what `licence_net::commands` returns.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use licence_net::commands::{
    CommandError, Diagnosis, NodeOptions, RequestOptions, DEFAULT_CHAIN_TIMEOUT,
    DEFAULT_CONFIRMATIONS, DEFAULT_HEAD_TTL, DEFAULT_LISTEN, DEFAULT_NODE_TIMEOUT,
    DEFAULT_RATE_BURST, DEFAULT_RATE_PER_SECOND,
};
use licence_net::node::{DEFAULT_GLOBAL_RATE, DEFAULT_PEER_RATE};

use stack::StackFile;

use super::args::{ChainArgs, DurationArg, LicenceNetworkArgs, OutputArgs, Resolve, SignerArgs};
use super::chain::TargetArgs;

#[derive(Debug, Subcommand)]
pub enum LicenceCommand {
    /// Generate the licence network's keys with a trusted dealer: one share file per node and
    /// the group public key (DIR/group.pub).
    ///
    /// WARNING: the dealer knows the master key while it runs. Use it for local stacks and
    /// tests; a production network generates its keys distributedly.
    Keygen(KeygenArgs),
    /// Run a licence node: releases this node's decryption share only to a buyer whose wallet
    /// holds access on chain, into an attested capsule; every decision is audit-logged.
    Node(NodeArgs),
    /// Register the licence network (group key, threshold, node operators and endpoints) in
    /// LicenceNetworkRegistry; signed by the registry's owner (the deployer).
    Register(RegisterArgs),
    /// Ask the licence network for a content's key as a player runtime would (wallet-signed
    /// request, attested capsule); prints the nodes used, the policy and a hash of the key.
    Request(RequestArgs),
    /// A node's append-only, hash-chained audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
}

#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Number of licence nodes (one share file each).
    #[arg(long, default_value_t = 5)]
    pub nodes: usize,
    /// Number of shares needed to decrypt (3 for three-of-five).
    #[arg(long, default_value_t = 3)]
    pub threshold: usize,
    /// Directory to write node-<i>.share and group.pub into (created with mode 0700).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Run a licence node.
#[derive(Debug, Clone, Args)]
pub struct NodeArgs {
    /// This node's key share file (from `ddrm licence keygen` or distributed key generation).
    #[arg(long)]
    pub share: PathBuf,
    /// The group public key [default: `group.pub` beside the share file].
    #[arg(long, value_name = "FILE", alias = "group")]
    pub group_key: Option<PathBuf>,
    /// The chain (both required; not taken from --stack: `ddrm up` starts each node with its
    /// own).
    #[command(flatten)]
    pub chain: ChainArgs,
    /// Address to listen on.
    #[arg(long, default_value_t = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// The audit log (JSON lines); default: the share file's path with `.audit.jsonl`.
    #[arg(long)]
    pub audit: Option<PathBuf>,
    /// Rights are read at the block `confirmations` below the chain head.
    #[arg(long, default_value_t = DEFAULT_CONFIRMATIONS)]
    pub confirmations: u64,
    /// Timeout of every chain call (e.g. 3s).
    #[arg(long, alias = "chain-timeout-ms", default_value_t = DurationArg(DEFAULT_CHAIN_TIMEOUT))]
    pub chain_timeout: DurationArg,
    /// How long a fetched chain head is reused (e.g. 500ms; 0: every request reads the head).
    #[arg(long, alias = "head-ttl-ms", default_value_t = DurationArg(DEFAULT_HEAD_TTL))]
    pub head_ttl: DurationArg,
    /// Sustained licence requests per second allowed per account.
    #[arg(long, default_value_t = DEFAULT_RATE_PER_SECOND)]
    pub rate_per_second: f64,
    /// Licence requests an account may make in a burst.
    #[arg(long, default_value_t = DEFAULT_RATE_BURST)]
    pub rate_burst: f64,
    /// Sustained licence requests per second allowed per peer IP (IPv6: per /64), checked
    /// before a request is parsed.
    #[arg(long, default_value_t = DEFAULT_PEER_RATE.per_second)]
    pub peer_rate_per_second: f64,
    /// Licence requests a peer may make in a burst.
    #[arg(long, default_value_t = DEFAULT_PEER_RATE.burst)]
    pub peer_rate_burst: f64,
    /// Sustained licence requests per second over all peers, checked before parsing.
    #[arg(long, default_value_t = DEFAULT_GLOBAL_RATE.per_second)]
    pub global_rate_per_second: f64,
    /// Licence requests over all peers in a burst.
    #[arg(long, default_value_t = DEFAULT_GLOBAL_RATE.burst)]
    pub global_rate_burst: f64,
    /// Refuse to start unless a licence network is registered in LicenceNetworkRegistry (a
    /// registered network must match this node's group key in any case).
    #[arg(long)]
    pub require_registry: bool,
    /// Refuse runtime attestations made with a file key (file-secp256k1, local development
    /// only): only TPM-held runtime keys (tpm2-p256) get a share.
    #[arg(long)]
    pub require_hardware_runtime: bool,
}

impl NodeArgs {
    fn options(self) -> anyhow::Result<NodeOptions> {
        Ok(NodeOptions {
            rpc: self.chain.rpc.required()?,
            deployment: self.chain.deployment.required()?,
            share: self.share,
            group: self.group_key,
            listen: self.listen,
            audit: self.audit,
            confirmations: self.confirmations,
            chain_timeout: self.chain_timeout.0,
            head_ttl: self.head_ttl.0,
            rate_per_second: self.rate_per_second,
            rate_burst: self.rate_burst,
            peer_rate_per_second: self.peer_rate_per_second,
            peer_rate_burst: self.peer_rate_burst,
            global_rate_per_second: self.global_rate_per_second,
            global_rate_burst: self.global_rate_burst,
            require_registry: self.require_registry,
            require_hardware_runtime: self.require_hardware_runtime,
        })
    }
}

/// Register the licence network in LicenceNetworkRegistry (starts a new epoch).
#[derive(Debug, Clone, Args)]
pub struct RegisterArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// The group key and every node's URL (all required).
    #[command(flatten)]
    pub network: LicenceNetworkArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Diagnose licensing: ask every node as a player runtime would (the wallet signs the request, the
/// runtime key attests the capsule) and report which nodes grant and why others refuse. The
/// shares are sealed to a capsule key that is discarded unopened: no key is recovered here.
#[derive(Debug, Clone, Args)]
pub struct RequestArgs {
    /// The packaged .ddrm file (its header gives the content id and the key ciphertext).
    pub file: PathBuf,
    /// The chain (for the registered network; also checks the chain id); both required.
    #[command(flatten)]
    pub chain: ChainArgs,
    /// The buyer's wallet (required).
    #[command(flatten)]
    pub signer: SignerArgs,
    /// File holding the runtime attestation key (hex, first line; approved on chain).
    #[arg(long, value_name = "FILE", alias = "runtime-key-file")]
    pub runtime_key: PathBuf,
    /// The capsule whose measurement (SHA-256 of its bytes) is attested.
    #[arg(long)]
    pub capsule: PathBuf,
    /// The nodes to ask, with their group key [default: the network registered in
    /// LicenceNetworkRegistry].
    #[command(flatten)]
    pub network: LicenceNetworkArgs,
    /// Time allowed to each node (e.g. 5s).
    #[arg(long, alias = "node-timeout-ms", default_value_t = DurationArg(DEFAULT_NODE_TIMEOUT))]
    pub node_timeout: DurationArg,
    #[command(flatten)]
    pub output: OutputArgs,
}

impl Resolve for LicenceCommand {
    fn resolve(&mut self, stack: Option<&StackFile>) -> anyhow::Result<()> {
        match self {
            // A node reads DDRM_RPC but never a stack: `ddrm up` starts each node with its own
            // chain and deployment, and its children must not pick up a DDRM_STACK.
            LicenceCommand::Node(a) => a.chain.rpc.resolve(None),
            LicenceCommand::Register(a) => {
                a.target.resolve(stack)?;
                a.network.resolve(stack)
            }
            LicenceCommand::Request(a) => {
                a.chain.resolve(stack)?;
                a.signer.resolve(stack)?;
                a.network.resolve(stack)
            }
            // Key generation and audit logs are local files.
            LicenceCommand::Keygen(_) | LicenceCommand::Audit { .. } => Ok(()),
        }
    }
}

/// Audit log commands.
#[derive(Debug, Clone, Subcommand)]
pub enum AuditCommand {
    /// Checks a node's audit log: detects any edited, dropped or reordered line.
    Verify {
        /// The audit log file.
        file: PathBuf,
        #[command(flatten)]
        output: OutputArgs,
    },
}

pub async fn run(cmd: LicenceCommand) -> anyhow::Result<()> {
    match cmd {
        LicenceCommand::Node(args) => {
            licence_net::commands::run_node(args.options()?, |line| println!("{line}")).await?;
            Ok(())
        }
        LicenceCommand::Request(args) => {
            let file = std::fs::File::open(&args.file)
                .with_context(|| format!("cannot open {}", args.file.display()))?;
            let encoded =
                packager_format::EncodedHeader::read_from(&mut std::io::BufReader::new(file))
                    .with_context(|| format!("{} is not a readable .ddrm", args.file.display()))?;
            let content_id = licence_net_protocol::U256::from_be_bytes(encoded.content_id().0);
            let ciphertext = encoded.header.key.ciphertext.clone();
            let network = match (args.network.licence_nodes, args.network.group_key.group_key) {
                (nodes, _) if nodes.is_empty() => None,
                (nodes, Some(group)) => Some((nodes, group)),
                (_, None) => anyhow::bail!("--licence-node needs --group-key"),
            };
            let options = RequestOptions {
                rpc: args.chain.rpc.required()?,
                deployment: args.chain.deployment.required()?,
                wallet: args.signer.source(),
                runtime_key_file: args.runtime_key,
                capsule: args.capsule,
                network,
                node_timeout: args.node_timeout.0,
            };
            let print = |d: &Diagnosis| -> anyhow::Result<()> {
                print!("{}", args.output.render(d, |d| format!("{d}\n"))?);
                Ok(())
            };
            match licence_net::commands::run_request(&options, content_id, ciphertext).await {
                Ok(diagnosis) => print(&diagnosis),
                // With --json the refusal's diagnosis is the output too; the exit status fails.
                Err(CommandError::NotGranted(diagnosis)) if args.output.json => {
                    print(&diagnosis)?;
                    Err(CommandError::NotGranted(diagnosis).into())
                }
                Err(e) => Err(e.into()),
            }
        }
        LicenceCommand::Register(args) => {
            let group = args.network.group_key.required()?;
            let nodes = args.network.required_nodes()?;
            let registered =
                licence_net::commands::run_register(&args.target.target(), &group, &nodes).await?;
            print!("{}", args.output.render(&registered, |r| format!("{r}\n"))?);
            Ok(())
        }
        LicenceCommand::Audit {
            command: AuditCommand::Verify { file, output },
        } => {
            let summary = licence_net::audit::verify_file(&file)?;
            print!("{}", output.render(&summary, |s| format!("{s}\n"))?);
            Ok(())
        }
        LicenceCommand::Keygen(a) => {
            let dealt = licence_net::dealer::deal(a.nodes, a.threshold, &a.out)?;
            print!(
                "{}",
                a.output
                    .render(&keygen_json(&dealt), |_| keygen_text(&dealt))?
            );
            Ok(())
        }
    }
}

fn keygen_json(dealt: &licence_net::dealer::Dealt) -> serde_json::Value {
    serde_json::json!({
        "group_key_id": hex::encode(dealt.group.id()),
        "threshold": dealt.group.threshold(),
        "nodes": dealt.group.nodes(),
        "group_key": dealt.group_path,
        "shares": dealt.share_paths,
    })
}

fn keygen_text(dealt: &licence_net::dealer::Dealt) -> String {
    let mut text = format!(
        "group key {} ({}-of-{}) written to {}\n",
        hex::encode(dealt.group.id()),
        dealt.group.threshold(),
        dealt.group.nodes(),
        dealt.group_path.display()
    );
    for p in &dealt.share_paths {
        text += &format!("share {}\n", p.display());
    }
    text
}

#[cfg(test)]
mod tests {
    //! `--json` on the licence commands that print a result.

    use super::*;

    const JSON: OutputArgs = OutputArgs { json: true };

    fn parse(text: &str) -> serde_json::Value {
        serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
    }

    #[test]
    fn keygen_and_audit_verify_json() {
        let dir = tempfile::tempdir().unwrap();
        let dealt = licence_net::dealer::deal(3, 2, &dir.path().join("keys")).unwrap();
        let json = parse(
            &JSON
                .render(&keygen_json(&dealt), |_| unreachable!())
                .unwrap(),
        );
        assert_eq!(json["threshold"], 2, "{json}");
        assert_eq!(json["shares"].as_array().map(Vec::len), Some(3), "{json}");
        let text = OutputArgs::default()
            .render(&keygen_json(&dealt), |_| keygen_text(&dealt))
            .unwrap();
        assert!(text.starts_with("group key "), "{text}");

        let log = dir.path().join("empty.audit.jsonl");
        std::fs::write(&log, "").unwrap();
        let summary = licence_net::audit::verify_file(&log).unwrap();
        let json = parse(&JSON.render(&summary, |_| unreachable!()).unwrap());
        assert_eq!(json["entries"], 0, "{json}");
    }

    #[test]
    fn register_json() {
        let registered = licence_net::commands::Registered {
            epoch: 2,
            threshold: 3,
            nodes: 5,
            group_key_id: "ab".repeat(32),
        };
        let json = parse(&JSON.render(&registered, |_| unreachable!()).unwrap());
        assert_eq!(json["epoch"], 2, "{json}");
        assert_eq!(
            OutputArgs::default()
                .render(&registered, |r| format!("{r}\n"))
                .unwrap(),
            format!(
                "licence network 3-of-5 (group key {}) registered: epoch 2\n",
                "ab".repeat(32)
            )
        );
    }
}

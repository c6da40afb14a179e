//! `ddrm licence ...`

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};

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
    Node(licence_net::cli::NodeArgs),
    /// Register the licence network (group key, threshold, node operators and endpoints) in
    /// LicenceNetworkRegistry; signed by the registry's owner (the deployer).
    Register(licence_net::cli::RegisterArgs),
    /// Ask the licence network for a content's key as a player runtime would (wallet-signed
    /// request, attested capsule); prints the nodes used, the policy and a hash of the key.
    Request(licence_net::cli::RequestArgs),
    /// A node's append-only, hash-chained audit log.
    Audit {
        #[command(subcommand)]
        command: licence_net::cli::AuditCommand,
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
}

pub async fn run(cmd: LicenceCommand) -> anyhow::Result<()> {
    match cmd {
        LicenceCommand::Node(args) => Ok(licence_net::cli::run_node(args).await?),
        LicenceCommand::Request(args) => {
            let file = std::fs::File::open(&args.file)
                .with_context(|| format!("cannot open {}", args.file.display()))?;
            let encoded =
                packager_format::EncodedHeader::read_from(&mut std::io::BufReader::new(file))
                    .with_context(|| format!("{} is not a readable .ddrm", args.file.display()))?;
            let content_id = licence_net_protocol::U256::from_be_bytes(encoded.content_id().0);
            let ciphertext = encoded.header.key.ciphertext.clone();
            println!(
                "{}",
                licence_net::cli::run_request(args, content_id, ciphertext).await?
            );
            Ok(())
        }
        LicenceCommand::Register(args) => {
            println!("{}", licence_net::cli::run_register(args).await?);
            Ok(())
        }
        LicenceCommand::Audit { command } => {
            println!("{}", licence_net::cli::run_audit(command)?);
            Ok(())
        }
        LicenceCommand::Keygen(a) => {
            let dealt = licence_net::dealer::deal(a.nodes, a.threshold, &a.out)?;
            println!(
                "group key {} ({}-of-{}) written to {}",
                hex::encode(dealt.group.id()),
                dealt.group.threshold(),
                dealt.group.nodes(),
                dealt.group_path.display()
            );
            for p in &dealt.share_paths {
                println!("share {}", p.display());
            }
            Ok(())
        }
    }
}

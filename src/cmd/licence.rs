//! `ddrm licence ...`

use std::path::PathBuf;

use clap::{Args, Subcommand};

#[derive(Debug, Subcommand)]
pub enum LicenceCommand {
    /// Generate the licence network's keys with a trusted dealer: one share file per node and
    /// the group public key (DIR/group.pub).
    ///
    /// WARNING: the dealer knows the master key while it runs. Use it for local stacks and
    /// tests; a production network generates its keys distributedly.
    Keygen(KeygenArgs),
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

pub fn run(cmd: LicenceCommand) -> anyhow::Result<()> {
    match cmd {
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

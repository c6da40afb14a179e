//! `ddrm`: one binary fronting every part of the stack. This file parses and wires; the work is
//! done by the libraries (`packager`, `packager-store`, `licence-net`, `contracts-bindings`).

mod cmd;

use clap::{Parser, Subcommand};

/// ddrm: package, store, license and trade digital goods with decentralized DRM.
#[derive(Debug, Parser)]
#[command(name = "ddrm", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Package a file (media or any data) into an encrypted .ddrm.
    Package(cmd::package::PackageArgs),
    /// Show the header of a .ddrm without any key.
    Inspect(cmd::package::InspectArgs),
    /// Decrypt a .ddrm with its content key (the creator's recovery path).
    Decrypt(cmd::package::DecryptArgs),
    /// Content storage: the embedded IPFS-compatible store or a kubo node.
    Store {
        #[command(flatten)]
        store: packager_store::cli::StoreArgs,
        #[command(subcommand)]
        command: packager_store::cli::StoreCommand,
    },
    /// The licence network: key generation.
    Licence {
        #[command(subcommand)]
        command: cmd::licence::LicenceCommand,
    },
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Package(args) => cmd::package::package(args).await,
        Command::Inspect(args) => cmd::package::inspect(args),
        Command::Decrypt(args) => cmd::package::decrypt(args),
        Command::Store { store, command } => packager_store::cli::run(command, &store)
            .await
            .map_err(Into::into),
        Command::Licence { command } => cmd::licence::run(command),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

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
    /// The licence network: key generation, nodes, audit logs.
    Licence {
        #[command(subcommand)]
        command: cmd::licence::LicenceCommand,
    },
    /// The chain: deploy the contracts.
    Chain {
        #[command(subcommand)]
        command: contracts_bindings::cli::ChainCommand,
    },
    /// Register a packaged .ddrm on chain: Access terms and the initial royalty split.
    Mint(contracts_bindings::cli::MintArgs),
    /// Buy perpetual access to a content.
    Buy(contracts_bindings::cli::BuyArgs),
    /// Rent a content for a number of periods.
    Rent(contracts_bindings::cli::TimedAccessArgs),
    /// Subscribe to a content for a number of periods (renewing extends it).
    Subscribe(contracts_bindings::cli::TimedAccessArgs),
    /// Royalty shares: balance, transfer, claim.
    Royalty {
        #[command(subcommand)]
        command: contracts_bindings::cli::RoyaltyCommand,
    },
    /// Follow a deployment's events into SQL (SQLite by default, PostgreSQL by URL).
    Indexer(cmd::indexer::IndexerArgs),
    /// The market API: catalogue, libraries, earnings, order books, uploads (HTTP).
    Serve(Box<cmd::serve::ServeArgs>),
}

fn main() -> std::process::ExitCode {
    // SVT-AV1 logs its configuration to stderr at info level unless told otherwise; keep our
    // stderr for our own progress and errors. Set before any thread exists.
    if std::env::var_os("SVT_LOG").is_none() {
        std::env::set_var("SVT_LOG", "1");
    }
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(cli))
}

async fn run(cli: Cli) -> std::process::ExitCode {
    let result = match cli.command {
        Command::Package(args) => cmd::package::package(args).await,
        Command::Inspect(args) => cmd::package::inspect(args),
        Command::Decrypt(args) => cmd::package::decrypt(args),
        Command::Store { store, command } => packager_store::cli::run(command, &store)
            .await
            .map_err(Into::into),
        Command::Licence { command } => cmd::licence::run(command).await,
        Command::Chain { command } => contracts_bindings::cli::run_chain(command)
            .await
            .map_err(Into::into),
        Command::Mint(args) => contracts_bindings::cli::run_mint(args)
            .await
            .map_err(Into::into),
        Command::Buy(args) => contracts_bindings::cli::run_buy(args)
            .await
            .map_err(Into::into),
        Command::Rent(args) => contracts_bindings::cli::run_rent(args)
            .await
            .map_err(Into::into),
        Command::Subscribe(args) => contracts_bindings::cli::run_subscribe(args)
            .await
            .map_err(Into::into),
        Command::Royalty { command } => contracts_bindings::cli::run_royalty(command)
            .await
            .map_err(Into::into),
        Command::Indexer(args) => cmd::indexer::run(args).await,
        Command::Serve(args) => cmd::serve::run(*args).await,
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

//! `ddrm`: one binary fronting every part of the stack. This file parses and wires; the work is
//! done by the libraries (`packager`, `packager-store`, `licence-net`, `contracts-bindings`); the
//! whole command line (every argument struct) lives in `cmd`.

mod cmd;

use std::path::PathBuf;

use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand};
use cmd::args::Resolve;
use contracts_bindings::ops::Purchase;
use ddrm_stack::StackFile;

/// ddrm: package, store, license and trade digital goods with decentralized DRM.
#[derive(Debug, Parser)]
#[command(name = "ddrm", version, about, propagate_version = true)]
struct Cli {
    /// A running stack's stack.json (written by `ddrm up`): takes the chain, deployment, group
    /// key, licence nodes and store from it. Flags given explicitly win.
    #[arg(
        long,
        global = true,
        env = "DDRM_STACK",
        value_name = "PATH/stack.json"
    )]
    stack: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start a whole local stack (anvil, contracts, five licence nodes, store) and write its
    /// stack.json; stays up until Ctrl-C. `--demo` runs the whole journey on it.
    Up(cmd::up::UpArgs),
    /// Package a file (media or any data) into an encrypted .ddrm.
    Package(cmd::package::PackageArgs),
    /// Show the header of a .ddrm without any key.
    Inspect(cmd::package::InspectArgs),
    /// Decrypt a .ddrm with its content key (the creator's recovery path).
    Decrypt(cmd::package::DecryptArgs),
    /// Content storage: the embedded IPFS-compatible store or a kubo node.
    Store {
        #[command(flatten)]
        store: cmd::store::StoreArgs,
        #[command(subcommand)]
        command: cmd::store::StoreCommand,
    },
    /// The licence network: key generation, nodes, audit logs.
    Licence {
        #[command(subcommand)]
        command: cmd::licence::LicenceCommand,
    },
    /// The chain: deploy the contracts.
    Chain {
        #[command(subcommand)]
        command: cmd::chain::ChainCommand,
    },
    /// Register a packaged .ddrm on chain: Access terms and the initial royalty split.
    Mint(cmd::chain::MintArgs),
    /// Buy perpetual access to a content.
    Buy(cmd::chain::BuyArgs),
    /// Rent a content for a number of periods.
    Rent(cmd::chain::TimedAccessArgs),
    /// Subscribe to a content for a number of periods (renewing extends it).
    Subscribe(cmd::chain::TimedAccessArgs),
    /// Play a .ddrm you have access to, inside the attested player capsule.
    Play(cmd::play::PlayArgs),
    /// Royalty shares: balance, transfer, claim.
    Royalty {
        #[command(subcommand)]
        command: cmd::chain::RoyaltyCommand,
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
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(cli, &matches))
}

impl Resolve for Command {
    /// Each command resolves the argument groups it flattens (a group fills its own fields from
    /// the stack and the environment; nothing here names a flag).
    fn resolve(&mut self, stack: Option<&StackFile>) -> anyhow::Result<()> {
        match self {
            Command::Up(_) | Command::Inspect(_) | Command::Decrypt(_) => Ok(()),
            Command::Package(a) => a.resolve(stack),
            Command::Store { store, .. } => store.resolve(stack),
            Command::Licence { command } => command.resolve(stack),
            Command::Chain { command } => command.resolve(stack),
            Command::Mint(a) => a.target.resolve(stack),
            Command::Buy(a) => a.target.resolve(stack),
            Command::Rent(a) | Command::Subscribe(a) => a.target.resolve(stack),
            Command::Play(a) => a.resolve(stack),
            Command::Royalty { command } => command.resolve(stack),
            Command::Indexer(a) => a.resolve(stack),
            Command::Serve(a) => a.resolve(stack),
        }
    }
}

async fn run(mut cli: Cli, matches: &ArgMatches) -> std::process::ExitCode {
    // `ddrm up` writes a stack file: a DDRM_STACK in the environment is not meant for it.
    let for_up = matches!(cli.command, Command::Up(_));
    if for_up && matches.value_source("stack") == Some(ValueSource::CommandLine) {
        eprintln!("error: ddrm up writes a stack file; it does not take --stack");
        return std::process::ExitCode::FAILURE;
    }
    let stack = match cli.stack.as_deref().filter(|_| !for_up) {
        Some(path) => match StackFile::load(path) {
            Ok(stack) => Some(stack),
            Err(e) => {
                eprintln!("error: --stack {}: {e:#}", path.display());
                return std::process::ExitCode::FAILURE;
            }
        },
        None => None,
    };
    if let Err(e) = cli.command.resolve(stack.as_ref()) {
        match cli.stack {
            Some(path) if stack.is_some() => eprintln!("error: --stack {}: {e:#}", path.display()),
            _ => eprintln!("error: {e:#}"),
        }
        return std::process::ExitCode::FAILURE;
    }
    let result = match cli.command {
        Command::Up(args) => cmd::up::up(args).await,
        Command::Package(args) => cmd::package::package(args).await,
        Command::Inspect(args) => cmd::package::inspect(args),
        Command::Decrypt(args) => cmd::package::decrypt(args),
        Command::Store { store, command } => cmd::store::run(command, &store.config()).await,
        Command::Licence { command } => cmd::licence::run(command).await,
        Command::Chain { command } => cmd::chain::run_chain(command).await,
        Command::Mint(args) => cmd::chain::run_mint(args).await,
        Command::Buy(args) => cmd::chain::run_buy(args).await,
        Command::Rent(args) => cmd::chain::run_timed(args, Purchase::Rent).await,
        Command::Subscribe(args) => cmd::chain::run_timed(args, Purchase::Subscribe).await,
        Command::Play(args) => cmd::play::play(args).await,
        Command::Royalty { command } => cmd::chain::run_royalty(command).await,
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

//! `ddrm`: one binary fronting every part of the stack. This file parses and wires; the work is
//! done by the libraries (`packager`, `store`, `licence-net`, `contracts-bindings`); the
//! whole command line (every argument struct) lives in `cmd`.

mod cmd;

use std::path::PathBuf;

use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand};
use cmd::args::Resolve;
use contracts_bindings::ops::Purchase;
use stack::StackFile;

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
    /// How the services (licence node, market API, indexer) write their logs to standard
    /// error; levels from DDRM_LOG.
    #[arg(
        long,
        global = true,
        env = "DDRM_LOG_FORMAT",
        value_enum,
        default_value_t = cmd::logging::LogFormat::Human
    )]
    log_format: cmd::logging::LogFormat,
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
    /// The royalty market: list, offer, fill, cancel, withdraw.
    Market {
        #[command(subcommand)]
        command: cmd::market::MarketCommand,
    },
    /// Follow a deployment's events into SQL (SQLite by default, PostgreSQL by URL).
    Indexer(cmd::indexer::IndexerArgs),
    /// The web app and its API: the public market role and the owner-only pc2 role (HTTP).
    Serve(Box<cmd::serve::ServeArgs>),
    /// Internal: the packaging child `ddrm serve` starts for each upload (a job on stdin,
    /// events on stdout; `packager::job`).
    #[command(hide = true)]
    PackageJob,
}

fn main() -> std::process::ExitCode {
    // SVT-AV1 logs its configuration to stderr at info level unless told otherwise; keep our
    // stderr for our own progress and errors. Set before any thread exists.
    if std::env::var_os("SVT_LOG").is_none() {
        std::env::set_var("SVT_LOG", "1");
    }
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    if matches!(cli.command, Command::PackageJob) {
        // No logging and no runtime: stdout carries the job's events only.
        return match packager::job::run(std::io::stdin().lock(), std::io::stdout().lock()) {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(_) => std::process::ExitCode::from(2),
        };
    }
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
            Command::Up(_) | Command::Inspect(_) | Command::Decrypt(_) | Command::PackageJob => {
                Ok(())
            }
            Command::Package(a) => a.resolve(stack),
            Command::Store { store, .. } => store.resolve(stack),
            Command::Licence { command } => command.resolve(stack),
            Command::Chain { command } => command.resolve(stack),
            Command::Mint(a) => a.resolve(stack),
            Command::Buy(a) => a.target.resolve(stack),
            Command::Rent(a) | Command::Subscribe(a) => a.target.resolve(stack),
            Command::Play(a) => a.resolve(stack),
            Command::Royalty { command } => command.resolve(stack),
            Command::Market { command } => command.resolve(stack),
            Command::Indexer(a) => a.resolve(stack),
            Command::Serve(a) => a.resolve(stack),
        }
    }
}

async fn run(mut cli: Cli, matches: &ArgMatches) -> std::process::ExitCode {
    if let Err(e) = cmd::logging::init(cli.log_format) {
        eprintln!("error: {e:#}");
        return std::process::ExitCode::FAILURE;
    }
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
        Command::Up(args) => cmd::up::up(args, cli.log_format).await,
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
        Command::Market { command } => cmd::market::run(command).await,
        Command::Indexer(args) => cmd::indexer::run(args).await,
        Command::Serve(args) => cmd::serve::run(*args).await,
        Command::PackageJob => unreachable!("handled before the runtime starts"),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    //! The command line as a whole: one visible spelling per concept, `--stack` wherever a
    //! shared group is taken, and the older spellings still parsed.

    use super::*;

    /// A concept's one visible long flag, and its older spellings, allowed only as hidden
    /// aliases of that flag.
    struct Concept {
        name: &'static str,
        canonical: &'static str,
        old: &'static [&'static str],
        /// Filled from a running stack (`--stack`) by its group's `resolve`.
        from_stack: bool,
    }

    const CONCEPTS: &[Concept] = &[
        Concept {
            name: "chain RPC endpoint",
            canonical: "rpc",
            old: &[],
            from_stack: true,
        },
        Concept {
            name: "deployment file",
            canonical: "deployment",
            old: &[],
            from_stack: true,
        },
        Concept {
            name: "signing key",
            canonical: "private-key",
            old: &["wallet-key"],
            from_stack: false,
        },
        Concept {
            name: "signing key file",
            canonical: "private-key-file",
            old: &["wallet-key-file"],
            from_stack: false,
        },
        Concept {
            name: "licence group key",
            canonical: "group-key",
            old: &["group"],
            from_stack: true,
        },
        Concept {
            name: "licence node URL",
            canonical: "licence-node",
            old: &["endpoint"],
            from_stack: true,
        },
        Concept {
            name: "runtime attestation key file",
            canonical: "runtime-key",
            old: &["runtime-key-file"],
            from_stack: false,
        },
        Concept {
            name: "data directory",
            canonical: "data-dir",
            old: &[],
            from_stack: true,
        },
        Concept {
            name: "kubo API",
            canonical: "ipfs-api",
            old: &[],
            from_stack: true,
        },
    ];

    /// Every command of the tree with its path (`ddrm licence node`), built so that global
    /// arguments appear in each subcommand.
    fn commands() -> Vec<(String, clap::Command)> {
        fn walk(path: String, cmd: &clap::Command, out: &mut Vec<(String, clap::Command)>) {
            for sub in cmd.get_subcommands() {
                walk(format!("{path} {}", sub.get_name()), sub, out);
            }
            out.push((path, cmd.clone()));
        }
        let mut root = Cli::command();
        root.build();
        let mut out = Vec::new();
        walk("ddrm".into(), &root, &mut out);
        out
    }

    #[test]
    fn each_concept_has_one_visible_spelling_and_old_ones_are_hidden_aliases() {
        let all = commands();
        assert!(all.len() >= 20, "the walk found {} commands", all.len());
        let mut canonical_seen = std::collections::BTreeSet::new();
        for (path, cmd) in &all {
            for arg in cmd.get_arguments() {
                let Some(long) = arg.get_long() else { continue };
                let visible: Vec<&str> = if arg.is_hide_set() {
                    Vec::new()
                } else {
                    std::iter::once(long)
                        .chain(arg.get_visible_aliases().unwrap_or_default())
                        .collect()
                };
                for concept in CONCEPTS {
                    for spelling in &visible {
                        assert!(
                            !concept.old.contains(spelling),
                            "`{path}` shows --{spelling}, a second spelling of the {} (--{})",
                            concept.name,
                            concept.canonical
                        );
                    }
                    let aliases = arg.get_all_aliases().unwrap_or_default();
                    for old in concept.old {
                        if aliases.contains(old) {
                            assert_eq!(
                                long, concept.canonical,
                                "`{path}`: --{old} is an alias of --{long}, not of --{}",
                                concept.canonical
                            );
                        }
                    }
                    if long == concept.canonical {
                        canonical_seen.insert(concept.canonical);
                    }
                }
            }
        }
        for concept in CONCEPTS {
            assert!(
                canonical_seen.contains(concept.canonical),
                "no command takes --{}",
                concept.canonical
            );
        }
    }

    #[test]
    fn every_command_taking_a_stack_filled_group_accepts_stack() {
        let mut checked = 0;
        for (path, cmd) in commands() {
            let takes_group = cmd.get_arguments().any(|a| {
                let long = a.get_long().unwrap_or_default();
                CONCEPTS
                    .iter()
                    .any(|c| c.from_stack && c.canonical == long && !a.is_global_set())
            });
            // `ddrm up` makes the stack (its --data-dir is where the stack will live).
            if takes_group && cmd.get_subcommands().next().is_none() && path != "ddrm up" {
                checked += 1;
                assert!(
                    cmd.get_arguments().any(|a| a.get_long() == Some("stack")),
                    "`{path}` takes a shared group but not --stack"
                );
            }
        }
        assert!(checked >= 12, "only {checked} commands take a group");
    }

    /// Every command that prints a result can print it as JSON; only the services (which
    /// log), `store cat` (which writes the content's bytes), `up` (a service with a demo) and
    /// the hidden `package-job` (which speaks JSON lines by its protocol) have no `--json`.
    #[test]
    fn every_command_that_prints_a_result_takes_json() {
        let without = [
            "ddrm",
            "ddrm chain",
            "ddrm royalty",
            "ddrm market",
            "ddrm licence",
            "ddrm licence audit",
            "ddrm store",
            "ddrm store cat",
            "ddrm licence node",
            "ddrm indexer",
            "ddrm serve",
            "ddrm up",
            "ddrm package-job",
        ];
        let mut checked = 0;
        for (path, cmd) in commands() {
            if without.contains(&path.as_str()) || path.split(' ').any(|w| w == "help") {
                continue;
            }
            checked += 1;
            assert!(
                cmd.get_arguments().any(|a| a.get_long() == Some("json")),
                "`{path}` prints a result but takes no --json"
            );
        }
        assert!(checked >= 15, "only {checked} commands checked");
    }

    /// Durations carry their unit in the value (`--head-ttl 500ms`), parsed by one function;
    /// no visible flag names a unit, so no two flags count time differently.
    #[test]
    fn no_visible_flag_names_a_unit_of_time() {
        for (path, cmd) in commands() {
            for arg in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
                let Some(long) = arg.get_long() else { continue };
                for unit in ["-ms", "-secs", "-seconds", "-millis"] {
                    assert!(
                        !long.ends_with(unit),
                        "`{path}` takes --{long}: a duration flag takes a value with its unit"
                    );
                }
                for alias in arg.get_visible_aliases().unwrap_or_default() {
                    assert!(!alias.ends_with("-ms"), "`{path}` shows --{alias}");
                }
            }
        }
        let Command::Up(up) = parse(&["up", "--head-ttl", "250ms"]) else {
            panic!("not an up")
        };
        assert_eq!(up.head_ttl.0, std::time::Duration::from_millis(250));
        let Command::Up(old) = parse(&["up", "--head-ttl-ms", "0"]) else {
            panic!("not an up")
        };
        assert_eq!(old.head_ttl.0, std::time::Duration::ZERO);
        let err = Cli::try_parse_from(["ddrm", "up", "--head-ttl", "500"]).unwrap_err();
        assert!(err.to_string().contains("no unit"), "{err}");
    }

    fn parse(args: &[&str]) -> Command {
        Cli::try_parse_from(std::iter::once("ddrm").chain(args.iter().copied()))
            .unwrap_or_else(|e| panic!("{e}"))
            .command
    }

    #[test]
    fn old_spellings_still_parse_into_the_shared_groups() {
        let Command::Licence {
            command: cmd::licence::LicenceCommand::Register(register),
        } = parse(&[
            "licence",
            "register",
            "--group",
            "g.pub",
            "--endpoint",
            "http://a,http://b",
        ])
        else {
            panic!("not a licence register")
        };
        assert_eq!(
            register.network.group_key.group_key,
            Some(PathBuf::from("g.pub"))
        );
        assert_eq!(register.network.licence_nodes, ["http://a", "http://b"]);

        let Command::Licence {
            command: cmd::licence::LicenceCommand::Request(request),
        } = parse(&[
            "licence",
            "request",
            "x.ddrm",
            "--wallet-key-file",
            "w.key",
            "--runtime-key-file",
            "r.key",
            "--capsule",
            "c.wasm",
        ])
        else {
            panic!("not a licence request")
        };
        assert_eq!(
            request.signer.private_key_file,
            Some(PathBuf::from("w.key"))
        );
        assert_eq!(request.runtime_key, PathBuf::from("r.key"));

        let key = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
        let Command::Play(play) = parse(&["play", "x.ddrm", "--wallet-key", key]) else {
            panic!("not a play")
        };
        let shown = format!("{play:?}");
        assert!(play.signer.private_key.is_some());
        assert!(!shown.contains(key), "the key shows in {shown}");
    }

    #[test]
    fn a_licence_node_takes_its_defaults_from_the_library() {
        let Command::Licence {
            command: cmd::licence::LicenceCommand::Node(node),
        } = parse(&[
            "licence",
            "node",
            "--share",
            "node-1.share",
            "--rpc",
            "http://127.0.0.1:8545",
            "--deployment",
            "d.json",
        ])
        else {
            panic!("not a licence node")
        };
        assert_eq!(node.listen, licence_net::commands::DEFAULT_LISTEN);
        assert_eq!(node.listen.to_string(), "127.0.0.1:7400");
        assert_eq!(
            node.confirmations,
            licence_net::commands::DEFAULT_CONFIRMATIONS
        );
        assert_eq!(node.chain.rpc.rpc.as_deref(), Some("http://127.0.0.1:8545"));
    }
}

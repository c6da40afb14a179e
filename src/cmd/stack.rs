//! `--stack PATH/stack.json`: fills a command's chain, deployment, group key, licence nodes,
//! store and capsule from a running stack's file. A flag given on the command line wins.

use clap::parser::ValueSource;
use clap::ArgMatches;
use ddrm_stack::StackFile;

/// The matches of each subcommand level, from the top to the command that runs.
pub fn levels(top: &ArgMatches) -> Vec<&ArgMatches> {
    let mut out = vec![top];
    let mut m = top;
    while let Some((_, sub)) = m.subcommand() {
        out.push(sub);
        m = sub;
    }
    out
}

/// True when the user typed `--<id>` at any level (an environment variable or a default is not
/// explicit: the stack file wins over those).
pub fn explicit(levels: &[&ArgMatches], id: &str) -> bool {
    levels.iter().any(|m| {
        // `try_get_raw` is Ok only for an argument this level defines (a global one is listed
        // in `ids` at every level, and `value_source` would panic on it where undefined).
        m.try_get_raw(id).is_ok() && m.value_source(id) == Some(ValueSource::CommandLine)
    })
}

/// Chain commands: the RPC URL and the deployment file.
pub fn fill_chain(
    stack: &StackFile,
    levels: &[&ArgMatches],
    connect: &mut super::chain::ConnectArgs,
    deployment: Option<&mut super::chain::DeploymentArgs>,
) -> anyhow::Result<()> {
    if !explicit(levels, "rpc") {
        connect.rpc = stack.chain.rpc.clone();
    }
    if let Some(d) = deployment {
        if !explicit(levels, "deployment") {
            d.deployment = stack.deployment_file()?;
        }
    }
    Ok(())
}

/// Commands acting on a deployment: the RPC URL and the deployment file.
pub fn fill_target(
    stack: &StackFile,
    levels: &[&ArgMatches],
    target: &mut super::chain::TargetArgs,
) -> anyhow::Result<()> {
    fill_chain(
        stack,
        levels,
        &mut target.connect,
        Some(&mut target.deployment),
    )
}

/// Store commands: the embedded store's directory or the kubo API.
pub fn fill_store(stack: &StackFile, levels: &[&ArgMatches], store: &mut super::store::StoreArgs) {
    if !explicit(levels, "data_dir") && !explicit(levels, "ipfs_api") {
        let config = stack.store_config();
        *store = match config.ipfs_api {
            Some(api) => super::store::StoreArgs {
                data_dir: None,
                ipfs_api: Some(api),
            },
            None => super::store::StoreArgs {
                data_dir: Some(config.data_dir),
                ipfs_api: None,
            },
        };
    }
}

/// `ddrm package`: the group key and the store.
pub fn fill_package(
    stack: &StackFile,
    levels: &[&ArgMatches],
    args: &mut super::package::PackageArgs,
) {
    if !explicit(levels, "group_key") {
        args.group_key = Some(stack.licence.group_key.clone());
    }
    fill_store(stack, levels, &mut args.store);
}

/// Commands with optional `--rpc` and `--deployment` flags: the stack's chain and deployment
/// file where the user typed neither.
fn fill_rpc_and_deployment(
    stack: &StackFile,
    levels: &[&ArgMatches],
    rpc: &mut Option<String>,
    deployment: &mut Option<std::path::PathBuf>,
) -> anyhow::Result<()> {
    if !explicit(levels, "rpc") {
        *rpc = Some(stack.chain.rpc.clone());
    }
    if !explicit(levels, "deployment") {
        *deployment = Some(stack.deployment_file()?);
    }
    Ok(())
}

/// `ddrm play`: chain, deployment, group key, licence nodes, runtime key and store.
pub fn fill_play(
    stack: &StackFile,
    levels: &[&ArgMatches],
    args: &mut super::play::PlayArgs,
) -> anyhow::Result<()> {
    fill_rpc_and_deployment(stack, levels, &mut args.rpc, &mut args.deployment)?;
    if !explicit(levels, "group_key") {
        args.group_key = Some(stack.licence.group_key.clone());
    }
    if !explicit(levels, "licence_nodes") {
        args.licence_nodes = stack.node_urls();
    }
    if !explicit(levels, "runtime_key") {
        args.runtime_key = Some(stack.runtime.key_file.clone());
    }
    fill_store(stack, levels, &mut args.store);
    Ok(())
}

/// `ddrm indexer`: chain, deployment, and the index under the stack's data directory.
pub fn fill_indexer(
    stack: &StackFile,
    levels: &[&ArgMatches],
    args: &mut super::indexer::IndexerArgs,
) -> anyhow::Result<()> {
    fill_rpc_and_deployment(stack, levels, &mut args.rpc, &mut args.deployment)?;
    if !explicit(levels, "data_dir") {
        args.data_dir = Some(stack.data_dir.clone());
    }
    Ok(())
}

/// `ddrm serve`: chain, deployment, group key, store, and the index `ddrm indexer --stack`
/// writes (unless `--database-url` names another).
pub fn fill_serve(
    stack: &StackFile,
    levels: &[&ArgMatches],
    args: &mut super::serve::ServeArgs,
) -> anyhow::Result<()> {
    fill_rpc_and_deployment(stack, levels, &mut args.rpc, &mut args.deployment)?;
    if !explicit(levels, "group_key") {
        args.group_key = Some(stack.licence.group_key.clone());
    }
    if args.database_url.is_none() {
        args.database_url = Some(indexer::db::default_sqlite_url(&stack.data_dir));
    }
    fill_store(stack, levels, &mut args.store);
    Ok(())
}

/// `ddrm licence register`: chain, deployment, group key and the nodes' endpoints.
pub fn fill_licence_register(
    stack: &StackFile,
    levels: &[&ArgMatches],
    args: &mut super::licence::RegisterArgs,
) -> anyhow::Result<()> {
    fill_target(stack, levels, &mut args.target)?;
    if !explicit(levels, "group") {
        args.group = Some(stack.licence.group_key.clone());
    }
    if !explicit(levels, "endpoints") {
        args.endpoints = stack.node_urls();
    }
    Ok(())
}

/// `ddrm licence request`: chain, deployment, group key and the nodes' endpoints.
pub fn fill_licence_request(
    stack: &StackFile,
    levels: &[&ArgMatches],
    args: &mut super::licence::RequestArgs,
) -> anyhow::Result<()> {
    fill_rpc_and_deployment(stack, levels, &mut args.rpc, &mut args.deployment)?;
    if !explicit(levels, "group") && !explicit(levels, "endpoints") {
        args.group = Some(stack.licence.group_key.clone());
        args.endpoints = stack.node_urls();
    }
    Ok(())
}

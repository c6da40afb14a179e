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
        m.ids().any(|i| i.as_str() == id) && m.value_source(id) == Some(ValueSource::CommandLine)
    })
}

/// Chain commands: the RPC URL and the deployment file.
pub fn fill_chain(
    stack: &StackFile,
    levels: &[&ArgMatches],
    connect: &mut contracts_bindings::cli::ConnectArgs,
    deployment: Option<&mut contracts_bindings::cli::DeploymentArgs>,
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

/// Store commands: the embedded store's directory or the kubo API.
pub fn fill_store(
    stack: &StackFile,
    levels: &[&ArgMatches],
    store: &mut packager_store::cli::StoreArgs,
) {
    if !explicit(levels, "data_dir") && !explicit(levels, "ipfs_api") {
        *store = stack.store_args();
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

/// `ddrm play`: chain, deployment, group key, licence nodes, runtime key and store.
pub fn fill_play(
    stack: &StackFile,
    levels: &[&ArgMatches],
    args: &mut super::play::PlayArgs,
) -> anyhow::Result<()> {
    if !explicit(levels, "rpc") {
        args.rpc = Some(stack.chain.rpc.clone());
    }
    if !explicit(levels, "deployment") {
        args.deployment = Some(stack.deployment_file()?);
    }
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

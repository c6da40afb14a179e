//! Command-line surfaces of the `ddrm` subcommands: argument structs and the glue that calls
//! the libraries and prints their results.

pub mod args;
pub mod chain;
pub mod indexer;
pub mod licence;
pub mod logging;
pub mod market;
pub mod package;
pub mod play;
pub mod serve;
pub mod store;
pub mod up;

/// Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async {
            match term.as_mut() {
                Some(t) => { t.recv().await; }
                None => std::future::pending::<()>().await,
            }
        } => {}
    }
}

/// The value of a flag that is required unless `--stack` supplies it.
pub fn required<T>(value: Option<T>, flag: &str) -> anyhow::Result<T> {
    value.ok_or_else(|| anyhow::anyhow!("{flag} is required (or --stack PATH/stack.json)"))
}

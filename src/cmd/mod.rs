//! Command-line surfaces of the `ddrm` subcommands: argument structs and the glue that calls
//! the libraries and prints their results.

pub mod licence;
pub mod package;
pub mod play;
pub mod stack;
pub mod up;

use std::io::Write;

/// Prints `value` as pretty JSON on standard output.
pub fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

//! The packaging child on its own, for this crate's tests (the `ddrm` binary runs the same
//! [`packager::job::run`] as its hidden `package-job` command).

fn main() -> std::process::ExitCode {
    match packager::job::run(std::io::stdin().lock(), std::io::stdout().lock()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(_) => std::process::ExitCode::from(2),
    }
}

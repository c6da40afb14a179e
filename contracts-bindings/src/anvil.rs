//! Finding the anvil binary: `ddrm up` starts one for a local stack, and tests start one through
//! `testing::spawn_anvil` (feature `test-utils`). Without it, the error names what to install.

use std::path::{Path, PathBuf};

/// Where the anvil binary was found, in the order tried: `$DDRM_ANVIL`, this crate's
/// `node_modules` (the platform binary, then the npm launcher), then `PATH`.
pub fn find_anvil() -> Result<PathBuf, String> {
    find_anvil_from(
        std::env::var_os("DDRM_ANVIL"),
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("node_modules"),
        std::env::var_os("PATH"),
    )
}

fn find_anvil_from(
    explicit: Option<std::ffi::OsString>,
    modules: &Path,
    path: Option<std::ffi::OsString>,
) -> Result<PathBuf, String> {
    if let Some(p) = explicit {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(format!("DDRM_ANVIL={} is not a file", p.display()))
        };
    }
    let platform = format!(
        "@foundry-rs/anvil-{}-{}/bin/anvil",
        match std::env::consts::OS {
            "macos" => "darwin",
            "windows" => "win32",
            os => os,
        },
        match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            arch => arch,
        }
    );
    for candidate in [modules.join(platform), modules.join(".bin/anvil")] {
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    if let Some(path) = path {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join("anvil");
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    Err(
        "anvil not found: set DDRM_ANVIL, run contracts-bindings/scripts/setup.sh \
         (installs it into contracts-bindings/node_modules), or put anvil on PATH"
            .to_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_anvil_is_an_error_naming_what_to_install() {
        let empty = tempfile::tempdir().unwrap();
        let err = find_anvil_from(None, empty.path(), Some(empty.path().into())).unwrap_err();
        assert!(err.contains("anvil not found"), "{err}");
        assert!(err.contains("scripts/setup.sh"), "{err}");
        let err =
            find_anvil_from(Some("/nonexistent/anvil".into()), empty.path(), None).unwrap_err();
        assert!(err.contains("DDRM_ANVIL=/nonexistent/anvil"), "{err}");
    }

    #[test]
    fn anvil_is_found_on_path() {
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("anvil");
        std::fs::write(&fake, b"").unwrap();
        let modules = dir.path().join("no-node-modules");
        let found = find_anvil_from(None, &modules, Some(dir.path().into())).unwrap();
        assert_eq!(found, fake);
    }
}

//! What a shipping build contains, read from the workspace's manifests: no crate can combine
//! licence shares outside the capsule (K only in the capsule), and no test support ships.
//!
//! `licence_net_client::host_combine` (the only code outside the capsule that opens and combines
//! shares) is compiled only with the feature `host-combine`; each crate's `testing` module only
//! with its `test-utils`. These tests read the manifests through `cargo metadata` and fail if a
//! crate enables either from a normal or build dependency, or makes it a default: only
//! `[dev-dependencies]` (tests and benchmarks) may, and the `tests` test-support crate.

#[test]
fn only_dev_dependencies_enable_host_side_share_combination() {
    let meta = workspace_metadata();
    let packages = meta["packages"].as_array().expect("packages");
    assert!(packages.len() > 5, "the whole workspace is listed");
    let mut dev_users = Vec::new();
    for p in packages {
        let name = p["name"].as_str().unwrap_or_default();
        if name == "licence-net-client" {
            assert_not_default(p, "host-combine");
        }
        for d in p["dependencies"].as_array().into_iter().flatten() {
            if d["name"] != "licence-net-client" {
                continue;
            }
            let enables = d["features"]
                .as_array()
                .is_some_and(|f| f.iter().any(|f| f == "host-combine"));
            match d["kind"].as_str() {
                Some("dev") => {
                    if enables {
                        dev_users.push(name.to_string());
                    }
                }
                kind => assert!(
                    !enables,
                    "{name} enables licence-net-client/host-combine from a {} dependency: shares would \
                     be combined outside the capsule in a shipping build",
                    kind.unwrap_or("normal")
                ),
            }
        }
    }
    // The check is live: licence-net's own tests are a dev-dependency user of the feature.
    assert!(
        dev_users.iter().any(|n| n == "licence-net"),
        "{dev_users:?}"
    );
}

/// Test support (real anvil, kubo, PostgreSQL and licence network harnesses) is not compiled into shipping builds:
/// each crate's `testing` module sits behind its `test-utils` feature, which only
/// `[dev-dependencies]` enable, or the `tests` test-support crate, which is itself only ever a
/// dev-dependency.
#[test]
fn test_support_is_enabled_only_for_tests() {
    let meta = workspace_metadata();
    const GATED: [&str; 4] = ["contracts-bindings", "store", "indexer", "licence-net"];
    let mut dev_users = Vec::new();
    for p in meta["packages"].as_array().expect("packages") {
        let name = p["name"].as_str().unwrap_or_default();
        if GATED.contains(&name) {
            assert_not_default(p, "test-utils");
        }
        for d in p["dependencies"].as_array().into_iter().flatten() {
            let dep = d["name"].as_str().unwrap_or_default();
            if dep == "tests" {
                assert_eq!(
                    d["kind"].as_str(),
                    Some("dev"),
                    "{name} depends on the `tests` test-support crate outside [dev-dependencies]"
                );
            }
            if !GATED.contains(&dep) {
                continue;
            }
            let enables = d["features"]
                .as_array()
                .is_some_and(|f| f.iter().any(|f| f == "test-utils"));
            if !enables {
                continue;
            }
            match d["kind"].as_str() {
                Some("dev") => dev_users.push(format!("{name} -> {dep}")),
                kind => assert!(
                    name == "tests",
                    "{name} enables {dep}/test-utils from a {} dependency: test support would \
                     ship in a release build",
                    kind.unwrap_or("normal")
                ),
            }
        }
    }
    // Live: the crates' own tests and their users' tests enable it.
    for user in [
        "indexer -> indexer",
        "market-api -> indexer",
        "player -> contracts-bindings",
        "licence-net -> licence-net",
        "player -> licence-net",
    ] {
        assert!(dev_users.iter().any(|u| u == user), "{user}: {dev_users:?}");
    }
}

/// The fuzzing entries (a fixed capsule key, a store block decoder, the API's validators without
/// a database) exist only for `fuzz/`, a workspace of its own: no crate of this workspace enables
/// a `fuzzing` feature from any dependency, and none makes it a default.
#[test]
fn fuzzing_entries_are_enabled_only_by_the_fuzz_workspace() {
    let meta = workspace_metadata();
    let mut offered = Vec::new();
    for p in meta["packages"].as_array().expect("packages") {
        let name = p["name"].as_str().unwrap_or_default();
        if p["features"].get("fuzzing").is_some() {
            offered.push(name.to_owned());
        }
        assert_not_default(p, "fuzzing");
        for d in p["dependencies"].as_array().into_iter().flatten() {
            let enables = d["features"]
                .as_array()
                .is_some_and(|f| f.iter().any(|f| f == "fuzzing"));
            assert!(
                !enables,
                "{name} enables {}/fuzzing: a fixed capsule key would be compiled in",
                d["name"].as_str().unwrap_or_default()
            );
        }
    }
    // Live: the crates that offer the feature are found.
    offered.sort();
    assert_eq!(offered, ["licence-net-protocol", "market-api", "store"]);
    // And the fuzz workspace is not a member of this one.
    assert!(
        !meta["packages"]
            .as_array()
            .expect("packages")
            .iter()
            .any(|p| p["name"] == "ddrm-fuzz"),
        "fuzz/ must stay outside the workspace (nightly, sanitizers)"
    );
}

/// `feature` is not among package `p`'s default features.
fn assert_not_default(p: &serde_json::Value, feature: &str) {
    let default = p["features"]["default"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        !default.iter().any(|f| f == feature),
        "{feature} must not be a default feature of {}",
        p["name"]
    );
}

fn workspace_metadata() -> serde_json::Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(&cargo)
        .args(["metadata", "--format-version", "1", "--no-deps", "--locked"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cargo} metadata: {e}"));
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("metadata is JSON")
}

//! K only in the capsule: no shipping crate can combine licence shares outside it.
//!
//! `licence_net_client::host_combine` (the only code outside the capsule that opens and combines
//! shares)
//! is compiled only with the feature `host-combine`. This test reads the workspace's manifests
//! through `cargo metadata` and fails if any crate enables that feature from a normal or build
//! dependency, or makes it a default: only `[dev-dependencies]` (tests and benchmarks) may.

#[test]
fn only_dev_dependencies_enable_host_side_share_combination() {
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
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("metadata is JSON");
    let packages = meta["packages"].as_array().expect("packages");
    assert!(packages.len() > 5, "the whole workspace is listed");
    let mut dev_users = Vec::new();
    for p in packages {
        let name = p["name"].as_str().unwrap_or_default();
        if name == "licence-net-client" {
            let default = p["features"]["default"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            assert!(
                !default.iter().any(|f| f == "host-combine"),
                "host-combine must not be a default feature"
            );
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

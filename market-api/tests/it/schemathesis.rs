//! The OpenAPI document fuzzed by schemathesis (from PyPI, installed by scripts/setup.sh into
//! a venv under the tools directory) against a served, indexed scripted market: no 5xx, every
//! response matching the document.

use std::path::PathBuf;
use std::time::Duration;

use indexer::testing::ScriptedMarket;

use crate::harness::{serve, Backend};

/// The venv `scripts/setup.sh` makes (`$DDRM_SCHEMATHESIS` overrides).
fn schemathesis() -> PathBuf {
    if let Some(p) = std::env::var_os("DDRM_SCHEMATHESIS") {
        return PathBuf::from(p);
    }
    let tools = std::env::var_os("DDRM_TOOLS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/tmp/ddrm-tools"));
    tools.join("schemathesis-venv/bin/schemathesis")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_error_and_no_schema_mismatch() {
    let bin = schemathesis();
    assert!(
        bin.is_file(),
        "schemathesis not found at {} (run scripts/setup.sh, which installs it from PyPI)",
        bin.display()
    );
    let market = ScriptedMarket::start().await;
    let api = serve(&market, Backend::Sqlite, |c| {
        c.pc2.as_mut().expect("pc2 role").max_upload_bytes = 1024 * 1024;
    })
    .await;
    let token = api.sign_in(&market.keys[1]).await;
    let report = api.dir.path().join("schemathesis");
    let mut cmd = tokio::process::Command::new(&bin);
    cmd.arg("run")
        .arg(format!("{}/openapi.json", api.base))
        .args(["--checks", "not_a_server_error,response_schema_conformance"])
        .args(["--max-examples", "25", "--seed", "6", "--workers", "2"])
        .args(["--max-time", "90", "--request-timeout", "15"])
        .args(["--phases", "examples,coverage,fuzzing"])
        // The live-event stream stays open by design; it is tested by the requests module.
        .args(["--exclude-path", "/v1/events"])
        .args(["--generation-database", "none", "--no-color"])
        .arg("--header")
        .arg(format!("Authorization: Bearer {token}"))
        .arg("--report-dir")
        .arg(&report)
        .kill_on_drop(true)
        .current_dir(api.dir.path());
    let out = tokio::time::timeout(Duration::from_secs(420), cmd.output())
        .await
        .expect("schemathesis finished within 7 minutes")
        .expect("schemathesis runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "schemathesis found problems:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("passed"), "no test ran?\n{stdout}");
}

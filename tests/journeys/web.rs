//! Issue 13's first journey, in real Chromium: on a running `ddrm up`, with `ddrm indexer` and
//! `ddrm serve --web-dir web/dist`, a buyer finds a CLI-minted content in the web app's
//! catalogue by search, opens it, buys it through an injected EIP-1193 wallet that signs for
//! real with the buyer's dev key (`web/tests/journey.mjs`, playwright-core), and sees it in the
//! library. Then the chain itself must say the buyer has access. Screenshots of each page are
//! taken into the journey's scratch dir and copied to `$CARGO_TARGET_TMPDIR/web-journey/`,
//! which outlives the test (pass or fail).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use contracts_bindings::bindings::Access;
use contracts_bindings::Chain;
use stack::file::DevAccount;
use stack::StackFile;
use tests::up::{dev_account, free_port, try_curl, Service, Up};
use tests::Journey;

const DDRM: &str = env!("CARGO_BIN_EXE_ddrm");
const CHROMIUM: &str = "/usr/bin/chromium";

fn web_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("web")
}

/// Fails before any stack starts when the browser side is not installed, naming the fix.
fn check_browser_prerequisites(web: &Path) {
    assert!(
        Path::new(CHROMIUM).is_file(),
        "{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium, or run scripts/setup.sh)"
    );
    assert!(
        web.join("node_modules/playwright-core").is_dir(),
        "{} has no playwright-core: run `npm ci` in web/ (scripts/setup.sh does)",
        web.display()
    );
    assert!(
        web.join("dist/index.html").is_file(),
        "{} is not built: run `npm run build` in web/ (scripts/test.sh does)",
        web.join("dist").display()
    );
    let node = Command::new("node").arg("--version").output();
    assert!(
        node.is_ok_and(|o| o.status.success()),
        "node is required for the browser journey (install Node.js 20+)"
    );
}

/// `Access.hasAccess(buyer, content)` at the chain head.
fn has_access(stack: &StackFile, buyer: &DevAccount, content_id: &str) -> bool {
    let deployment = stack.deployment().expect("the stack's deployment");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async {
        let chain = Chain::connect(&stack.chain.rpc, None)
            .await
            .expect("connect to the stack's chain");
        Access::new(deployment.contracts.access, &chain.provider)
            .hasAccess(
                buyer.address,
                content_id.parse().expect("a content id is a uint256"),
            )
            .call()
            .await
            .expect("Access.hasAccess")
    })
}

#[test]
fn a_buyer_finds_buys_through_the_wallet_and_sees_it_in_the_library_in_chromium() {
    let web = web_dir();
    check_browser_prerequisites(&web);
    let j = Journey::new(DDRM);
    let mut up = Up::start(DDRM, &j.path("stack"));
    let stack = up.wait_ready();
    let s = up.stack_path();
    let s = s.to_str().unwrap();
    let (creator, producer, buyer) = (
        dev_account(&stack, "creator"),
        dev_account(&stack, "producer"),
        dev_account(&stack, "buyer"),
    );

    let notes = j.path("notes.txt");
    std::fs::write(&notes, "field notes, sold through the web app\n".repeat(64)).unwrap();
    let split = format!("{}:7000,{}:3000", creator.address, producer.address);
    let minted = j.publish(
        &stack,
        &notes,
        "notes.ddrm",
        &split,
        [&[], &["--rent-price", "0.1", "--period", "1h"]],
    );
    let id = minted.content_id.to_lowercase();
    assert!(
        !has_access(&stack, buyer, &id),
        "the buyer has no access before the journey"
    );

    // The indexer and the API start together on a new index, as the README shows (they once
    // raced on its first migration); the stack's anvil carries its own confirmation depth, 0,
    // so the sale shows without more blocks.
    let mut indexer = Service::start("ddrm indexer", DDRM, j.dir(), &["indexer", "--stack", s]);
    let listen = format!("127.0.0.1:{}", free_port());
    let base = format!("http://{listen}");
    let dist = web.join("dist");
    let mut api = Service::start(
        "ddrm serve",
        DDRM,
        j.dir(),
        &[
            "serve",
            "--stack",
            s,
            "--listen",
            &listen,
            "--web-dir",
            dist.to_str().unwrap(),
        ],
    );
    let search = format!("{base}/v1/contents?q={}", minted.cid);
    api.wait_for(
        "the minted content in the catalogue",
        Duration::from_secs(90),
        || {
            indexer.assert_running();
            try_curl(&[&search]).filter(|body| body.contains(&id))
        },
    );

    let shots = j.path("screenshots");
    let out = Command::new("node")
        .arg(web.join("tests/journey.mjs"))
        .args(["--base", &base, "--rpc", &stack.chain.rpc])
        .args(["--search", &minted.cid, "--content-id", &id])
        .arg("--out")
        .arg(&shots)
        .env("DDRM_JOURNEY_KEY", &buyer.private_key)
        .current_dir(&web)
        .output()
        .expect("node runs web/tests/journey.mjs");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let kept = Path::new(env!("CARGO_TARGET_TMPDIR")).join("web-journey");
    copy_dir(&shots, &kept);
    assert!(
        out.status.success(),
        "the browser journey failed ({}); screenshots in {}:\n{report}\nserve log:\n{}",
        out.status,
        kept.display(),
        api.log()
    );
    assert!(report.contains("journey: ok"), "{report}");
    for page in ["catalogue", "search", "content", "bought", "library"] {
        let found = std::fs::read_dir(&shots)
            .unwrap()
            .filter_map(Result::ok)
            .any(|e| {
                e.file_name()
                    .to_string_lossy()
                    .ends_with(&format!("-{page}.png"))
            });
        assert!(found, "no screenshot of {page} in {}", shots.display());
    }

    // The chain, not the app, is the judge.
    assert!(
        has_access(&stack, buyer, &id),
        "the buyer has access on chain after buying in the browser:\n{report}"
    );
    let library = try_curl(&[&format!("{base}/v1/accounts/{}/library", buyer.address)])
        .expect("the buyer's library");
    let library: serde_json::Value = serde_json::from_str(&library).unwrap();
    assert!(
        library["items"].as_array().unwrap().iter().any(|i| {
            i["content_id"] == id.as_str() && i["access_tokens"] == 1 && i["playable"] == true
        }),
        "{library}"
    );

    indexer.stop();
    api.stop();
    up.stop("INT");
}

/// Replaces `to` with a copy of the files in `from`.
fn copy_dir(from: &Path, to: &Path) {
    let _ = std::fs::remove_dir_all(to);
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).into_iter().flatten().flatten() {
        let _ = std::fs::copy(entry.path(), to.join(entry.file_name()));
    }
}

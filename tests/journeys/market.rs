//! Issue 6's journey through the binaries: on a running `ddrm up`, `ddrm indexer --stack` and
//! `ddrm serve --stack` need nothing else; the catalogue, a buyer's library and the royalty
//! holders' earnings come out of the API, earnings equal to what the chain says is claimable to
//! the wei; a following indexer picks up a later sale while both services run; both stop
//! cleanly on SIGTERM. Issue 13's roles: with `--stack` a server runs both the market and the
//! pc2 role, `--role market` has no upload route, the pc2 role refuses to start without owners,
//! and the packaging child the pc2 role starts is this very binary (`ddrm package-job`).

use std::time::Duration;

use stack::StackFile;
use tests::up::{free_port, try_curl, Published, Service, Up};
use tests::Journey;

const DDRM: &str = env!("CARGO_BIN_EXE_ddrm");

fn account<'a>(stack: &'a StackFile, label: &str) -> &'a stack::file::DevAccount {
    stack
        .dev_accounts
        .get(label)
        .unwrap_or_else(|| panic!("no dev account {label}"))
}

/// `claimable` from `ddrm royalty balance` (the chain's own number), in wei: the CLI prints it
/// in full precision as a decimal of 18 places.
fn chain_claimable(j: &Journey, stack: &str, content: &str, holder: &str) -> u128 {
    let out = j
        .ddrm([
            "royalty",
            "balance",
            content,
            "--account",
            holder,
            "--stack",
            stack,
        ])
        .ok()
        .stdout();
    let amount = out
        .split("claimable ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no claimable amount in {out:?}"));
    let (whole, frac) = amount.split_once('.').unwrap_or((amount, ""));
    assert!(frac.len() <= 18, "{amount}");
    let wei = format!("{whole}{frac:0<18}");
    wei.parse()
        .unwrap_or_else(|e| panic!("{amount} is not a number: {e}"))
}

fn get(base: &str, path: &str) -> Option<serde_json::Value> {
    let body = try_curl(&[&format!("{base}{path}")])?;
    Some(serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}")))
}

/// The API's claimable for `holder` on `content`, in wei (0 when it has no row yet).
fn api_claimable(base: &str, holder: &str, content: &str) -> Option<u128> {
    let earnings = get(base, &format!("/v1/accounts/{holder}/earnings"))?;
    let items = earnings["items"].as_array().expect("earnings items");
    Some(
        items
            .iter()
            .find(|i| same_id(&i["content_id"], content))
            .map(|i| i["claimable"].as_str().unwrap().parse().unwrap())
            .unwrap_or(0),
    )
}

fn same_id(value: &serde_json::Value, id: &str) -> bool {
    value.as_str().is_some_and(|v| v.eq_ignore_ascii_case(id))
}

#[test]
fn indexer_and_market_api_on_a_running_stack() {
    let j = Journey::new(DDRM);
    let mut up = Up::start(DDRM, &j.path("stack"));
    let stack = up.wait_ready();
    let s = up.stack_path();
    let s = s.to_str().unwrap();
    let (creator, producer, buyer, other) = (
        account(&stack, "creator"),
        account(&stack, "producer"),
        account(&stack, "buyer"),
        account(&stack, "other"),
    );
    let (creator_addr, producer_addr) = (creator.address.to_string(), producer.address.to_string());

    // A content sold once before any service runs.
    let tone = j.make_clip("tone.m4a", 2, &["-map", "1:a", "-c:a", "aac"]);
    let split = format!("{creator_addr}:8000,{producer_addr}:2000");
    let Published {
        cid,
        content_id: id,
    } = j.publish(&stack, &tone, "tone.ddrm", &split, [&[], &[]]);
    j.buy(&stack, &id, "buyer");

    // The indexer catches up and exits; the API serves what it wrote, both from --stack alone
    // (the stack's anvil carries its own confirmation depth, 0: the last block is indexed).
    j.ddrm(["indexer", "--stack", s, "--once"]).ok();
    let listen = format!("127.0.0.1:{}", free_port());
    let base = format!("http://{listen}");
    let mut api = Service::start(
        "ddrm serve",
        DDRM,
        j.dir(),
        &["serve", "--stack", s, "--listen", &listen],
    );
    api.wait_for("health answer", Duration::from_secs(60), || {
        try_curl(&[&format!("{base}/v1/health")])
    });
    let config = get(&base, "/v1/config").expect("config");
    assert_eq!(
        config["roles"],
        serde_json::json!(["market", "pc2"]),
        "{config}"
    );
    assert!(
        config["uploads"]["max_bytes"].as_u64() > Some(0),
        "{config}"
    );
    roles_and_the_packaging_child(&j, &stack, s);

    // Titles are known for uploads through the API only; a CID search finds a minted content.
    let catalogue = get(&base, &format!("/v1/contents?q={cid}")).expect("catalogue");
    let items = catalogue["items"].as_array().expect("catalogue items");
    assert!(
        items.iter().any(|c| same_id(&c["content_id"], &id)),
        "the minted content is in the catalogue: {catalogue}"
    );
    let library = get(&base, &format!("/v1/accounts/{}/library", buyer.address)).unwrap();
    let owned = library["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| same_id(&i["content_id"], &id))
        .unwrap_or_else(|| panic!("the buyer's library holds the content: {library}"));
    assert_eq!(owned["playable"], true, "{library}");
    assert_eq!(owned["access_tokens"], 1, "{library}");

    let first = chain_claimable(&j, s, &id, &creator_addr);
    assert!(first > 0, "the creator earned from the sale");
    assert_eq!(api_claimable(&base, &creator_addr, &id), Some(first));
    assert_eq!(
        api_claimable(&base, &producer_addr, &id),
        Some(chain_claimable(&j, s, &id, &producer_addr))
    );

    // A following indexer: a second sale reaches the API while both services run.
    let mut indexer = Service::start("ddrm indexer", DDRM, j.dir(), &["indexer", "--stack", s]);
    j.ddrm([
        "buy",
        &id,
        "--private-key",
        &other.private_key,
        "--stack",
        s,
    ])
    .ok();
    let second = chain_claimable(&j, s, &id, &creator_addr);
    assert!(
        second > first,
        "the second sale adds to the creator's claim"
    );
    api.wait_for("the second sale", Duration::from_secs(60), || {
        indexer.assert_running();
        (api_claimable(&base, &creator_addr, &id) == Some(second)).then_some(())
    });
    assert_eq!(
        api_claimable(&base, &producer_addr, &id),
        Some(chain_claimable(&j, s, &id, &producer_addr))
    );
    let library = get(&base, &format!("/v1/accounts/{}/library", other.address)).unwrap();
    assert!(
        library["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| same_id(&i["content_id"], &id) && i["playable"] == true),
        "the second buyer's library: {library}"
    );

    indexer.stop();
    api.stop();
    up.stop("INT");
}

/// A market-only server has no upload route; the pc2 role needs owners; `ddrm package-job`
/// packages a job given on stdin and reports on stdout.
fn roles_and_the_packaging_child(j: &Journey, stack: &StackFile, s: &str) {
    let listen = format!("127.0.0.1:{}", free_port());
    let base = format!("http://{listen}");
    let mut market = Service::start(
        "ddrm serve --role market",
        DDRM,
        j.dir(),
        &[
            "serve", "--stack", s, "--listen", &listen, "--role", "market",
        ],
    );
    market.wait_for("health answer", Duration::from_secs(60), || {
        try_curl(&[&format!("{base}/v1/health")])
    });
    let config = get(&base, "/v1/config").expect("config");
    assert_eq!(config["roles"], serde_json::json!(["market"]), "{config}");
    assert!(config["uploads"].is_null(), "{config}");
    let refused = std::process::Command::new("curl")
        .args(["-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST"])
        .arg(format!("{base}/v1/uploads"))
        .output()
        .expect("curl");
    assert_eq!(String::from_utf8_lossy(&refused.stdout), "404");
    market.stop();

    let deployment = stack.deployment.file.as_ref().expect("a deployment file");
    let deployment = deployment.to_str().expect("a UTF-8 path");
    let err = j
        .ddrm([
            "serve",
            "--role",
            "pc2",
            "--rpc",
            &stack.chain.rpc,
            "--deployment",
            deployment,
        ])
        .fails();
    assert!(err.contains("--owner"), "{err}");

    let input = j.path("notes.txt");
    std::fs::write(&input, "notes for the packaging child\n".repeat(100)).unwrap();
    let spec = packager::job::JobSpec {
        input: input.clone(),
        output: j.path("notes.ddrm"),
        group_key: std::fs::read_to_string(&stack.licence.group_key).expect("the group key"),
        renderers: Vec::new(),
        title: Some("Notes".into()),
        creator: String::new(),
        creator_account: account(stack, "creator").address,
        as_data: true,
        description: None,
        thumbnail: None,
        preview: None,
        limits: packager::job::Limits {
            memory_bytes: 4 << 30,
            cpu_seconds: 60,
            file_bytes: 64 << 20,
            open_files: 64,
        },
    };
    let mut child = std::process::Command::new(DDRM)
        .arg("package-job")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start ddrm package-job");
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&serde_json::to_vec(&spec).unwrap())
        .unwrap();
    let out = child.wait_with_output().expect("ddrm package-job");
    assert!(out.status.success(), "{out:?}");
    let events = packager::job::read_events(&out.stdout[..]).expect("its events");
    match events.last() {
        Some(packager::job::JobEvent::Done(report)) => {
            assert_eq!(report.input_bytes, 3000);
            assert!(j.path("notes.ddrm").is_file());
        }
        other => panic!("ddrm package-job ended with {other:?}"),
    }
}

//! Issue 6's journey through the binaries: on a running `ddrm up`, `ddrm indexer --stack` and
//! `ddrm serve --stack` need nothing else; the catalogue, a buyer's library and the royalty
//! holders' earnings come out of the API, earnings equal to what the chain says is claimable to
//! the wei; a following indexer picks up a later sale while both services run; both stop
//! cleanly on SIGTERM.

use std::time::Duration;

use tests::up::{dev_account as account, free_port, package_and_mint, try_curl, Service, Up};
use tests::Journey;

const DDRM: &str = env!("CARGO_BIN_EXE_ddrm");

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
    let minted = package_and_mint(&j, s, &tone, creator, &["--price", "1", "--split", &split]);
    let (cid, id) = (minted.cid, minted.content_id);
    j.ddrm([
        "buy",
        &id,
        "--private-key",
        &buyer.private_key,
        "--stack",
        s,
    ])
    .ok();

    // The indexer catches up and exits; the API serves what it wrote, both from --stack alone.
    j.ddrm(["indexer", "--stack", s, "--once", "--confirmations", "0"])
        .ok();
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
    let mut indexer = Service::start(
        "ddrm indexer",
        DDRM,
        j.dir(),
        &["indexer", "--stack", s, "--confirmations", "0"],
    );
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

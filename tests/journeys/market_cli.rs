//! The royalty market from the command line on a running `ddrm up`: a holder lists 1,500 of
//! the 9,000 shares he holds, a trader fills 400, the seller withdraws the proceeds; an offer is
//! made and cancelled; a non-holder's fill and a stranger's cancel are refused, naming why.

use tests::up::{dev_account, stack_arg, Up};
use tests::Journey;

const DDRM: &str = env!("CARGO_BIN_EXE_ddrm");

#[test]
fn list_fill_offer_cancel_and_withdraw_on_a_running_stack() {
    let j = Journey::new(DDRM);
    let mut up = Up::start(DDRM, &j.path("stack"));
    let stack = up.wait_ready();
    let s = stack_arg(&stack);
    let key = |label: &str| dev_account(&stack, label).private_key.clone();
    let address = |label: &str| dev_account(&stack, label).address.to_string();
    let (creator, producer, trader) = (address("creator"), address("producer"), address("buyer"));

    std::fs::write(j.path("notes.txt"), b"royalty market notes").unwrap();
    let split = format!("{creator}:9000,{producer}:1000");
    let id = j
        .publish(
            &stack,
            &j.path("notes.txt"),
            "notes.ddrm",
            &split,
            [&[], &[]],
        )
        .content_id;
    let market = |args: &[&str], who: &str| {
        let k = key(who);
        let mut all = vec!["market"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--private-key", k.as_str(), "--stack", s.as_str()]);
        j.ddrm(all)
    };
    let shares = |who: &str| -> u64 {
        let out = j
            .ddrm([
                "royalty",
                "balance",
                &id,
                "--account",
                &address(who),
                "--stack",
                &s,
                "--json",
            ])
            .ok()
            .json();
        let hex = out["shares"].as_str().expect("shares as a hex quantity");
        u64::from_str_radix(hex.trim_start_matches("0x"), 16).unwrap()
    };

    let listed = market(
        &[
            "list",
            &id,
            "--amount",
            "1500",
            "--unit-price",
            "0.01",
            "--json",
        ],
        "creator",
    )
    .ok()
    .json();
    assert_eq!(listed["order"]["kind"], "listing", "{listed}");
    let listing = listed["order"]["id"].as_u64().expect("a listing id");
    let listing = listing.to_string();

    let filled = market(
        &["fill", "--listing", &listing, "--amount", "400", "--json"],
        "buyer",
    )
    .ok()
    .json();
    assert_eq!(filled["left"], 1_100, "{filled}");
    assert_eq!(
        filled["buyer"].as_str().unwrap().to_lowercase(),
        trader.to_lowercase()
    );
    assert_eq!((shares("creator"), shares("buyer")), (8_600, 400));

    // The seller is owed 400 × 0.01 ELA and takes it out; the text output says so.
    let withdrawn = market(&["withdraw"], "creator").ok().stdout();
    assert!(
        withdrawn.contains("withdrew 4 ELA from the market"),
        "{withdrawn}"
    );

    // Refusals name their cause and change nothing.
    let err = market(&["cancel", "--listing", &listing], "buyer").fails();
    assert!(err.contains("cannot cancel it"), "{err}");
    let err = market(
        &["fill", "--listing", &listing, "--amount", "2000"],
        "buyer",
    )
    .fails();
    assert!(err.contains("has 1100 left, cannot fill 2000"), "{err}");
    let offered = market(
        &[
            "offer",
            &id,
            "--amount",
            "300",
            "--unit-price",
            "0.02",
            "--json",
        ],
        "buyer",
    )
    .ok()
    .json();
    let offer = offered["order"]["id"].as_u64().unwrap().to_string();
    let err = market(&["fill", "--offer", &offer, "--amount", "300"], "other").fails();
    assert!(err.contains("holds 0 royalty shares"), "{err}");
    let cancelled = market(&["cancel", "--offer", &offer, "--json"], "buyer")
        .ok()
        .json();
    assert_eq!(cancelled["order"]["kind"], "offer", "{cancelled}");
    let refunded = market(&["withdraw", "--json"], "buyer").ok().json();
    assert_eq!(refunded["amount"], cancelled["refunded"], "{refunded}");
    assert_eq!((shares("creator"), shares("buyer")), (8_600, 400));
    up.stop("INT");
}

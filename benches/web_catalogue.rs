//! The web app's catalogue page on a running local stack: time to first contentful paint and
//! until the first card is drawn (usable), cold, in real Chromium on loopback
//! (`web/bench/catalogue.mjs`), over a catalogue of CLI-minted contents served by `ddrm serve`
//! beside `ddrm indexer`. Needs `web/dist` built and Debian's chromium (scripts/setup.sh).
//!
//! `cargo bench --bench web_catalogue`

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use tests::up::{dev_account, MarketServices, Up};
use tests::Journey;

const DDRM: &str = env!("CARGO_BIN_EXE_ddrm");
const CONTENTS: usize = 12;
const RUNS: &str = "15";

fn main() {
    let web = Path::new(env!("CARGO_MANIFEST_DIR")).join("web");
    assert!(
        web.join("dist/index.html").is_file(),
        "build the web app first: cd web && npm run build"
    );
    let j = Journey::new(DDRM);
    let mut up = Up::start(DDRM, &j.path("stack"));
    let stack = up.wait_ready();
    let s = up.stack_path();
    let s = s.to_str().unwrap();
    let creator = dev_account(&stack, "creator").address;
    for i in 0..CONTENTS {
        let file = j.path(&format!("notes-{i}.txt"));
        std::fs::write(&file, format!("catalogue entry {i}\n").repeat(256)).unwrap();
        j.publish(
            &stack,
            &file,
            &format!("notes-{i}.ddrm"),
            &format!("{creator}:10000"),
            [&["--title", &format!("Field notes {i}")], &[]],
        );
    }
    let mut market = MarketServices::start(DDRM, j.dir(), s, &web.join("dist"));
    market.wait_for(
        "the whole catalogue",
        "/v1/contents?limit=100",
        Duration::from_secs(120),
        |body| body.matches("\"content_id\"").count() >= CONTENTS,
    );
    let out = Command::new("node")
        .arg(web.join("bench/catalogue.mjs"))
        .args(["--base", &market.base, "--runs", RUNS])
        .current_dir(&web)
        .output()
        .expect("node runs web/bench/catalogue.mjs");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the catalogue bench failed: {report}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    println!("catalogue page of {CONTENTS} contents, cold, Chromium on loopback:\n{report}");
    market.stop();
    up.stop("INT");
}

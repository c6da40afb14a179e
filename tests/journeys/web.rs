//! Issue 13's journeys, in real Chromium: on a running `ddrm up`, with `ddrm indexer` and
//! `ddrm serve --web-dir web/dist`, a buyer finds a CLI-minted content in the web app's
//! catalogue by search, rejects a first signature (nothing is sent), buys it through an
//! injected EIP-1193 wallet that signs for real with the buyer's dev key, and sees it in the
//! library; the creator, a royalty holder watching the page, sees the sale arrive live, claims
//! exactly the chain's `claimable` from the Earnings page, is refused a listing of more shares
//! than held, lists 1,500 shares; the buyer fills 400 of them and both pages show the book and
//! the trade (`web/tests/journey.mjs`, playwright-core). In the creator studio the creator signs
//! in with Ethereum (a rejected signature first), is refused a 70/20 split, an over-size file
//! (`serve --max-upload-mib 8`) and a registration from a wallet left on another chain or
//! rejected in the wallet (nothing sent, the nonce unchanged), then uploads a video (picked) and
//! a PDF (dropped), each split 70/30 with the producer, and registers both through the wallet;
//! the buyer finds both by search, buys the video (priced in the stack's test ERC-20: an approval,
//! then the purchase), rents the PDF and sees both in the library.
//! Then the chain itself is the judge: access, share balances (7,000 / 3,000 of each upload) and
//! the seller's proceeds. Screenshots of each page are taken into the journey's scratch dir and
//! copied to `$CARGO_TARGET_TMPDIR/web-journey/`, which outlives the test (pass or fail).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use alloy::primitives::{Address, U256};
use contracts_bindings::bindings::{Access, Market, RoyaltyShares, TestToken};
use contracts_bindings::Chain;
use stack::StackFile;
use tests::up::{dev_account, try_curl, MarketServices, Up};
use tests::Journey;

const DDRM: &str = env!("CARGO_BIN_EXE_ddrm");
const CHROMIUM: &str = "/usr/bin/chromium";
/// The stack's test ERC-20 (TUSD, 6 decimals) minted to the buyer before the journey: the
/// studio prices the video in it.
const TUSD_MINTED: u64 = 10_000_000;
/// The video's price, as `journey.mjs` sets it in the studio (2.5 TUSD).
const VIDEO_PRICE_TUSD: u64 = 2_500_000;
/// The API's name of the chain's own token as a payment token.
const NATIVE_TOKEN: &str = "0x0000000000000000000000000000000000000000";
/// `ddrm serve --max-upload-mib` for the journey: small, so an over-size file is quick to make.
const MAX_UPLOAD_MIB: u64 = 8;

/// A small valid PDF (one page showing `text`), with its cross-reference table's byte offsets.
fn minimal_pdf(text: &str) -> Vec<u8> {
    let stream = format!("BT /F1 18 Tf 72 720 Td ({text}) Tj ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R \
         /Resources << /Font << /F1 5 0 R >> >> >>"
            .to_owned(),
        format!(
            "<< /Length {} >>\nstream\n{stream}\nendstream",
            stream.len()
        ),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
    ];
    let mut pdf = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = pdf.len();
    pdf.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for o in offsets {
        pdf.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    pdf.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    pdf
}

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

/// What the chain says at its head, of one account and one content.
#[derive(Debug, PartialEq, Eq)]
struct OnChain {
    has_access: bool,
    shares: U256,
    /// Owed by the Market in the native token (sales proceeds, refunds).
    withdrawable: U256,
}

/// The stack's chain and contracts, read at the head from the test's own thread.
struct ChainReader {
    runtime: tokio::runtime::Runtime,
    rpc: String,
    chain: Chain,
    contracts: contracts_bindings::Contracts,
}

impl ChainReader {
    fn connect(stack: &StackFile) -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let chain = runtime
            .block_on(Chain::connect(&stack.chain.rpc, None))
            .expect("connect to the stack's chain");
        let contracts = stack
            .deployment()
            .expect("the stack's deployment")
            .contracts;
        Self {
            runtime,
            rpc: stack.chain.rpc.clone(),
            chain,
            contracts,
        }
    }

    /// `uri(id)` of the Access and RoyaltyShares contracts, as wallets read them.
    fn token_uris(&self, content_id: &str) -> (String, String) {
        let id: U256 = content_id.parse().expect("a content id is a uint256");
        let (c, p) = (&self.contracts, &self.chain.provider);
        self.runtime.block_on(async {
            (
                Access::new(c.access, p)
                    .uri(id)
                    .call()
                    .await
                    .expect("Access.uri"),
                RoyaltyShares::new(c.royalty_shares, p)
                    .uri(id)
                    .call()
                    .await
                    .expect("RoyaltyShares.uri"),
            )
        })
    }

    /// The stack's test ERC-20.
    fn test_token(&self) -> Address {
        self.contracts
            .test_token
            .expect("a `ddrm up` stack deploys a test ERC-20")
    }

    /// Mints `amount` of the test ERC-20 to `to` (anyone may), signed by `key`.
    fn mint_test_token(&self, key: &str, to: Address, amount: u64) {
        let signer: alloy::signers::local::PrivateKeySigner =
            key.parse().expect("a dev account's key");
        self.runtime.block_on(async {
            let chain = Chain::connect(&self.rpc, Some(signer))
                .await
                .expect("connect as the minter");
            let token = TestToken::new(self.test_token(), &chain.provider);
            let pending = token
                .mint(to, U256::from(amount))
                .send()
                .await
                .expect("TestToken.mint sent");
            let receipt = pending.get_receipt().await.expect("TestToken.mint mined");
            assert!(receipt.status(), "TestToken.mint reverted");
        })
    }

    fn test_token_balance(&self, account: Address) -> U256 {
        self.runtime.block_on(async {
            TestToken::new(self.test_token(), &self.chain.provider)
                .balanceOf(account)
                .call()
                .await
                .expect("TestToken.balanceOf")
        })
    }

    fn account(&self, account: Address, content_id: &str) -> OnChain {
        let id: U256 = content_id.parse().expect("a content id is a uint256");
        let (c, p) = (&self.contracts, &self.chain.provider);
        self.runtime.block_on(async {
            OnChain {
                has_access: Access::new(c.access, p)
                    .hasAccess(account, id)
                    .call()
                    .await
                    .expect("Access.hasAccess"),
                shares: RoyaltyShares::new(c.royalty_shares, p)
                    .balanceOf(account, id)
                    .call()
                    .await
                    .expect("RoyaltyShares.balanceOf"),
                withdrawable: Market::new(c.market, p)
                    .withdrawable(account, Address::ZERO)
                    .call()
                    .await
                    .expect("Market.withdrawable"),
            }
        })
    }
}

#[test]
fn a_buyer_buys_a_holder_claims_and_lists_shares_and_a_trader_fills_them_in_chromium() {
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
    let reader = ChainReader::connect(&stack);
    let before = (
        reader.account(buyer.address, &id),
        reader.account(creator.address, &id),
    );
    assert!(
        !before.0.has_access,
        "the buyer has no access before the journey"
    );
    assert_eq!(before.0.shares, U256::ZERO);
    assert_eq!(before.1.shares, U256::from(7000));

    // The indexer and the API start together on a new index, as the README shows (they once
    // raced on its first migration); the stack's anvil carries its own confirmation depth, 0,
    // so the sale shows without more blocks.
    let max_upload = MAX_UPLOAD_MIB.to_string();
    let mut market = MarketServices::start_with(
        DDRM,
        j.dir(),
        s,
        &web.join("dist"),
        &["--max-upload-mib", &max_upload],
    );
    market.wait_for(
        "the minted content in the catalogue",
        &format!("/v1/contents?q={}", minted.cid),
        Duration::from_secs(90),
        |body| body.contains(&id),
    );
    let base = market.base.clone();

    // Wallets find the tokens' metadata: `ddrm up` points both contracts' `uri()` at the
    // market server's default address, and the server answers the ERC-1155 path with the
    // title it read from the CLI-minted file's header.
    let (access_uri, shares_uri) = reader.token_uris(&id);
    assert_eq!(access_uri, "http://127.0.0.1:8080/v1/metadata/access/{id}");
    assert_eq!(shares_uri, "http://127.0.0.1:8080/v1/metadata/royalty/{id}");
    let token_path = access_uri
        .trim_start_matches("http://127.0.0.1:8080")
        .replace("{id}", id.trim_start_matches("0x"));
    let metadata = market.wait_for(
        "the access token's metadata with the header's title",
        &token_path,
        Duration::from_secs(60),
        |body| body.contains("\"name\":\"notes\""),
    );
    let metadata: serde_json::Value = serde_json::from_str(&metadata).unwrap();
    assert_eq!(metadata["decimals"], 0, "{metadata}");

    // The creator studio's uploads: a short video, a small PDF, and a file just over the limit.
    let video = j.make_clip("lighthouse.mp4", 2, stack::demo::H264_AAC);
    let pdf = j.path("tide-tables.pdf");
    std::fs::write(
        &pdf,
        minimal_pdf("Tide tables: high water 06:12, low water 12:31"),
    )
    .unwrap();
    // The PDF's picture for the catalogue (the video gets a frame of its own).
    let cover = j.path("tide-tables.png");
    let made = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "color=c=0x2060a0:s=320x180",
        ])
        .args(["-frames:v", "1"])
        .arg(&cover)
        .status()
        .expect("ffmpeg makes a PNG");
    assert!(made.success(), "ffmpeg could not make {}", cover.display());
    let oversize = j.path("too-big.bin");
    std::fs::File::create(&oversize)
        .and_then(|f| f.set_len((MAX_UPLOAD_MIB + 1) * 1024 * 1024))
        .expect("an over-size file");
    for small in [&video, &pdf] {
        let len = std::fs::metadata(small).unwrap().len();
        assert!(
            len > 0 && len < MAX_UPLOAD_MIB * 1024 * 1024,
            "{} is {len} bytes: the journey's uploads must stay under {MAX_UPLOAD_MIB} MiB",
            small.display()
        );
    }

    // The buyer pays for the studio's video in the stack's test ERC-20.
    reader.mint_test_token(&buyer.private_key, buyer.address, TUSD_MINTED);
    assert_eq!(
        reader.test_token_balance(buyer.address),
        U256::from(TUSD_MINTED)
    );

    let shots = j.path("screenshots");
    let out = Command::new("node")
        .arg(web.join("tests/journey.mjs"))
        .args(["--base", &base, "--rpc", &stack.chain.rpc])
        .args(["--search", &minted.cid, "--content-id", &id])
        .args(["--producer", &producer.address.to_string()])
        .arg("--video")
        .arg(&video)
        .arg("--pdf")
        .arg(&pdf)
        .arg("--picture")
        .arg(&cover)
        .arg("--oversize")
        .arg(&oversize)
        .arg("--out")
        .arg(&shots)
        .env("DDRM_JOURNEY_KEY", &buyer.private_key)
        .env("DDRM_JOURNEY_HOLDER_KEY", &creator.private_key)
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
        market.api.log()
    );
    assert!(report.contains("journey: ok"), "{report}");
    // What the browser went through (shown with --nocapture).
    for line in report.lines().filter(|l| l.starts_with("journey: ")) {
        println!("{line}");
    }
    for page in [
        "catalogue",
        "search",
        "content",
        "bought",
        "sale-live",
        "library",
        "earnings",
        "claimed",
        "bad-listing",
        "listed",
        "filled",
        "trade-live",
        "studio",
        "studio-bad-split",
        "studio-too-big",
        "studio-wrong-chain",
        "studio-published",
        "studio-mine",
        "studio-phone",
        "studio-video-bought",
        "library-studio",
    ] {
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

    // The chain, not the app, is the judge: the buyer has access and 400 shares, the holder
    // 1,500 listed of 7,000 of which 400 sold, and the Market owes the holder 400 × 0.001.
    let after = (
        reader.account(buyer.address, &id),
        reader.account(creator.address, &id),
    );
    assert!(after.0.has_access, "no access after buying:\n{report}");
    assert_eq!(after.0.shares, U256::from(400), "{report}");
    assert_eq!(after.1.shares, U256::from(6600), "{report}");
    assert_eq!(
        after.1.withdrawable - before.1.withdrawable,
        U256::from(400u64 * 1_000_000_000_000_000),
        "the seller's proceeds"
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
    let book = try_curl(&[&format!("{base}/v1/contents/{id}/orderbook")]).expect("the book");
    let book: serde_json::Value = serde_json::from_str(&book).unwrap();
    let listings = book["listings"].as_array().unwrap();
    assert!(
        listings.iter().any(|l| l["maker"]
            .as_str()
            .is_some_and(|m| m.eq_ignore_ascii_case(&creator.address.to_string()))
            && l["remaining"] == 1100),
        "{book}"
    );

    // The studio's two uploads: registered by the creator with the 70/30 split, their facts
    // in the catalogue, and the buyer's access (bought; rented, then subscribed) on chain.
    let uploaded = |label: &str| -> String {
        let prefix = format!("journey: studio {label} ");
        report
            .lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("the journey printed no {label} content id:\n{report}"))
            .trim()
            .to_owned()
    };
    // The video was priced in the test ERC-20: the buyer approved and paid exactly its price.
    assert_eq!(
        reader.test_token_balance(buyer.address),
        U256::from(TUSD_MINTED - VIDEO_PRICE_TUSD),
        "the buyer's TUSD after buying the video:\n{report}"
    );
    let test_token = reader.test_token().to_string().to_lowercase();
    for (label, kind, mime, sales, token) in [
        ("video", "media", None, 1, test_token.as_str()),
        ("pdf", "data", Some("application/pdf"), 2, NATIVE_TOKEN),
    ] {
        let id = uploaded(label);
        assert_eq!(
            reader.account(creator.address, &id).shares,
            U256::from(7000),
            "the creator's shares of the {label}"
        );
        assert_eq!(
            reader.account(producer.address, &id).shares,
            U256::from(3000),
            "the producer's shares of the {label}"
        );
        assert!(
            reader.account(buyer.address, &id).has_access,
            "the buyer has no access to the {label}:\n{report}"
        );
        let detail = try_curl(&[&format!("{base}/v1/contents/{id}")]).expect("the upload's page");
        let detail: serde_json::Value = serde_json::from_str(&detail).unwrap();
        let c = &detail["content"];
        assert!(
            c["creator"]
                .as_str()
                .is_some_and(|a| a.eq_ignore_ascii_case(&creator.address.to_string())),
            "{detail}"
        );
        assert_eq!(c["kind"], kind, "{detail}");
        if let Some(mime) = mime {
            assert_eq!(c["mime_type"], mime, "{detail}");
        }
        assert_eq!(
            c["payment_token"], token,
            "the {label}'s payment token: {detail}"
        );
        assert_eq!(
            c["sales"], sales,
            "the buyer's purchase, or rental and subscription: {detail}"
        );
    }

    market.stop();
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

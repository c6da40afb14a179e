//! Contents minted from the command line (packaged, pinned and registered without the API)
//! show their title, kind and MIME type: the header backfill reads them from the `.ddrm`
//! header by the registered CID. A CID pointing to garbage, or to another content's file,
//! gives no row, and the server stays healthy.

use std::time::Duration;

use alloy::primitives::{keccak256, Address, B256, U256};
use contracts_bindings::ops::{self, HeaderFacts, MintRequest, TermsInput};
use contracts_bindings::Chain;
use indexer::testing::ScriptedMarket;
use market_api::BackfillConfig;

use crate::harness::{group_key, index, serve, Backend, Served};

/// Fast passes and retries, so a test sees the backfill within seconds.
fn fast_backfill(config: &mut market_api::ApiConfig) {
    config.header_backfill = Some(BackfillConfig {
        interval: Duration::from_millis(200),
        first_retry: Duration::from_millis(200),
        max_retry: Duration::from_secs(1),
        ..BackfillConfig::default()
    });
}

/// Packages `input` as `creator` with `title` (and a description and thumbnail when given), as
/// `ddrm package --title --description --thumbnail` does.
fn package(
    group: &licence_net_protocol::GroupKey,
    input: &std::path::Path,
    title: &str,
    creator: Address,
    as_data: bool,
    listing: (
        Option<&str>,
        Option<&std::path::Path>,
        Option<&std::path::Path>,
    ),
) -> std::path::PathBuf {
    let output = input.with_extension("ddrm");
    packager::package(
        &packager::PackageOptions {
            input: input.to_path_buf(),
            output: output.clone(),
            group_key: group.clone(),
            renderers: vec![],
            title: Some(title.to_owned()),
            creator: "CLI Creator".into(),
            creator_account: creator,
            as_data,
            lossless: false,
            export_key: None,
            description: listing.0.map(str::to_owned),
            thumbnail: listing.1.map(std::path::Path::to_path_buf),
            preview: listing.2.map(std::path::Path::to_path_buf),
        },
        &mut |_| {},
    )
    .expect("package");
    output
}

/// Registers a content from the command line's operation (`ddrm mint`), not through the API.
async fn mint(market: &ScriptedMarket, creator: usize, header: HeaderFacts, cid: String) -> U256 {
    let chain = Chain::connect_owned(market.rpc(), market.keys[creator].clone()).await;
    let request = MintRequest {
        header,
        cid,
        payment_token: Address::ZERO,
        terms: TermsInput {
            price: U256::from(1_000u64),
            ..TermsInput::default()
        },
        split: vec![(market.addr(creator), 10_000)],
    };
    ops::mint(&chain, &market.deployment, &request)
        .await
        .expect("mint")
        .content_id
}

fn id_hex(id: U256) -> String {
    format!("0x{}", hex::encode(id.to_be_bytes::<32>()))
}

/// Waits until the catalogue entry of `id` has a title, and returns the entry.
async fn titled_entry(api: &Served, id: &str) -> serde_json::Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let page = api.get_ok(&format!("/v1/contents?q={id}")).await;
        let entry = page["items"]
            .as_array()
            .and_then(|items| items.iter().find(|c| c["content_id"] == id))
            .cloned();
        if let Some(entry) = entry.filter(|e| !e["title"].is_null()) {
            return entry;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{id} has no title after 60 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contents_minted_from_the_cli_show_their_header_facts() {
    let market = ScriptedMarket::start().await;
    let api = serve(&market, Backend::Sqlite, fast_backfill).await;
    cli_contents_show_their_facts(&market, &api).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contents_minted_from_the_cli_show_their_header_facts_on_postgres() {
    let market = ScriptedMarket::start().await;
    let api = serve(&market, Backend::Postgres, fast_backfill).await;
    cli_contents_show_their_facts(&market, &api).await;
}

/// Packages a FLAC and a PDF with titles, pins them in the API's store, mints them with
/// `ddrm mint`'s operation, indexes, and reads them back from the catalogue, the content page
/// and the token metadata.
async fn cli_contents_show_their_facts(market: &ScriptedMarket, api: &Served) {
    let creator = market.addr(1);
    let group = group_key(&api.dir.path().join("cli"));
    let audio = tests::media::stereo_flac(&api.dir.path().join("song.flac"), 2);
    let pdf = api.dir.path().join("notes.pdf");
    std::fs::write(&pdf, b"%PDF-1.4 a small document for the catalogue\n").unwrap();

    // A picture of the PDF (its signature is what makes it a JPEG here).
    let cover = api.dir.path().join("cover.jpg");
    let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0];
    jpeg.extend_from_slice(&[7; 500]);
    std::fs::write(&cover, &jpeg).unwrap();
    let described = "Notes on sines, for the catalogue.";
    // Its clear preview: a picture of its first page.
    let first_page = api.dir.path().join("first-page.png");
    let mut page_png = b"\x89PNG\r\n\x1a\n".to_vec();
    page_png.extend_from_slice(&[9; 700]);
    std::fs::write(&first_page, &page_png).unwrap();

    let mut minted = Vec::new();
    for (input, title, as_data, listing) in [
        (&audio, "A sine from the CLI", false, (None, None, None)),
        (
            &pdf,
            "Notes from the CLI",
            true,
            (
                Some(described),
                Some(cover.as_path()),
                Some(first_page.as_path()),
            ),
        ),
    ] {
        let file = package(&group, input, title, creator, as_data, listing);
        let cid = api.store.add_file_pinned(&file).await.expect("pin");
        let header = ops::read_ddrm_header(&file).expect("header");
        let id = mint(market, 1, header, cid.to_string()).await;
        minted.push((id_hex(id), title));
    }
    index(market, &api.db).await;

    let (audio_id, audio_title) = &minted[0];
    let entry = titled_entry(api, audio_id).await;
    assert_eq!(entry["title"], *audio_title);
    assert_eq!(entry["creator_name"], "CLI Creator");
    assert_eq!(entry["kind"], "media");
    assert_eq!(entry["mime_type"], "audio/flac");
    let (pdf_id, pdf_title) = &minted[1];
    let entry = titled_entry(api, pdf_id).await;
    assert_eq!(entry["title"], *pdf_title);
    assert_eq!(entry["kind"], "data");
    assert_eq!(entry["mime_type"], "application/pdf");

    // The content page and the kind filter read the same facts.
    let page = api.get_ok(&format!("/v1/contents/{audio_id}")).await;
    assert_eq!(page["content"]["title"], *audio_title);
    assert_eq!(page["content"]["kind"], "media");
    assert_eq!(page["content"]["mime_type"], "audio/flac");
    let data = api.get_ok("/v1/contents?kind=data").await;
    let ids: Vec<&str> = data["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["content_id"].as_str())
        .collect();
    assert_eq!(ids, [pdf_id.as_str()]);

    // The ERC-1155 metadata wallets read names the tokens by the same facts.
    let token = &audio_id[2..];
    let access = api.get_ok(&format!("/v1/metadata/access/{token}")).await;
    assert_eq!(access["name"], *audio_title);
    assert_eq!(access["decimals"], 0);
    assert_eq!(access["properties"]["kind"], "media");
    assert_eq!(access["properties"]["mime_type"], "audio/flac");
    assert_eq!(access["properties"]["creator_name"], "CLI Creator");
    let royalty = api.get_ok(&format!("/v1/metadata/royalty/{token}")).await;
    assert_eq!(
        royalty["name"],
        format!("{audio_title} — royalty shares").as_str()
    );
    // A sine has no picture: none is made up.
    assert!(access.get("image").is_none(), "{access}");
    assert!(page["content"]["thumbnail_type"].is_null());
    let (status, _) = api.get(&format!("/v1/contents/{audio_id}/thumbnail")).await;
    assert_eq!(status, 404);

    // The PDF's description and picture come from its header, to the page, the thumbnail
    // route (immutable, typed by its bytes, never sniffed) and the wallets' metadata.
    let page = api.get_ok(&format!("/v1/contents/{pdf_id}")).await;
    assert_eq!(page["content"]["description"], described);
    assert_eq!(page["content"]["thumbnail_type"], "image/jpeg");
    let r = api
        .http
        .get(format!("{}/v1/contents/{pdf_id}/thumbnail", api.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert!(r.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("immutable"));
    assert_eq!(r.bytes().await.unwrap().as_ref(), jpeg.as_slice());
    let access = api
        .get_ok(&format!("/v1/metadata/access/{}", &pdf_id[2..]))
        .await;
    assert_eq!(
        access["image"],
        format!("http://{}/v1/contents/{pdf_id}/thumbnail", api.addr).as_str()
    );
    assert!(access["description"]
        .as_str()
        .unwrap()
        .starts_with(described));

    // The preview is served from the header in the store: typed by its bytes, sandboxed.
    assert_eq!(page["content"]["preview_type"], "image/png");
    let r = api
        .http
        .get(format!("{}/v1/contents/{pdf_id}/preview", api.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/png");
    assert!(r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .starts_with("sandbox"));
    assert_eq!(r.bytes().await.unwrap().as_ref(), page_png.as_slice());
    let (status, _) = api.get(&format!("/v1/contents/{audio_id}/preview")).await;
    assert_eq!(status, 404, "a content without a preview has none");

    // Earnings name each content by the same facts (null where none are known).
    let earnings = api
        .get_ok(&format!("/v1/accounts/{creator:#x}/earnings"))
        .await;
    let items = earnings["items"].as_array().unwrap();
    let title_of = |id: &str| {
        items
            .iter()
            .find(|i| i["content_id"] == id)
            .map(|i| i["title"].clone())
    };
    assert_eq!(title_of(pdf_id), Some(serde_json::json!(pdf_title)));
    assert_eq!(title_of(audio_id), Some(serde_json::json!(audio_title)));
    let scripted = format!("0x{}", hex::encode(market.contents[0].to_be_bytes::<32>()));
    assert_eq!(
        title_of(&scripted),
        Some(serde_json::Value::Null),
        "{earnings}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cid_of_garbage_or_of_another_file_gives_no_facts_and_the_server_stays_up() {
    let market = ScriptedMarket::start().await;
    let api = serve(&market, Backend::Sqlite, fast_backfill).await;
    let creator = market.addr(2);

    // Garbage behind a real CID.
    let garbage = api
        .store
        .add_bytes(bytes::Bytes::from_static(
            b"this is not a .ddrm file, only garbage",
        ))
        .await
        .expect("add garbage");
    api.store.pin(garbage).await.expect("pin garbage");
    let facts = |seed: u8| {
        HeaderFacts::for_creator(
            creator,
            keccak256([seed, 0x11]),
            keccak256([seed, 0x22]),
            Vec::<B256>::new(),
        )
    };
    let on_garbage = mint(&market, 2, facts(1), garbage.to_string()).await;
    // A real .ddrm, registered under an id that is not its own.
    let pdf = api.dir.path().join("real.pdf");
    std::fs::write(&pdf, b"%PDF-1.4 a real file registered under another id\n").unwrap();
    let real = package(
        &group_key(&api.dir.path().join("cli")),
        &pdf,
        "Real file",
        creator,
        true,
        (None, None, None),
    );
    let real_cid = api.store.add_file_pinned(&real).await.expect("pin");
    let on_other_file = mint(&market, 2, facts(2), real_cid.to_string()).await;
    // A CID the store does not hold.
    let missing = store::Cid::for_block(store::Codec::Raw, b"never stored");
    let on_missing = mint(&market, 2, facts(3), missing.to_string()).await;
    // Then the real file under its own id: once it has its facts, the backfill has walked past
    // the three before it (it goes in registration order) at least once.
    let own = mint(
        &market,
        2,
        ops::read_ddrm_header(&real).expect("header"),
        real_cid.to_string(),
    )
    .await;
    index(&market, &api.db).await;

    let entry = titled_entry(&api, &id_hex(own)).await;
    assert_eq!(entry["title"], "Real file");
    // Some more passes (retries included) over the bad ones.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    for bad in [on_garbage, on_other_file, on_missing] {
        let page = api.get_ok(&format!("/v1/contents/{}", id_hex(bad))).await;
        let content = &page["content"];
        assert!(content["title"].is_null(), "{content}");
        assert!(content["kind"].is_null(), "{content}");
        assert!(content["mime_type"].is_null(), "{content}");
    }
    let health = api.get_ok("/v1/health").await;
    assert_eq!(health["status"], "ok");
}

//! A creator uploads a real audio file: packaged, pinned, and the returned transaction,
//! signed and sent by the creator's own anvil account, registers the content.

use std::time::Duration;

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, Bytes, U256};
use alloy::providers::Provider;
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::SolCall;
use contracts_bindings::bindings::ContentRegistry;
use indexer::testing::ScriptedMarket;
use store::ContentStore;

use crate::harness::{index, serve, Backend};

/// Two seconds of a sine as FLAC, made by FFmpeg's CLI.
fn make_audio(dir: &std::path::Path) -> std::path::PathBuf {
    tests::media::make(
        &dir.join("song.flac"),
        2,
        "64x64",
        &["-map", "1:a", "-c:a", "flac"],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_is_packaged_pinned_and_its_transaction_registers_the_content() {
    let market = ScriptedMarket::start().await;
    let api = serve(&market, Backend::Sqlite, |_| {}).await;
    let creator = market.keys[1].clone();
    let producer = market.addr(3);
    let token = api.sign_in(&creator).await;
    let audio = make_audio(api.dir.path());
    let bytes = tokio::fs::read(&audio).await.unwrap();
    let split = serde_json::json!([
        {"holder": format!("{:#x}", creator.address()), "shares": 8000},
        {"holder": format!("{producer:#x}"), "shares": 2000},
    ]);
    let price = "250000000000000000";
    let mut cover = b"\x89PNG\r\n\x1a\n".to_vec();
    cover.extend_from_slice(&[3; 300]);
    let form = reqwest::multipart::Form::new()
        .text("title", "A440 sine")
        .text("description", "Concert pitch, two seconds of it.")
        .part(
            "thumbnail",
            reqwest::multipart::Part::bytes(cover.clone()).file_name("cover.png"),
        )
        .text("creator_name", "Test Creator")
        .text("price", price)
        .text("rent_price", "1000")
        .text("rent_period", "3600")
        .text("split", split.to_string())
        .part(
            "file",
            reqwest::multipart::Part::stream(bytes.clone()).file_name("song.flac"),
        );
    // Without a session: 401.
    let r = api
        .upload(None, reqwest::multipart::Form::new().text("price", "1"))
        .await;
    assert_eq!(r.status(), 401);
    let r = api.upload(Some(&token), form).await;
    assert_eq!(r.status(), 202);
    let accepted: serde_json::Value = r.json().await.unwrap();
    let status_url = format!("{}{}", api.base, accepted["status_url"].as_str().unwrap());

    // Another account cannot follow it.
    let other = api.sign_in(&market.keys[2]).await;
    let r = api
        .http
        .get(&status_url)
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    let mut states = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    let status = loop {
        let s: serde_json::Value = api
            .http
            .get(&status_url)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let state = s["state"].as_str().unwrap().to_owned();
        if states.last() != Some(&state) {
            states.push(state.clone());
        }
        match state.as_str() {
            "ready" => break s,
            "failed" => panic!("upload failed: {s}"),
            _ => {}
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "upload not ready in 120 s: {s}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(status["percent"], 100);
    let result = &status["result"];
    assert_eq!(result["kind"], "media");
    assert_eq!(result["input_bytes"].as_u64(), Some(bytes.len() as u64));

    // Pinned in the embedded store.
    let cid: store::Cid = result["cid"].as_str().unwrap().parse().unwrap();
    let store = store::EmbeddedStore::open(api.dir.path().join("store")).unwrap();
    assert!(store.is_pinned(cid).await.unwrap());
    let stat = store.stat(cid).await.unwrap();
    assert_eq!(Some(stat.size), result["output_bytes"].as_u64());

    // The transaction decodes to ContentRegistry.register with this content.
    let tx = &result["transaction"];
    let c = &market.deployment.contracts;
    assert_eq!(tx["to"], c.content_registry.to_checksum(None));
    assert_eq!(tx["from"], creator.address().to_checksum(None));
    assert_eq!(tx["chainId"].as_u64(), Some(market.deployment.chain_id));
    assert_eq!(tx["value"], "0x0");
    let data: Bytes = tx["data"].as_str().unwrap().parse().unwrap();
    let call = ContentRegistry::registerCall::abi_decode(&data).expect("register call");
    let id_text = result["content_id"].as_str().unwrap();
    let content_id = U256::from_str_radix(&id_text[2..], 16).unwrap();
    assert_eq!(call.r.contentId, content_id);
    assert_eq!(call.r.cid, cid.to_string());
    assert_eq!(call.r.terms.price, 250_000_000_000_000_000u128);
    assert_eq!(call.r.paymentToken, Address::ZERO);
    assert_eq!(call.holders, vec![creator.address(), producer]);
    assert_eq!(call.amounts, vec![8000, 2000]);

    // The creator's own wallet signs and sends it: the content is registered.
    let to: Address = tx["to"].as_str().unwrap().parse().unwrap();
    let request = TransactionRequest::default()
        .with_to(to)
        .with_input(data)
        .with_value(U256::ZERO);
    let receipt = market
        .as_account(1)
        .send_transaction(request)
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(receipt.status(), "register reverted");
    let registry = ContentRegistry::new(c.content_registry, market.reader());
    assert!(registry.isRegistered(content_id).call().await.unwrap());
    assert_eq!(
        registry.cidOf(content_id).call().await.unwrap(),
        cid.to_string()
    );

    // Indexed, it appears in the catalogue with the header's title, found by search.
    index(&market, &api.db).await;
    let page = api.get_ok("/v1/contents?q=a440&kind=media").await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{page}");
    assert_eq!(items[0]["content_id"], id_text);
    assert_eq!(items[0]["title"], "A440 sine");
    assert_eq!(items[0]["terms"]["price"], price);
    let detail = api.get_ok(&format!("/v1/contents/{id_text}")).await;
    assert_eq!(detail["cap_table"][0]["shares"], 8000);
    // The creator's description and picture travel in the header, so any market shows them.
    assert_eq!(
        detail["content"]["description"],
        "Concert pitch, two seconds of it."
    );
    assert_eq!(detail["content"]["thumbnail_type"], "image/png");
    let picture = api
        .http
        .get(format!("{}/v1/contents/{id_text}/thumbnail", api.base))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(picture.as_ref(), cover.as_slice());

    assert_eq!(
        states.last().map(String::as_str),
        Some("ready"),
        "{states:?}"
    );
}

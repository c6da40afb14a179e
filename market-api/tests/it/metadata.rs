//! ERC-1155 token metadata of the scripted market's contents: what `uri(id)` of the access and
//! royalty contracts resolves to, by the standard's `{id}` form only.

use indexer::testing::ScriptedMarket;

use crate::harness::{serve, Backend};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_tokens_of_a_registered_content_have_erc1155_metadata() {
    let market = ScriptedMarket::start().await;
    let api = serve(&market, Backend::Sqlite, |c| c.header_backfill = None).await;
    let id = market.contents[0];
    let token = hex::encode(id.to_be_bytes::<32>());
    let content = api.get_ok(&format!("/v1/contents/0x{token}")).await["content"].clone();
    assert!(
        content["title"].is_null(),
        "the scripted contents have no header"
    );

    let access = api.get_ok(&format!("/v1/metadata/access/{token}")).await;
    let fallback = format!("ddrm content 0x{token}");
    assert_eq!(access["name"], fallback.as_str());
    assert_eq!(access["decimals"], 0);
    assert!(access.get("image").is_none(), "no thumbnail: no image");
    let p = &access["properties"];
    assert_eq!(p["token"], "access");
    assert_eq!(p["content_id"], format!("0x{token}").as_str());
    assert_eq!(p["creator"], content["creator"]);
    assert_eq!(p["cid"], content["cid"]);
    assert_eq!(p["payment_token"], content["payment_token"]);
    assert_eq!(p["payment_symbol"], "ELA");
    assert_eq!(p["terms"], content["terms"]);
    assert!(p["total_shares"].is_null());
    let price = content["terms"]["price"].as_str().unwrap();
    assert!(
        p["terms_summary"]
            .as_str()
            .unwrap()
            .contains(&format!("buy {price} base units of ELA")),
        "{p}"
    );

    let royalty = api.get_ok(&format!("/v1/metadata/royalty/{token}")).await;
    assert_eq!(
        royalty["name"],
        format!("{fallback} — royalty shares").as_str()
    );
    assert_eq!(royalty["properties"]["token"], "royalty");
    assert_eq!(royalty["properties"]["total_shares"], 10_000);
    assert_eq!(royalty["decimals"], 0);

    // An id nothing registered: 404; any other spelling of an id: 400.
    let unknown = "0".repeat(63) + "1";
    for kind in ["access", "royalty"] {
        let (status, body) = api.get(&format!("/v1/metadata/{kind}/{unknown}")).await;
        assert_eq!(status, 404, "{body}");
        assert_eq!(body["error"]["code"], "not_found");
        for bad in [
            format!("0x{token}"),
            token.to_uppercase(),
            id.to_string(),
            token[1..].to_owned(),
        ] {
            let (status, body) = api.get(&format!("/v1/metadata/{kind}/{bad}")).await;
            assert_eq!(status, 400, "{bad}: {body}");
            assert!(
                body["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("64 lowercase hex digits"),
                "{body}"
            );
        }
    }
}

//! What the web app needs of the server: `/v1/config` (the deployment's chain and contracts,
//! in the OpenAPI document) and the built files at `/` with `index.html` for client routes,
//! never in place of an API path.

use indexer::testing::ScriptedMarket;

use crate::harness::{serve, Backend};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_names_the_deployment_and_the_app_is_served_beside_the_api() {
    let market = ScriptedMarket::start().await;
    let web = tempfile::tempdir().unwrap();
    std::fs::create_dir(web.path().join("assets")).unwrap();
    std::fs::write(web.path().join("index.html"), "<h1>app</h1>").unwrap();
    std::fs::write(web.path().join("assets/app-1a2b.js"), "run()").unwrap();
    let web_dir = web.path().to_path_buf();
    let rpc = market.rpc();
    let public_rpc = rpc.clone();
    let api = serve(&market, Backend::Sqlite, move |c| {
        c.web_dir = Some(web_dir);
        c.public_rpc_url = Some(public_rpc);
    })
    .await;

    let config = api.get_ok("/v1/config").await;
    let d = &market.deployment;
    assert_eq!(config["chain_id"], d.chain_id, "{config}");
    assert_eq!(config["rpc_url"], rpc.as_str());
    assert_eq!(config["deployment_block"], d.deployment_block);
    let c = &config["contracts"];
    for (name, address) in [
        ("content_registry", d.contracts.content_registry),
        ("access", d.contracts.access),
        ("royalty_shares", d.contracts.royalty_shares),
        ("market", d.contracts.market),
        ("capsule_registry", d.contracts.capsule_registry),
        (
            "licence_network_registry",
            d.contracts.licence_network_registry,
        ),
    ] {
        assert_eq!(c[name], format!("{address:#x}"), "{name} in {config}");
    }
    let doc = api.get_ok("/openapi.json").await;
    assert!(
        doc["paths"]["/v1/config"]["get"].is_object(),
        "/v1/config is documented"
    );
    assert!(doc["components"]["schemas"]["PublicConfig"].is_object());

    // Without a public RPC URL none is published.
    let private = serve(&market, Backend::Sqlite, |_| {}).await;
    assert!(private.get_ok("/v1/config").await["rpc_url"].is_null());

    let text = |path: &'static str| {
        let http = api.http.clone();
        let url = format!("{}{path}", api.base);
        async move {
            let r = http.get(url).send().await.unwrap();
            let cache = r
                .headers()
                .get("cache-control")
                .map(|v| v.to_str().unwrap().to_owned());
            (r.status().as_u16(), cache, r.text().await.unwrap())
        }
    };
    for route in ["/", "/library", "/content/0xab12"] {
        let (status, cache, body) = text(route).await;
        assert_eq!((status, body.as_str()), (200, "<h1>app</h1>"), "{route}");
        assert_eq!(cache.as_deref(), Some("no-cache"), "{route}");
    }
    let (status, cache, body) = text("/assets/app-1a2b.js").await;
    assert_eq!((status, body.as_str()), (200, "run()"));
    assert_eq!(
        cache.as_deref(),
        Some("public, max-age=31536000, immutable")
    );
    // A missing file is a 404, not the app; API paths never fall back to it.
    for missing in [
        "/assets/gone-9f.js",
        "/v1/nothing",
        "/v1/contents/0x12/nothing",
    ] {
        let (status, body) = api.get(missing).await;
        assert_eq!(status, 404, "{missing}");
        assert_eq!(body["error"]["code"], "not_found", "{missing}: {body}");
    }
}

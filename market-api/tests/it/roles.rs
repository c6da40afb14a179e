//! `ddrm serve`'s two roles: a public market instance has no upload route at all; a PC2 serves
//! its owners only, bounds each account's bytes and uploads at once, and packages in a child
//! process under resource limits whose failures leave the server serving.

use std::time::Duration;

use indexer::testing::ScriptedMarket;
use market_api::{ChildLimits, PackagerCommand, Quota};

use crate::harness::{serve, Backend, Served};

/// A data upload of `len` bytes, packaged as data (no FFmpeg: fast).
fn data_form(len: usize) -> reqwest::multipart::Form {
    reqwest::multipart::Form::new()
        .text("as_data", "true")
        .text("price", "1000")
        .part(
            "file",
            reqwest::multipart::Part::bytes(vec![0x5a; len]).file_name("notes.bin"),
        )
}

async fn error_of(r: reqwest::Response) -> (u16, String, String) {
    let status = r.status().as_u16();
    let body: serde_json::Value = r.json().await.unwrap_or_default();
    (
        status,
        body["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

async fn accepted(api: &Served, token: &str, form: reqwest::multipart::Form) -> serde_json::Value {
    let r = api.upload(Some(token), form).await;
    assert_eq!(r.status(), 202, "{:?}", r.text().await);
    r.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_public_market_instance_accepts_no_upload_and_says_where_to_go() {
    let market = ScriptedMarket::start().await;
    let api = serve(&market, Backend::Sqlite, |c| c.pc2 = None).await;
    let config = api.get_ok("/v1/config").await;
    assert_eq!(config["roles"], serde_json::json!(["market"]));
    assert!(config["uploads"].is_null(), "{config}");
    let token = api.sign_in(&market.keys[1]).await;
    let (status, code, message) = error_of(api.upload(Some(&token), data_form(1024)).await).await;
    assert_eq!((status, code.as_str()), (404, "not_found"));
    assert!(message.contains("your own PC2"), "{message}");
    let (status, _) = api.get(&format!("/v1/uploads/{}", "ab".repeat(16))).await;
    assert_eq!(status, 404);
    // The market's reads are all there.
    api.get_ok("/v1/contents").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pc2_serves_its_owners_only() {
    let market = ScriptedMarket::start().await;
    let owner = market.addr(1);
    let api = serve(&market, Backend::Sqlite, |c| {
        c.market = false;
        c.pc2.as_mut().unwrap().owners = vec![owner];
    })
    .await;
    let config = api.get_ok("/v1/config").await;
    assert_eq!(config["roles"], serde_json::json!(["pc2"]));
    assert_eq!(
        config["uploads"]["max_bytes"],
        market_api::DEFAULT_MAX_UPLOAD_BYTES
    );
    let (status, _) = api.get("/v1/contents").await;
    assert_eq!(status, 404, "a pc2-only instance serves no market reads");

    let stranger = api.sign_in(&market.keys[2]).await;
    let (status, code, message) =
        error_of(api.upload(Some(&stranger), data_form(1024)).await).await;
    assert_eq!((status, code.as_str()), (403, "forbidden"), "{message}");
    assert!(message.contains("owner"), "{message}");

    let token = api.sign_in(&market.keys[1]).await;
    let upload = accepted(&api, &token, data_form(4096)).await;
    // The stranger cannot follow the owner's upload either.
    let r = api
        .http
        .get(format!(
            "{}{}",
            api.base,
            upload["status_url"].as_str().unwrap()
        ))
        .bearer_auth(&stranger)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let done = api.finished_upload(&token, &upload).await;
    assert_eq!(done["state"], "ready", "{done}");
    assert_eq!(done["result"]["kind"], "data");
    assert_eq!(done["result"]["input_bytes"], 4096);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quotas_bound_each_accounts_bytes_per_day_and_uploads_at_once() {
    let market = ScriptedMarket::start().await;
    let api = serve(&market, Backend::Sqlite, |c| {
        c.pc2.as_mut().unwrap().quota = Quota {
            bytes_per_day: 100 * 1024,
            uploads_at_once: 1,
        };
    })
    .await;
    let config = api.get_ok("/v1/config").await;
    assert_eq!(config["uploads"]["bytes_per_day"], 100 * 1024);
    let token = api.sign_in(&market.keys[1]).await;

    // A refused upload costs nothing: a bad field after the file is refunded.
    let bad = data_form(90 * 1024).text("price", "-1");
    let (status, code, _) = error_of(api.upload(Some(&token), bad).await).await;
    assert_eq!((status, code.as_str()), (400, "bad_request"));

    let first = accepted(&api, &token, data_form(60 * 1024)).await;
    assert_eq!(api.finished_upload(&token, &first).await["state"], "ready");
    let (status, code, message) =
        error_of(api.upload(Some(&token), data_form(60 * 1024)).await).await;
    assert_eq!(
        (status, code.as_str()),
        (429, "quota_exceeded"),
        "{message}"
    );
    assert!(message.contains("bytes left"), "{message}");
    // What is left still goes through, and another account has its own day.
    let rest = accepted(&api, &token, data_form(30 * 1024)).await;
    assert_eq!(api.finished_upload(&token, &rest).await["state"], "ready");
    let other = api.sign_in(&market.keys[2]).await;
    let theirs = accepted(&api, &other, data_form(60 * 1024)).await;
    assert_eq!(api.finished_upload(&other, &theirs).await["state"], "ready");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_has_a_bounded_number_of_uploads_in_progress() {
    let market = ScriptedMarket::start().await;
    // A packaging child that says nothing for a while, then exits: the job stays in progress,
    // then fails as a child that broke the protocol.
    let api = serve(&market, Backend::Sqlite, |c| {
        let pc2 = c.pc2.as_mut().unwrap();
        pc2.quota.uploads_at_once = 1;
        pc2.packager = PackagerCommand {
            program: "/bin/sleep".into(),
            args: vec!["3".into()],
            limits: ChildLimits::default(),
        };
    })
    .await;
    let token = api.sign_in(&market.keys[1]).await;
    let first = accepted(&api, &token, data_form(1024)).await;
    let (status, code, message) = error_of(api.upload(Some(&token), data_form(1024)).await).await;
    assert_eq!(
        (status, code.as_str()),
        (429, "quota_exceeded"),
        "{message}"
    );
    assert!(message.contains("in progress"), "{message}");
    let done = api.finished_upload(&token, &first).await;
    assert_eq!(done["state"], "failed");
    assert_eq!(done["error"], "packaging stopped unexpectedly");
    // Its slot came back with its end.
    let again = api.upload(Some(&token), data_form(1024)).await;
    assert_eq!(again.status(), 202);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_packaging_child_is_held_to_its_limits_and_the_server_keeps_serving() {
    let market = ScriptedMarket::start().await;
    let api = serve(&market, Backend::Sqlite, |c| {
        c.pc2.as_mut().unwrap().packager.limits = ChildLimits {
            file_bytes: Some(16 * 1024),
            ..ChildLimits::default()
        };
    })
    .await;
    let token = api.sign_in(&market.keys[1]).await;
    // Writing the package (about 64 KiB) crosses the child's 16 KiB file-size limit.
    let upload = accepted(&api, &token, data_form(64 * 1024)).await;
    let done = api.finished_upload(&token, &upload).await;
    assert_eq!(done["state"], "failed", "{done}");
    assert_eq!(
        done["error"],
        "packaging needed more disk space than this PC2 allows"
    );
    assert_eq!(api.get_ok("/v1/health").await["status"], "ok");

    // A child that may use little memory fails the same way, named.
    let api = serve(&market, Backend::Sqlite, |c| {
        c.pc2.as_mut().unwrap().packager.limits = ChildLimits {
            memory_bytes: 8 << 20,
            wall_time: Duration::from_secs(60),
            ..ChildLimits::default()
        };
    })
    .await;
    let token = api.sign_in(&market.keys[1]).await;
    let upload = accepted(&api, &token, data_form(4 << 20)).await;
    let done = api.finished_upload(&token, &upload).await;
    assert_eq!(done["state"], "failed", "{done}");
    assert_eq!(
        done["error"],
        "packaging needed more memory than this PC2 allows"
    );
}

//! Sign-in, bad input, limits, live events and static files.

use std::time::Duration;

use indexer::testing::ScriptedMarket;

use crate::harness::{index, serve, Backend};

fn error_code(body: &serde_json::Value) -> &str {
    body["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error body: {body}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn siwe_accepts_a_good_signature_once_and_refuses_the_rest() {
    let market = ScriptedMarket::start().await;
    let api = serve(&market, Backend::Sqlite, |_| {}).await;
    let key = market.keys[1].clone();

    // Good: a session that /v1/auth/session recognises.
    let nonce = api.nonce().await;
    let msg = api.siwe_message(&key, &nonce, 600);
    let (status, body) = api.verify(&key, &msg).await;
    assert_eq!(status, 200, "{body}");
    let token = body["token"].as_str().unwrap();
    let r = api
        .http
        .get(format!("{}/v1/auth/session", api.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let who: serde_json::Value = r.json().await.unwrap();
    assert_eq!(who["address"], key.address().to_checksum(None));

    // Replayed: the nonce was consumed.
    let (status, body) = api.verify(&key, &msg).await;
    assert_eq!((status, error_code(&body)), (401, "unauthorized"), "{body}");

    // Signed by someone else than the address in the message.
    let nonce = api.nonce().await;
    let msg = api.siwe_message(&key, &nonce, 600);
    let (status, body) = api.verify(&market.keys[2], &msg).await;
    assert_eq!(status, 401, "{body}");

    // Expired.
    let nonce = api.nonce().await;
    let msg = api.siwe_message(&key, &nonce, -10);
    let (status, body) = api.verify(&key, &msg).await;
    assert_eq!(status, 401, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{body}"
    );

    // A nonce the server never issued.
    let msg = api.siwe_message(&key, "neverissued12345", 600);
    let (status, _) = api.verify(&key, &msg).await;
    assert_eq!(status, 401);

    // Another domain.
    let nonce = api.nonce().await;
    let msg = api
        .siwe_message(&key, &nonce, 600)
        .replace(&api.addr.to_string(), "evil.example");
    let (status, _) = api.verify(&key, &msg).await;
    assert_eq!(status, 401);

    // Malformed message, malformed signature, unknown fields: 400.
    let (status, body) = api.verify(&key, "hello").await;
    assert_eq!((status, error_code(&body)), (400, "bad_request"));
    let r = api
        .http
        .post(format!("{}/v1/auth/verify", api.base))
        .json(&serde_json::json!({"message": msg, "signature": "0x12"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = api
        .http
        .post(format!("{}/v1/auth/verify", api.base))
        .json(&serde_json::json!({"message": msg, "signature": "0x12", "extra": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    // Creator-only endpoints without or with a bad token.
    for auth in [
        None,
        Some("Bearer nothex"),
        Some(&*format!("Bearer {}", "ab".repeat(32))),
    ] {
        let mut req = api.http.get(format!("{}/v1/auth/session", api.base));
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 401);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(error_code(&body), "unauthorized");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_4xx_with_an_error_body_and_limits_hold() {
    let market = ScriptedMarket::start().await;
    let api = serve(&market, Backend::Sqlite, |c| {
        c.pc2.as_mut().expect("pc2 role").max_upload_bytes = 64 * 1024;
    })
    .await;
    for (path, want) in [
        ("/v1/contents/0x1234", 400),
        ("/v1/contents/nothex", 400),
        (&*format!("/v1/contents/0x{}", "0".repeat(64)), 404),
        ("/v1/contents?limit=0", 400),
        ("/v1/contents?limit=101", 400),
        ("/v1/contents?limit=abc", 400),
        ("/v1/contents?kind=film", 400),
        ("/v1/contents?min_price=-1", 400),
        ("/v1/contents?payment_token=nothex", 400),
        ("/v1/contents?cursor=garbage", 400),
        ("/v1/contents?unknown=1", 400),
        ("/v1/accounts/0x12/earnings", 400),
        ("/v1/accounts/nope/library", 400),
        ("/v1/accounts/nope/claims", 400),
        (
            &*format!("/v1/contents/0x{}/trades?cursor=x", "a".repeat(64)),
            400,
        ),
        (
            &*format!("/v1/contents/0x{}/orderbook?collection=x", "a".repeat(64)),
            400,
        ),
        (
            &*format!("/v1/contents/0x{}/price-history?interval=1", "a".repeat(64)),
            400,
        ),
        ("/v1/events?max_seconds=0", 400),
        ("/v1/nothing", 404),
        ("/index.html", 404),
    ] {
        let (status, body) = api.get(path).await;
        assert_eq!(status, want, "GET {path}: {body}");
        assert!(body["error"]["code"].is_string(), "GET {path}: {body}");
    }
    // A JSON body over the limit: 413.
    let big = "x".repeat(64 * 1024);
    let r = api
        .http
        .post(format!("{}/v1/auth/verify", api.base))
        .header("content-type", "application/json")
        .body(format!("{{\"message\":\"{big}\",\"signature\":\"0x\"}}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(error_code(&body), "payload_too_large");
    // Wrong content type: 415.
    let r = api
        .http
        .post(format!("{}/v1/auth/verify", api.base))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    // An upload over the limit: 413, whether declared up front or streamed. The server closes
    // such a connection, so these requests use a client that keeps no idle connection (a pooled
    // one would be stale for the next request).
    let once = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let token = api.sign_in(&market.keys[1]).await;
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(vec![7u8; 140 * 1024]).file_name("big.bin"),
    );
    let r = api.upload_with(&once, Some(&token), form).await.unwrap();
    assert_eq!(r.status(), 413);
    let chunks = futures::stream::iter(
        (0..17).map(|_| Ok::<_, std::io::Error>(bytes::Bytes::from(vec![1u8; 4096]))),
    );
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::stream(reqwest::Body::wrap_stream(chunks)).file_name("big.bin"),
    );
    // The server answers 413 as soon as the limit is crossed and closes the connection (RFC 9110
    // lets it); a client still writing the rest of its body may then see the connection close
    // before it reads the answer. Either way the upload is refused, and nothing else is allowed.
    match api.upload_with(&once, Some(&token), form).await {
        Ok(r) => assert_eq!(r.status(), 413),
        Err(e) => {
            let text = format!("{e:?}");
            assert!(
                e.is_request() && (text.contains("BrokenPipe") || text.contains("ConnectionReset")),
                "a streamed upload over the limit must be refused, got {text}"
            );
        }
    }
    let r = api
        .http
        .get(format!("{}/v1/health", api.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        200,
        "the server stays up after refusing an upload"
    );
    // Bad upload fields: 400 before any packaging.
    for (fields, why) in [
        (&[("price", "-5")][..], "a negative price"),
        (&[][..], "no way to get access: no price given"),
    ] {
        let form = fields
            .iter()
            .fold(reqwest::multipart::Form::new(), |f, &(name, value)| {
                f.text(name, value)
            })
            .part(
                "file",
                reqwest::multipart::Part::bytes(vec![1u8; 10]).file_name("a.bin"),
            );
        let r = api.upload(Some(&token), form).await;
        assert_eq!(r.status(), 400, "{why}");
    }
    let r = api
        .http
        .post(format!("{}/v1/uploads", api.base))
        .bearer_auth(&token)
        .body("not multipart")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_over_its_rate_gets_429_with_retry_after() {
    let market = ScriptedMarket::start().await;
    let api = serve(&market, Backend::Sqlite, |c| {
        c.rate_limit = market_api::RateLimit {
            per_second: 1.0,
            burst: 5.0,
        };
    })
    .await;
    let mut statuses = Vec::new();
    for _ in 0..10 {
        let r = api
            .http
            .get(format!("{}/v1/health", api.base))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        if status == 429 {
            assert_eq!(r.headers()["retry-after"], "1");
            let body: serde_json::Value = r.json().await.unwrap();
            assert_eq!(error_code(&body), "rate_limited");
        }
        statuses.push(status);
    }
    assert_eq!(
        statuses.iter().filter(|&&s| s == 200).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|&&s| s == 429).count(),
        5,
        "{statuses:?}"
    );
}

/// Security review (ac16717) finding 12: behind the operator's proxy each client has its own
/// bucket, and one client cannot hold every live-event slot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_behind_a_trusted_proxy_are_limited_apart_and_streams_are_capped_per_client() {
    let market = ScriptedMarket::start().await;
    let api = serve(&market, Backend::Sqlite, |c| {
        c.rate_limit = market_api::RateLimit {
            per_second: 0.5,
            burst: 3.0,
        };
        c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
        c.max_event_streams_per_client = 2;
    })
    .await;
    let get = |client: &'static str, path: &'static str| {
        api.http
            .get(format!("{}{path}", api.base))
            .header("x-forwarded-for", client)
            .send()
    };
    let mut first = Vec::new();
    for _ in 0..4 {
        first.push(
            get("198.51.100.1", "/v1/health")
                .await
                .unwrap()
                .status()
                .as_u16(),
        );
    }
    assert_eq!(first, [200, 200, 200, 429]);
    // Another client behind the same proxy has a bucket of its own.
    assert_eq!(
        get("198.51.100.2", "/v1/health").await.unwrap().status(),
        200
    );

    // Live events: two streams for client 3, the third refused; client 4 still gets one.
    let mut open = Vec::new();
    for _ in 0..2 {
        let r = get("198.51.100.3", "/v1/events?max_seconds=30")
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        open.push(r);
    }
    let r = get("198.51.100.3", "/v1/events?max_seconds=30")
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(error_code(&body), "unavailable");
    let other = get("198.51.100.4", "/v1/events?max_seconds=30")
        .await
        .unwrap();
    assert_eq!(other.status(), 200);
    // A stream that ends gives its slot back.
    drop(open.pop());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let r = get("198.51.100.3", "/v1/events?max_seconds=30")
            .await
            .unwrap();
        if r.status() == 200 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "slot never freed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Reads the event stream `resp` (what was read so far is kept in `text`) until an event named
/// `name` arrives (within 15 s), and returns its data.
async fn next_event(
    resp: &mut reqwest::Response,
    text: &mut String,
    name: &str,
) -> serde_json::Value {
    let marker = format!("event: {name}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while !text.contains(&marker) {
        let chunk = tokio::time::timeout_at(deadline, resp.chunk())
            .await
            .unwrap_or_else(|_| panic!("a {name} event within 15 s"))
            .unwrap()
            .expect("stream open");
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    let data = text
        .lines()
        .skip_while(|l| *l != marker)
        .find_map(|l| l.strip_prefix("data: "))
        .expect("data line");
    serde_json::from_str(data).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_events_stream_new_sales_as_they_are_indexed_and_web_files_are_served() {
    let market = ScriptedMarket::start().await;
    let web = tempfile::tempdir().unwrap();
    std::fs::write(web.path().join("index.html"), "<h1>market</h1>").unwrap();
    let web_dir = web.path().to_path_buf();
    let api = serve(&market, Backend::Sqlite, move |c| {
        c.web_dir = Some(web_dir);
        c.events_poll = Duration::from_millis(100);
    })
    .await;
    let r = api.http.get(format!("{}/", api.base)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "<h1>market</h1>");
    let (status, body) = api.get("/v1/nothing").await;
    assert_eq!((status, error_code(&body)), (404, "not_found"));

    let mut resp = api
        .http
        .get(format!("{}/v1/events?max_seconds=20", api.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    // A new sale on chain, indexed: it arrives on the stream.
    let content = market.contents[0];
    market.buy(6, content).await;
    index(&market, &api.db).await;
    let mut text = String::new();
    let ev = next_event(&mut resp, &mut text, "sale").await;
    assert_eq!(ev["content_id"], indexer::db::content_id_text(content));
    assert_eq!(ev["sale"]["account"], format!("{:#x}", market.addr(6)));
    assert_eq!(ev["sale"]["kind"], "buy");

    // A new listing of royalty shares, indexed: an `order` event names its content.
    let listing = market.list(1, content, false, 100, 1_000_000).await;
    index(&market, &api.db).await;
    let ev = next_event(&mut resp, &mut text, "order").await;
    assert_eq!(ev["change"], "listed");
    assert_eq!(ev["order_id"], listing.to::<u64>());
    assert_eq!(ev["content_id"], indexer::db::content_id_text(content));
    assert_eq!(ev["collection"], "shares");
}

//! The catalogue's page cache never answers for another head than the one it names: an API
//! instance with the cache and one without, over the same database, give the same pages as the
//! index grows and after a reorganisation.

use indexer::testing::ScriptedMarket;

use crate::harness::{another_instance, index, serve, Backend, Served};

const PAGES: &[&str] = &[
    "/v1/contents",
    "/v1/contents?limit=2",
    "/v1/contents?access=rent",
    "/v1/contents?min_price=1&limit=1",
];

/// Every page, asked twice of the cached instance (the second answer from its cache), equals
/// the uncached instance's; returns the first page.
async fn same_pages(cached: &Served, direct: &Served) -> serde_json::Value {
    for page in PAGES {
        let first = cached.get_ok(page).await;
        let again = cached.get_ok(page).await;
        let truth = direct.get_ok(page).await;
        assert_eq!(first, truth, "{page}: cached instance differs");
        assert_eq!(again, truth, "{page}: second (cached) answer differs");
    }
    direct.get_ok(PAGES[0]).await
}

async fn cached_pages_follow_the_index(backend: Backend) {
    let m = ScriptedMarket::start().await;
    let cached = serve(&m, backend, |_| {}).await;
    let direct = another_instance(&m, &cached, |c| c.catalogue_cache_pages = 0).await;
    let start = same_pages(&cached, &direct).await;
    assert!(!start["items"].as_array().unwrap().is_empty());

    // New blocks: the cached pages of the old head are not served.
    let snapshot = m.snapshot().await;
    m.round(11).await;
    index(&m, &cached.db).await;
    let grown = same_pages(&cached, &direct).await;
    assert!(
        grown["as_of_block"].as_u64() > start["as_of_block"].as_u64(),
        "{grown}"
    );
    assert_ne!(grown["items"], start["items"], "the round changed no total");

    // A reorganisation onto a longer, different chain: nothing of the dropped blocks shows.
    m.revert(snapshot).await;
    m.round(12).await;
    m.pay(4, 5, 1).await;
    m.mine(3).await;
    index(&m, &cached.db).await;
    let reorganised = same_pages(&cached, &direct).await;
    assert_ne!(reorganised["items"], grown["items"], "{reorganised}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_cached_pages_follow_the_index() {
    cached_pages_follow_the_index(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_cached_pages_follow_the_index() {
    cached_pages_follow_the_index(Backend::Postgres).await;
}

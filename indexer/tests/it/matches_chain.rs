use crate::harness::*;
use indexer::testing::ScriptedMarket;

async fn scripted_market_is_indexed_to_the_wei(store: Store) {
    let m = ScriptedMarket::start().await;
    let url = store.fresh("index").await;
    let db = index_to_head(&m, &url, 5).await;
    assert_index_matches_chain(&m, &db).await;
    // More activity, indexed incrementally by a new follower, still matches.
    m.round(1).await;
    m.round(2).await;
    let db = index_to_head(&m, &url, 5).await;
    assert_index_matches_chain(&m, &db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_earnings_and_market_match_the_chain() {
    scripted_market_is_indexed_to_the_wei(Store::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_earnings_and_market_match_the_chain() {
    scripted_market_is_indexed_to_the_wei(Store::postgres().await).await;
}

use indexer::follow::Step;
use indexer::testing::ScriptedMarket;
use sqlx::Row;

use crate::harness::*;

/// anvil snapshot → more market activity, indexed → revert → different activity on a longer
/// chain: the index rolls back to the common ancestor, follows the new chain, keeps no event of
/// the dropped blocks, and equals a fresh index of the new chain.
async fn the_index_follows_a_reorganisation(store: Store) {
    let m = ScriptedMarket::start().await;
    let url = store.fresh("index").await;
    index_to_head(&m, &url, 6).await;
    let snapshot = m.snapshot().await;
    m.round(11).await;
    let db = index_to_head(&m, &url, 6).await;
    let dropped: Vec<String> =
        sqlx::query("SELECT block_hash FROM blocks ORDER BY block_number DESC LIMIT 3")
            .fetch_all(db.pool())
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();

    m.revert(snapshot).await;
    m.round(12).await;
    m.pay(4, 5, 1).await;
    m.mine(3).await;

    let mut f = follower(&m, &url, 6).await;
    let steps = f.catch_up(20).await.unwrap();
    assert!(
        steps
            .iter()
            .any(|s| matches!(s, Step::RolledBack { dropped_events, .. } if *dropped_events > 0)),
        "no rollback in {steps:?}"
    );
    drop(f);
    for hash in &dropped {
        for table in [
            "blocks",
            "raw_events",
            "revenue",
            "access_grants",
            "trades",
            "claims",
        ] {
            let n: i64 = sqlx::query(&format!(
                "SELECT COUNT(*) FROM {table} WHERE block_hash = $1"
            ))
            .bind(hash)
            .fetch_one(db.pool())
            .await
            .unwrap()
            .get(0);
            assert_eq!(n, 0, "{table} keeps rows of dropped block {hash}");
        }
    }
    assert_only_canonical_blocks(&m, &db).await;
    assert_index_matches_chain(&m, &db).await;
    let fresh = index_to_head(&m, &store.fresh("fresh").await, 6).await;
    assert_same_dump(&db.dump().await.unwrap(), &fresh.dump().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_index_follows_a_reorganisation() {
    the_index_follows_a_reorganisation(Store::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_index_follows_a_reorganisation() {
    the_index_follows_a_reorganisation(Store::postgres().await).await;
}

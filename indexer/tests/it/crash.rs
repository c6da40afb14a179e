use std::time::Duration;

use rand::{Rng, SeedableRng};

use crate::harness::*;
use indexer::error::IndexerError;
use indexer::testing::ScriptedMarket;

/// Indexes the scripted market while killing the indexer at random points — its task aborted
/// at a random moment (mid-RPC, mid-transaction) or a failure injected just before a range's
/// commit — and restarting it, until it has caught up; the result must equal an uninterrupted
/// run, table by table.
async fn killed_and_restarted_gives_the_same_index(store: Store, seed: u64) {
    let m = ScriptedMarket::start().await;
    let reference = index_to_head(&m, &store.fresh("reference").await, 4).await;
    let expected = reference.dump().await.unwrap();

    let url = store.fresh("crashy").await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let (mut aborted, mut injected) = (0, 0);
    for attempt in 0.. {
        assert!(attempt < 200, "never caught up");
        let mut f = follower(&m, &url, 3).await;
        // The first three restarts always crash at their first commit, so that even a machine
        // fast enough to catch up between two random kills sees at least three crashes.
        let forced = attempt < 3;
        if forced || rng.gen_bool(0.4) {
            f.crash_before_commit_of_range(if forced { 0 } else { rng.gen_range(0..4) });
            match f.catch_up(20).await {
                Err(IndexerError::InjectedCrash) => {
                    injected += 1;
                    continue;
                }
                Ok(_) => break,
                Err(e) => panic!("{e}"),
            }
        }
        let task = tokio::spawn(async move { f.catch_up(20).await.map(|_| ()) });
        let after = Duration::from_millis(rng.gen_range(1..40));
        tokio::time::sleep(after).await;
        if task.is_finished() {
            task.await.unwrap().unwrap();
            break;
        }
        task.abort();
        let _ = task.await;
        aborted += 1;
    }
    assert!(
        aborted + injected >= 3,
        "too few crashes ({aborted} aborted, {injected} injected)"
    );
    let db = index_to_head(&m, &url, 3).await;
    assert_same_dump(&db.dump().await.unwrap(), &expected);
    assert_index_matches_chain(&m, &db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_index_survives_random_kills() {
    killed_and_restarted_gives_the_same_index(Store::sqlite().await, 6).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_index_survives_random_kills() {
    killed_and_restarted_gives_the_same_index(Store::postgres().await, 7).await;
}

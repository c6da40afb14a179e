//! Shared by the tests: opening either database, following to the tip, comparing with the chain.

use std::time::Duration;

use alloy::primitives::{Address, U256};
use contracts_bindings::bindings::{Access, Market, RoyaltyShares};
use indexer::db::{address_text, content_id_text};
use indexer::follow::{FollowConfig, Follower};
use indexer::testing::{ScriptedMarket, TestPostgres};
use indexer::Db;
use sqlx::Row;

/// Which database a test runs on; holds what keeps it alive.
pub enum Store {
    Sqlite(tempfile::TempDir),
    Postgres(TestPostgres),
}

impl Store {
    pub async fn sqlite() -> Self {
        Self::Sqlite(tempfile::tempdir().unwrap())
    }

    pub async fn postgres() -> Self {
        Self::Postgres(TestPostgres::start().await)
    }

    /// A new, empty database on this store.
    pub async fn fresh(&self, name: &str) -> String {
        match self {
            Self::Sqlite(dir) => format!(
                "sqlite://{}?mode=rwc",
                dir.path().join(format!("{name}.db")).display()
            ),
            Self::Postgres(pg) => pg.fresh_database().await,
        }
    }
}

/// Confirmations 0 (anvil has no reorgs of its own) and small ranges (many of them).
pub fn config(range: u64) -> FollowConfig {
    FollowConfig {
        confirmations: 0,
        rpc_timeout: Duration::from_secs(10),
        poll_interval: Duration::from_millis(50),
        initial_range: range,
        max_range: range,
        lock_wait: Duration::from_secs(15),
    }
}

pub async fn follower(m: &ScriptedMarket, url: &str, range: u64) -> Follower {
    let db = Db::open(url).await.expect("open the index");
    Follower::new(db, &m.rpc(), m.deployment.clone(), config(range))
        .await
        .expect("follower")
}

/// Indexes the chain up to its head into `url`; returns the database.
pub async fn index_to_head(m: &ScriptedMarket, url: &str, range: u64) -> Db {
    let mut f = follower(m, url, range).await;
    f.catch_up(20).await.expect("catch up");
    let db = f.db().clone();
    drop(f);
    db
}

/// An integer `column` of `table`'s row for `account` and content `id`; 0 without a row.
async fn of_account(db: &Db, column: &str, table: &str, account: Address, id: &str) -> i64 {
    sqlx::query(&format!(
        "SELECT {column} FROM {table} WHERE account = $1 AND content_id = $2"
    ))
    .bind(address_text(account))
    .bind(id)
    .fetch_optional(db.pool())
    .await
    .unwrap()
    .map(|r| r.get(0))
    .unwrap_or(0)
}

/// Every account's earnings equal `claimable` on chain for every content, to the wei; share
/// and access balances, expiries, revenue per share, listings and offers equal the chain's views.
pub async fn assert_index_matches_chain(m: &ScriptedMarket, db: &Db) {
    let p = m.reader();
    let c = &m.deployment.contracts;
    let shares = RoyaltyShares::new(c.royalty_shares, &p);
    let access = Access::new(c.access, &p);
    let market = Market::new(c.market, &p);
    let mut compared = 0;
    for account in m.accounts() {
        let earnings = db.earnings(account).await.expect("earnings");
        for &content in &m.contents {
            let id = content_id_text(content);
            let chain_claimable = shares.claimable(account, content).call().await.unwrap();
            let chain_shares = shares.balanceOf(account, content).call().await.unwrap();
            let row = earnings.iter().find(|e| e.content_id == id);
            let (claimable, held) = row
                .map(|e| (e.claimable, U256::from(e.shares)))
                .unwrap_or_default();
            assert_eq!(
                claimable, chain_claimable,
                "claimable of {account} for {id}: index {claimable}, chain {chain_claimable}"
            );
            assert_eq!(held, chain_shares, "shares of {account} in {id}");
            if !chain_claimable.is_zero() {
                compared += 1;
            }

            let tokens = access.balanceOf(account, content).call().await.unwrap();
            let indexed = of_account(db, "balance", "access_tokens", account, &id).await;
            assert_eq!(
                U256::from(indexed),
                tokens,
                "access tokens of {account} in {id}"
            );
            let expiry = access.expiresAt(account, content).call().await.unwrap();
            let indexed = of_account(db, "expires_at", "access_expiry", account, &id).await;
            assert_eq!(indexed as u64, expiry, "expiry of {account} in {id}");
        }
    }
    assert!(
        compared >= 8,
        "the script must leave many non-zero claimables ({compared})"
    );
    for &content in &m.contents {
        let id = content_id_text(content);
        let rps = shares.revenuePerShare(content).call().await.unwrap();
        let indexed: String =
            sqlx::query("SELECT revenue_per_share FROM contents WHERE content_id = $1")
                .bind(&id)
                .fetch_one(db.pool())
                .await
                .unwrap()
                .get(0);
        assert_eq!(indexed, rps.to_string(), "revenue per share of {id}");
        let total: i64 = sqlx::query(
            "SELECT CAST(SUM(shares) AS BIGINT) FROM royalty_holders WHERE content_id = $1",
        )
        .bind(&id)
        .fetch_one(db.pool())
        .await
        .unwrap()
        .get(0);
        assert_eq!(total, 10_000, "{id} has 10,000 shares in all");
    }
    for (table, key, next) in [
        (
            "listings",
            "listing_id",
            market.nextListingId().call().await.unwrap(),
        ),
        (
            "offers",
            "offer_id",
            market.nextOfferId().call().await.unwrap(),
        ),
    ] {
        let next: u64 = next.to();
        assert!(next > 2, "the script made {table}");
        for id in 1..next {
            let chain = if table == "listings" {
                market.listings(U256::from(id)).call().await.unwrap()
            } else {
                let o = market.offers(U256::from(id)).call().await.unwrap();
                Market::listingsReturn {
                    maker: o.maker,
                    amount: o.amount,
                    collection: o.collection,
                    maxRoyaltyBps: o.maxRoyaltyBps,
                    unitPrice: o.unitPrice,
                    contentId: o.contentId,
                }
            };
            let row = sqlx::query(&format!(
                "SELECT remaining, status, unit_price FROM {table} WHERE {key} = $1"
            ))
            .bind(id as i64)
            .fetch_one(db.pool())
            .await
            .unwrap();
            let remaining: i64 = row.get(0);
            let status: String = row.get(1);
            let unit_price: String = row.get(2);
            if chain.maker == Address::ZERO {
                assert_eq!(status, "cancelled", "{table} {id}");
            } else {
                assert_eq!(
                    U256::from(remaining),
                    U256::from(chain.amount),
                    "{table} {id}"
                );
                assert_eq!(status, if remaining == 0 { "filled" } else { "open" });
                assert_eq!(unit_price, chain.unitPrice.to_string(), "{table} {id}");
            }
        }
    }
}

/// Every stored raw log and checkpoint belongs to the chain as it is now.
pub async fn assert_only_canonical_blocks(m: &ScriptedMarket, db: &Db) {
    use alloy::providers::Provider;
    let p = m.reader();
    let rows = sqlx::query(
        "SELECT block_number, block_hash FROM blocks UNION \
         SELECT DISTINCT block_number, block_hash FROM raw_events",
    )
    .fetch_all(db.pool())
    .await
    .unwrap();
    assert!(!rows.is_empty());
    for r in rows {
        let number: i64 = r.get(0);
        let hash: String = r.get(1);
        let block = p
            .get_block_by_number((number as u64).into())
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("block {number} is indexed but not on the chain"));
        assert_eq!(
            format!("{:#x}", block.header.hash),
            hash,
            "block {number} of the index is not the chain's"
        );
    }
}

/// Two canonical dumps are equal; on a difference, shows only the lines that differ.
pub fn assert_same_dump(actual: &str, expected: &str) {
    if actual == expected {
        return;
    }
    let a: std::collections::BTreeSet<&str> = actual.lines().collect();
    let e: std::collections::BTreeSet<&str> = expected.lines().collect();
    let only_actual: Vec<_> = a.difference(&e).collect();
    let only_expected: Vec<_> = e.difference(&a).collect();
    panic!("the index differs\nonly in actual:\n{only_actual:#?}\nonly in expected:\n{only_expected:#?}");
}

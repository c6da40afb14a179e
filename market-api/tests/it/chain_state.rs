//! Every answer about money and rights checked against the chain itself.

use alloy::eips::BlockId;
use alloy::primitives::{Address, U256};
use contracts_bindings::bindings::{Access, ContentRegistry, Market, RoyaltyShares};
use indexer::testing::ScriptedMarket;

use crate::harness::{serve, Backend, Served};

fn hex_id(id: U256) -> String {
    indexer::db::content_id_text(id)
}

fn amount(v: &serde_json::Value) -> U256 {
    U256::from_str_radix(v.as_str().expect("amount is a string"), 10).expect("decimal")
}

/// The item of content `id` in a list of the API's items, if there.
fn item_of<'a>(
    items: impl IntoIterator<Item = &'a serde_json::Value>,
    id: U256,
) -> Option<&'a serde_json::Value> {
    items.into_iter().find(|i| i["content_id"] == hex_id(id))
}

/// Open orders (id, remaining, unit price) of `content` on chain, by id.
async fn chain_orders(
    mkt: &Market::MarketInstance<&alloy::providers::DynProvider>,
    at: BlockId,
    next: U256,
    content: U256,
    collection: Address,
    listings: bool,
) -> Vec<(u64, u64, u128)> {
    let mut out = Vec::new();
    let mut n = U256::from(1);
    while n < next {
        let o = if listings {
            let l = mkt.listings(n).block(at).call().await.unwrap();
            (l.contentId, l.collection, l.amount, l.unitPrice)
        } else {
            let o = mkt.offers(n).block(at).call().await.unwrap();
            (o.contentId, o.collection, o.amount, o.unitPrice)
        };
        if o.0 == content && o.1 == collection && o.2 > 0 {
            out.push((n.to::<u64>(), o.2.to::<u64>(), o.3));
        }
        n += U256::from(1);
    }
    out
}

/// The same triples from an order-book side of the API, sorted by id.
fn api_orders(side: &serde_json::Value) -> Vec<(u64, u64, u128)> {
    let mut got: Vec<(u64, u64, u128)> = side
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["order_id"].as_u64().unwrap(),
                o["remaining"].as_u64().unwrap(),
                o["unit_price"].as_str().unwrap().parse().unwrap(),
            )
        })
        .collect();
    got.sort();
    got
}

async fn check_against_chain(market: &ScriptedMarket, api: &Served) {
    let chain = market.reader();
    let c = &market.deployment.contracts;
    let shares = RoyaltyShares::new(c.royalty_shares, &chain);
    let access = Access::new(c.access, &chain);
    let registry = ContentRegistry::new(c.content_registry, &chain);
    let mkt = Market::new(c.market, &chain);
    let head = api.get_ok("/v1/health").await["head_block"]
        .as_u64()
        .expect("indexed");
    let at = BlockId::number(head);
    // A contract view at the block the API answers for.
    macro_rules! view {
        ($call:expr) => {
            $call.block(at).call().await.unwrap()
        };
    }

    // Earnings: every account, every content, to the wei.
    let mut nonzero = 0;
    let mut claims_seen = 0;
    for account in market.accounts() {
        let body = api
            .get_ok(&format!("/v1/accounts/{account}/earnings"))
            .await;
        assert_eq!(body["as_of_block"].as_u64(), Some(head));
        for &id in &market.contents {
            let on_chain = view!(shares.claimable(account, id));
            let item = item_of(body["items"].as_array().unwrap(), id);
            let api_value = item.map(|i| amount(&i["claimable"])).unwrap_or_default();
            assert_eq!(
                api_value,
                on_chain,
                "claimable of {account} for {}",
                hex_id(id)
            );
            if let Some(i) = item {
                let held = view!(shares.balanceOf(account, id));
                assert_eq!(U256::from(i["shares"].as_u64().unwrap()), held);
            }
            if !on_chain.is_zero() {
                nonzero += 1;
            }
        }
        // The claim history, paged one by one, adds up to what the earnings say was claimed.
        let mut claimed: std::collections::BTreeMap<String, U256> = Default::default();
        let mut cursor: Option<String> = None;
        let mut last: Option<(u64, u64)> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/v1/accounts/{account}/claims?limit=1&cursor={c}"),
                None => format!("/v1/accounts/{account}/claims?limit=1"),
            };
            let page = api.get_ok(&path).await;
            for c in page["items"].as_array().unwrap() {
                let at = (
                    c["block_number"].as_u64().unwrap(),
                    c["log_index"].as_u64().unwrap(),
                );
                assert!(last.is_none_or(|l| at < l), "claims come newest first");
                last = Some(at);
                *claimed
                    .entry(c["content_id"].as_str().unwrap().to_owned())
                    .or_default() += amount(&c["amount"]);
                claims_seen += 1;
            }
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        for item in body["items"].as_array().unwrap() {
            let id = item["content_id"].as_str().unwrap();
            assert_eq!(
                claimed.get(id).copied().unwrap_or_default(),
                amount(&item["claimed"]),
                "claims of {account} for {id}"
            );
        }
    }
    assert!(claims_seen >= 1, "the scripted market has claims");
    assert!(
        nonzero >= 3,
        "the scripted market should leave several holders with revenue"
    );

    // Library: what each account can play, as Access.hasAccess says at the same block; the
    // kind of timed access is that of the account's last TimedAccess event up to that block.
    let timed = access
        .TimedAccess_filter()
        .from_block(0)
        .to_block(head)
        .query()
        .await
        .expect("Access.TimedAccess logs");
    let last_timed_kind = |account: Address, id: U256| {
        timed
            .iter()
            .rev()
            .find(|(e, _)| e.account == account && e.contentId == id)
            .map(|(e, _)| {
                if e.kind == 0 {
                    "rental"
                } else {
                    "subscription"
                }
            })
    };
    assert!(
        timed.iter().any(|(e, _)| e.kind == 0) && timed.iter().any(|(e, _)| e.kind == 1),
        "the scripted market both rents and subscribes"
    );
    for account in market.accounts() {
        let body = api.get_ok(&format!("/v1/accounts/{account}/library")).await;
        for &id in &market.contents {
            let has = view!(access.hasAccess(account, id));
            let tokens = view!(access.balanceOf(account, id));
            let expires = view!(access.expiresAt(account, id));
            let item = item_of(body["items"].as_array().unwrap(), id);
            match item {
                Some(i) => {
                    assert_eq!(
                        i["playable"].as_bool(),
                        Some(has),
                        "{account} {}",
                        hex_id(id)
                    );
                    assert_eq!(U256::from(i["access_tokens"].as_u64().unwrap()), tokens);
                    assert_eq!(
                        U256::from(i["expires_at"].as_u64().unwrap_or(0)),
                        U256::from(expires)
                    );
                    assert_eq!(
                        i["timed_kind"].as_str(),
                        last_timed_kind(account, id),
                        "{account} {}",
                        hex_id(id)
                    );
                }
                None => assert!(!has && tokens.is_zero(), "{account} missing {}", hex_id(id)),
            }
        }
    }

    // Catalogue: every content once, across pages of one, with its on-chain terms.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/contents?limit=1&cursor={c}"),
            None => "/v1/contents?limit=1".to_owned(),
        };
        let page = api.get_ok(&path).await;
        for item in page["items"].as_array().unwrap() {
            seen.push(item.clone());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
        assert!(seen.len() <= market.contents.len(), "pagination loops");
    }
    assert_eq!(seen.len(), market.contents.len());
    for &id in &market.contents {
        let item = item_of(&seen, id).expect("listed");
        let info = view!(registry.saleInfo(id));
        let t = info.terms;
        assert_eq!(amount(&item["terms"]["price"]), U256::from(t.price));
        assert_eq!(
            amount(&item["terms"]["rent_price"]),
            U256::from(t.rentPrice)
        );
        assert_eq!(
            amount(&item["terms"]["subscription_price"]),
            U256::from(t.subscriptionPrice)
        );
        assert_eq!(
            item["terms"]["rent_period"].as_u64(),
            Some(u64::from(t.rentPeriod))
        );
        assert_eq!(
            item["terms"]["max_editions"].as_u64(),
            Some(u64::from(t.maxEditions))
        );
        assert_eq!(item["payment_token"], format!("{:#x}", info.paymentToken));
        let creator_filter = api
            .get_ok(&format!(
                "/v1/contents?creator={}",
                item["creator"].as_str().unwrap()
            ))
            .await;
        assert!(item_of(creator_filter["items"].as_array().unwrap(), id).is_some());
        // The payment-token filter: every scripted content is sold for the native token.
        let token = item["payment_token"].as_str().unwrap();
        let by_token = api
            .get_ok(&format!("/v1/contents?payment_token={token}"))
            .await;
        assert!(item_of(by_token["items"].as_array().unwrap(), id).is_some());
        let other_token = api
            .get_ok(&format!(
                "/v1/contents?payment_token={:#x}",
                Address::repeat_byte(0x77)
            ))
            .await;
        assert!(item_of(other_token["items"].as_array().unwrap(), id).is_none());

        // One content: the cap table is RoyaltyShares' balances and sums to 10,000.
        let detail = api.get_ok(&format!("/v1/contents/{}", hex_id(id))).await;
        let mut total = 0u64;
        for holder in detail["cap_table"].as_array().unwrap() {
            let who: Address = holder["account"].as_str().unwrap().parse().unwrap();
            let held = view!(shares.balanceOf(who, id));
            assert_eq!(U256::from(holder["shares"].as_u64().unwrap()), held);
            total += holder["shares"].as_u64().unwrap();
        }
        assert_eq!(total, 10_000);
        assert_eq!(
            amount(&detail["revenue_per_share"]),
            view!(shares.revenuePerShare(id))
        );
    }

    // Order books: every open order on chain, and nothing else.
    let next_listing = view!(mkt.nextListingId());
    let next_offer = view!(mkt.nextOfferId());
    let mut open_orders = 0;
    let mut yielding = 0;
    for &id in &market.contents {
        let book = api
            .get_ok(&format!(
                "/v1/contents/{}/orderbook?collection=shares",
                hex_id(id)
            ))
            .await;
        let expected_listings =
            chain_orders(&mkt, at, next_listing, id, c.royalty_shares, true).await;
        assert_eq!(
            api_orders(&book["listings"]),
            expected_listings,
            "listings of {}",
            hex_id(id)
        );
        let expected_offers = chain_orders(&mkt, at, next_offer, id, c.royalty_shares, false).await;
        assert_eq!(
            api_orders(&book["offers"]),
            expected_offers,
            "offers of {}",
            hex_id(id)
        );
        open_orders += expected_listings.len() + expected_offers.len();
        // Trades and price history agree with each other.
        let trades = api
            .get_ok(&format!("/v1/contents/{}/trades?limit=100", hex_id(id)))
            .await;
        let history = api
            .get_ok(&format!(
                "/v1/contents/{}/price-history?interval=60",
                hex_id(id)
            ))
            .await;
        let traded: u64 = trades["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["amount"].as_u64().unwrap())
            .sum();
        let bucketed: u64 = history["buckets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["volume"].as_u64().unwrap())
            .sum();
        assert_eq!(traded, bucketed);
        // Realised yield per share: the buckets add up, step by step, to the chain's revenue
        // per share.
        let yields = api
            .get_ok(&format!(
                "/v1/contents/{}/yield-history?interval=60",
                hex_id(id)
            ))
            .await;
        let on_chain = view!(shares.revenuePerShare(id));
        assert_eq!(amount(&yields["revenue_per_share"]), on_chain);
        let mut running = U256::ZERO;
        for bucket in yields["buckets"].as_array().unwrap() {
            assert!(bucket["distributions"].as_u64().unwrap() > 0, "{bucket}");
            running += amount(&bucket["per_share"]);
            assert_eq!(amount(&bucket["cumulative_per_share"]), running, "{bucket}");
        }
        assert_eq!(running, on_chain, "yield history of {}", hex_id(id));
        yielding += usize::from(!running.is_zero());
    }
    assert!(open_orders > 0, "the scripted market leaves open orders");
    assert!(yielding > 0, "the scripted market distributes revenue");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_equal_the_chain_on_sqlite_and_postgres() {
    let market = ScriptedMarket::start().await;
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let api = serve(&market, backend, |_| {}).await;
        check_against_chain(&market, &api).await;
    }
}

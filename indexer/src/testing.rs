//! Real components for tests (this crate's and the market API's): a throwaway PostgreSQL server
//! and a scripted market on anvil.
//!
//! [`TestPostgres::start`] runs `initdb` and `postgres` from Debian's `postgresql` package in a
//! temporary folder on a free loopback port (as the `postgres` OS user when the test runs as
//! root, since PostgreSQL refuses to run as root) and stops it on drop. Without PostgreSQL it
//! panics naming `apt-get install postgresql`; it never falls back to anything else.
//!
//! [`ScriptedMarket::start`] deploys the contracts on a fresh anvil and plays a market: several
//! contents (native payment, a price that leaves a division remainder), buys, rentals,
//! subscriptions, royalty share transfers (single and batch) among many holders, market
//! listings and offers with partial fills and cancellations, an access-token resale paying a
//! resale royalty, and claims. [`ScriptedMarket::round`] plays more of the same, varied by a seed.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use alloy::network::{EthereumWallet, TransactionBuilder};
use alloy::node_bindings::AnvilInstance;
use alloy::primitives::{Address, B256, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use contracts_bindings::bindings::{
    Access, ContentRegistry,
    ContentRegistry::{Registration, Terms},
    Market, RoyaltyShares,
};
use contracts_bindings::{chain, testing::spawn_anvil, Chain, DeployOptions, Deployment};
use sqlx::{AnyConnection, Connection};

/// Where Debian puts PostgreSQL's server programs: `/usr/lib/postgresql/<version>/bin`.
const DEBIAN_PG_ROOT: &str = "/usr/lib/postgresql";

/// The newest PostgreSQL server binaries on this machine (`$DDRM_PG_BIN` overrides).
pub fn find_postgres_bin() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("DDRM_PG_BIN") {
        let dir = PathBuf::from(dir);
        return if dir.join("initdb").is_file() {
            Ok(dir)
        } else {
            Err(format!("DDRM_PG_BIN={} holds no initdb", dir.display()))
        };
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(DEBIAN_PG_ROOT)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| {
                    let v: u32 = e.file_name().to_str()?.parse().ok()?;
                    let bin = e.path().join("bin");
                    bin.join("initdb").is_file().then_some((v, bin))
                })
                .collect()
        })
        .unwrap_or_default();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).ok_or_else(|| {
        "PostgreSQL not found (no /usr/lib/postgresql/<version>/bin/initdb): \
         run `apt-get install -y postgresql` (scripts/setup.sh does) or set DDRM_PG_BIN"
            .to_owned()
    })
}

/// A PostgreSQL server of its own for one test, stopped (and its files removed) on drop.
#[derive(Debug)]
pub struct TestPostgres {
    child: Child,
    port: u16,
    next_db: std::sync::atomic::AtomicU32,
    // Dropped after the server is stopped.
    _dir: tempfile::TempDir,
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// `program args…`, as the `postgres` OS user when we are root.
fn pg_command(program: &Path, as_postgres: bool) -> Command {
    if as_postgres {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind a free loopback port")
}

impl TestPostgres {
    /// Starts a fresh server (fsync off: a test database needs no durability). Panics, naming
    /// what to install, when PostgreSQL is missing.
    pub async fn start() -> Self {
        Self::start_with(false).await
    }

    /// Starts a fresh server; `durable` keeps PostgreSQL's default fsync and commit settings
    /// (for benchmarks).
    pub async fn start_with(durable: bool) -> Self {
        let bin = find_postgres_bin().unwrap_or_else(|why| panic!("{why}"));
        let as_postgres = running_as_root();
        let dir = tempfile::Builder::new()
            .prefix("ddrm-pg-")
            .tempdir()
            .expect("temporary folder for PostgreSQL");
        let data = dir.path().join("data");
        if as_postgres {
            let status = Command::new("chown")
                .arg("-R")
                .arg("postgres:postgres")
                .arg(dir.path())
                .status()
                .expect("run chown");
            assert!(
                status.success(),
                "chown of {} to the postgres user failed (is the `postgresql` package installed? \
                 apt-get install -y postgresql)",
                dir.path().display()
            );
        }
        let out = pg_command(&bin.join("initdb"), as_postgres)
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ])
            .output()
            .unwrap_or_else(|e| panic!("could not run {}: {e}", bin.join("initdb").display()));
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = free_port();
        let mut server = pg_command(&bin.join("postgres"), as_postgres);
        server
            .arg("-D")
            .arg(&data)
            .arg("-p")
            .arg(port.to_string())
            .arg("-k")
            .arg(dir.path())
            .args([
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "max_connections=200",
            ]);
        if !durable {
            server.args([
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
            ]);
        }
        let child = server
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("could not start {}: {e}", bin.join("postgres").display()));
        let pg = Self {
            child,
            port,
            next_db: std::sync::atomic::AtomicU32::new(0),
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        sqlx::any::install_default_drivers();
        loop {
            match AnyConnection::connect(&pg.admin_url()).await {
                Ok(c) => {
                    let _ = c.close().await;
                    break;
                }
                Err(e) if Instant::now() >= deadline => {
                    panic!("PostgreSQL did not accept connections on port {port} within 30 s: {e}")
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        pg
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's maintenance database.
    pub fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Creates a new empty database and returns its URL.
    pub async fn fresh_database(&self) -> String {
        let n = self
            .next_db
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let name = format!("ddrm_test_{n}");
        let mut conn = AnyConnection::connect(&self.admin_url())
            .await
            .expect("connect to the test PostgreSQL");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .expect("create a test database");
        let _ = conn.close().await;
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }
}

impl Drop for TestPostgres {
    fn drop(&mut self) {
        // SIGINT: PostgreSQL's fast shutdown (ends its backends, removes its socket and pid file).
        let _ = Command::new("kill")
            .arg("-INT")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.child.try_wait() {
                Ok(Some(_)) => return,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                _ => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    return;
                }
            }
        }
    }
}

/// One ELA (10^18 wei).
pub const ELA: u128 = 1_000_000_000_000_000_000;
/// Platform fee and reward-pool share of the scripted deployment.
pub const FEE_BPS: u16 = 250;
pub const POOL_BPS: u16 = 100;

/// A deployment on a fresh anvil after a scripted market has played.
///
/// Accounts (anvil's keys): 0 deployer and treasury, 1 and 2 creators, 3 producer, 4–8 buyers
/// and traders, 9 the reward pool.
pub struct ScriptedMarket {
    pub anvil: AnvilInstance,
    pub deployment: Deployment,
    pub keys: Vec<PrivateKeySigner>,
    /// The registered contents, in registration order.
    pub contents: Vec<U256>,
}

impl std::fmt::Debug for ScriptedMarket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScriptedMarket")
            .field("rpc", &self.anvil.endpoint())
            .field("deployment", &self.deployment)
            .field("contents", &self.contents)
            .finish_non_exhaustive()
    }
}

/// Sends a contract call and panics unless it is mined and succeeds.
async fn mined<N: alloy::network::Network>(
    what: &str,
    pending: Result<alloy::providers::PendingTransactionBuilder<N>, alloy::contract::Error>,
) {
    let receipt = pending
        .unwrap_or_else(|e| panic!("{what}: {e}"))
        .get_receipt()
        .await
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        alloy::network::ReceiptResponse::status(&receipt),
        "{what}: reverted"
    );
}

impl ScriptedMarket {
    /// Deploys the contracts, registers three contents and plays the scripted market.
    pub async fn start() -> Self {
        let anvil = spawn_anvil();
        let keys = contracts_bindings::testing::anvil_signers(&anvil);
        let deployer = Chain::connect_owned(anvil.endpoint(), keys[0].clone()).await;
        let opts = DeployOptions {
            treasury: Some(keys[0].address()),
            fee_bps: FEE_BPS,
            pool_bps: POOL_BPS,
            reward_pool: Some(keys[9].address()),
            ..Default::default()
        };
        let deployment = chain::deploy(&deployer, &opts).await.expect("deploy");
        let mut m = Self {
            anvil,
            deployment,
            keys,
            contents: Vec::new(),
        };
        m.script().await;
        m
    }

    pub fn rpc(&self) -> String {
        self.anvil.endpoint()
    }

    pub fn addr(&self, i: usize) -> Address {
        self.keys[i].address()
    }

    /// A provider signing as anvil account `i`.
    pub fn as_account(&self, i: usize) -> DynProvider {
        ProviderBuilder::new()
            .wallet(EthereumWallet::from(self.keys[i].clone()))
            .connect_http(self.rpc().parse().expect("anvil URL"))
            .erased()
    }

    /// A read-only provider.
    pub fn reader(&self) -> DynProvider {
        ProviderBuilder::new()
            .connect_http(self.rpc().parse().expect("anvil URL"))
            .erased()
    }

    /// Every account that ever traded, held or bought (anvil's ten).
    pub fn accounts(&self) -> Vec<Address> {
        self.keys.iter().map(|k| k.address()).collect()
    }

    async fn register(
        &mut self,
        creator: usize,
        seed: u8,
        terms: Terms,
        split: &[(usize, u16)],
    ) -> U256 {
        // The id is bound to the creator's address, as the packager derives it.
        let digest = alloy::primitives::keccak256([seed, 0xdd]);
        let id = contracts_bindings::ops::content_id_for(self.addr(creator), digest);
        let p = self.as_account(creator);
        let registry = ContentRegistry::new(self.deployment.contracts.content_registry, &p);
        let registration = Registration {
            contentId: id,
            headerDigest: digest,
            cid: format!("bafkreiscripted{seed}"),
            keyCommitment: alloy::primitives::keccak256([seed, 0x4b]),
            renderers: vec![
                B256::repeat_byte(seed),
                B256::repeat_byte(seed.wrapping_add(1)),
            ],
            paymentToken: Address::ZERO,
            terms,
        };
        let holders: Vec<Address> = split.iter().map(|(i, _)| self.addr(*i)).collect();
        let amounts: Vec<u16> = split.iter().map(|(_, a)| *a).collect();
        mined(
            "register",
            registry
                .register(registration, holders, amounts)
                .send()
                .await,
        )
        .await;
        self.contents.push(id);
        id
    }

    /// Buys a perpetual access token (`price` paid exactly).
    pub async fn buy(&self, who: usize, content: U256) {
        let p = self.as_account(who);
        let registry = ContentRegistry::new(self.deployment.contracts.content_registry, &p);
        let price = registry.termsOf(content).call().await.expect("terms").price;
        let access = Access::new(self.deployment.contracts.access, &p);
        mined(
            "buy",
            access
                .buy(content, U256::from(price))
                .value(U256::from(price))
                .send()
                .await,
        )
        .await;
    }

    pub async fn rent(&self, who: usize, content: U256, periods: u32) {
        let p = self.as_account(who);
        let registry = ContentRegistry::new(self.deployment.contracts.content_registry, &p);
        let terms = registry.termsOf(content).call().await.expect("terms");
        let price = terms.rentPrice;
        let access = Access::new(self.deployment.contracts.access, &p);
        // Overpay: the excess is refunded.
        let value = U256::from(price) * U256::from(periods) + U256::from(12_345u64);
        mined(
            "rent",
            access
                .rent(content, periods, U256::from(price), terms.rentPeriod)
                .value(value)
                .send()
                .await,
        )
        .await;
    }

    pub async fn subscribe(&self, who: usize, content: U256, periods: u32) {
        let p = self.as_account(who);
        let registry = ContentRegistry::new(self.deployment.contracts.content_registry, &p);
        let terms = registry.termsOf(content).call().await.expect("terms");
        let price = terms.subscriptionPrice;
        let access = Access::new(self.deployment.contracts.access, &p);
        let value = U256::from(price) * U256::from(periods);
        mined(
            "subscribe",
            access
                .subscribe(
                    content,
                    periods,
                    U256::from(price),
                    terms.subscriptionPeriod,
                )
                .value(value)
                .send()
                .await,
        )
        .await;
    }

    pub async fn transfer_shares(&self, from: usize, to: usize, content: U256, amount: u16) {
        let p = self.as_account(from);
        let shares = RoyaltyShares::new(self.deployment.contracts.royalty_shares, &p);
        mined(
            "share transfer",
            shares
                .safeTransferFrom(
                    self.addr(from),
                    self.addr(to),
                    content,
                    U256::from(amount),
                    Default::default(),
                )
                .send()
                .await,
        )
        .await;
    }

    pub async fn claim(&self, who: usize, content: U256) {
        let p = self.as_account(who);
        let shares = RoyaltyShares::new(self.deployment.contracts.royalty_shares, &p);
        mined("claim", shares.claim(content).send().await).await;
    }

    async fn approve_market(&self, who: usize) {
        let p = self.as_account(who);
        let market = self.deployment.contracts.market;
        let shares = RoyaltyShares::new(self.deployment.contracts.royalty_shares, &p);
        mined(
            "approve shares",
            shares.setApprovalForAll(market, true).send().await,
        )
        .await;
        let access = Access::new(self.deployment.contracts.access, &p);
        mined(
            "approve access",
            access.setApprovalForAll(market, true).send().await,
        )
        .await;
    }

    /// Lists royalty shares (`access` false) or access tokens; returns the listing id.
    pub async fn list(
        &self,
        who: usize,
        content: U256,
        access: bool,
        amount: u64,
        unit_price: u128,
    ) -> U256 {
        let p = self.as_account(who);
        let market = Market::new(self.deployment.contracts.market, &p);
        let collection = if access {
            self.deployment.contracts.access
        } else {
            self.deployment.contracts.royalty_shares
        };
        let id = market.nextListingId().call().await.expect("nextListingId");
        let royalty = self.resale_royalty_bps(content).await;
        mined(
            "list",
            market
                .list(
                    collection,
                    content,
                    alloy::primitives::Uint::from(amount),
                    unit_price,
                    royalty,
                )
                .send()
                .await,
        )
        .await;
        id
    }

    pub async fn buy_listing(&self, who: usize, listing: U256, amount: u64) {
        let p = self.as_account(who);
        let market = Market::new(self.deployment.contracts.market, &p);
        let order = market.listings(listing).call().await.expect("listing");
        let value = U256::from(order.unitPrice) * U256::from(amount);
        let royalty = self.resale_royalty_bps(order.contentId).await;
        mined(
            "buyListing",
            market
                .buyListing(listing, alloy::primitives::Uint::from(amount), royalty)
                .value(value)
                .send()
                .await,
        )
        .await;
    }

    /// Offers to buy royalty shares; returns the offer id.
    pub async fn offer(&self, who: usize, content: U256, amount: u64, unit_price: u128) -> U256 {
        let p = self.as_account(who);
        let market = Market::new(self.deployment.contracts.market, &p);
        let id = market.nextOfferId().call().await.expect("nextOfferId");
        let value = U256::from(unit_price) * U256::from(amount);
        mined(
            "makeOffer",
            market
                .makeOffer(
                    self.deployment.contracts.royalty_shares,
                    content,
                    alloy::primitives::Uint::from(amount),
                    unit_price,
                )
                .value(value)
                .send()
                .await,
        )
        .await;
        id
    }

    /// The current resale royalty of `content`: the bound a trader who just read the terms sends.
    async fn resale_royalty_bps(&self, content: U256) -> u16 {
        ContentRegistry::new(self.deployment.contracts.content_registry, self.reader())
            .termsOf(content)
            .call()
            .await
            .expect("terms")
            .resaleRoyaltyBps
    }

    pub async fn accept_offer(&self, who: usize, offer: U256, amount: u64) {
        let p = self.as_account(who);
        let market = Market::new(self.deployment.contracts.market, &p);
        let order = market.offers(offer).call().await.expect("offer");
        let royalty = self.resale_royalty_bps(order.contentId).await;
        mined(
            "acceptOffer",
            market
                .acceptOffer(offer, alloy::primitives::Uint::from(amount), royalty)
                .send()
                .await,
        )
        .await;
    }

    /// Mines `n` empty blocks.
    pub async fn mine(&self, n: u64) {
        let _: serde_json::Value = self
            .reader()
            .raw_request("anvil_mine".into(), (U256::from(n),))
            .await
            .expect("anvil_mine");
    }

    /// `evm_snapshot`: an id to revert to.
    pub async fn snapshot(&self) -> U256 {
        self.reader()
            .raw_request("evm_snapshot".into(), ())
            .await
            .expect("evm_snapshot")
    }

    /// `evm_revert` to a snapshot: the blocks after it are dropped.
    pub async fn revert(&self, snapshot: U256) {
        let ok: bool = self
            .reader()
            .raw_request("evm_revert".into(), (snapshot,))
            .await
            .expect("evm_revert");
        assert!(ok, "evm_revert refused snapshot {snapshot}");
    }

    /// Sends plain value (no contract event): moves the chain on with a transaction.
    pub async fn pay(&self, from: usize, to: usize, wei: u128) {
        let tx = TransactionRequest::default()
            .with_to(self.addr(to))
            .with_value(U256::from(wei));
        let receipt = self
            .as_account(from)
            .send_transaction(tx)
            .await
            .expect("send value")
            .get_receipt()
            .await
            .expect("receipt");
        assert!(receipt.status());
    }

    /// The scripted history every test starts from, in named acts: contents registered, sales,
    /// shares moving between sales, the market, then claims and more sales.
    async fn script(&mut self) {
        let [c1, c2, c3] = self.register_contents().await;
        for who in 3..=8 {
            self.approve_market(who).await;
        }
        self.approve_market(1).await;
        self.approve_market(2).await;
        self.first_sales(c1, c2, c3).await;
        self.shares_change_hands(c1, c2).await;
        self.market_orders(c1, c2, c3).await;
        self.claims_then_sales(c1, c2, c3).await;
    }

    /// Three contents with varied terms and royalty splits.
    async fn register_contents(&mut self) -> [U256; 3] {
        let terms = |price: u128, rent: u128, sub: u128, royalty: u16| Terms {
            price,
            rentPrice: rent,
            rentPeriod: if rent == 0 { 0 } else { 86_400 },
            subscriptionPrice: sub,
            subscriptionPeriod: if sub == 0 { 0 } else { 30 * 86_400 },
            maxEditions: 0,
            resaleRoyaltyBps: royalty,
        };
        // A price that is no multiple of 10,000 after fees: every sale leaves dust.
        let c1 = self
            .register(
                1,
                1,
                terms(ELA / 10 + 7_777, ELA / 100 + 3, 0, 1_000),
                &[(1, 7_000), (3, 3_000)],
            )
            .await;
        let c2 = self
            .register(
                2,
                2,
                terms(ELA / 4 + 1, 0, ELA / 50 + 9_999, 500),
                &[(2, 5_000), (3, 3_000), (4, 2_000)],
            )
            .await;
        let c3 = self
            .register(
                1,
                3,
                terms(3 * ELA + 123_456_789, ELA / 20, ELA / 30, 0),
                &[(1, 10_000)],
            )
            .await;
        [c1, c2, c3]
    }

    /// Purchases, rentals and subscriptions of every content.
    async fn first_sales(&self, c1: U256, c2: U256, c3: U256) {
        self.buy(4, c1).await;
        self.buy(5, c1).await;
        self.rent(6, c1, 2).await;
        self.buy(7, c2).await;
        self.subscribe(8, c2, 1).await;
        self.buy(4, c3).await;
        self.subscribe(5, c3, 3).await;
        self.rent(6, c3, 1).await;
        // A rental renewed before it expires.
        self.rent(6, c1, 1).await;
    }

    /// Shares change hands between sales: earnings already made must stay with the seller.
    async fn shares_change_hands(&self, c1: U256, c2: U256) {
        self.transfer_shares(1, 5, c1, 1_500).await;
        self.buy(8, c1).await;
        self.transfer_shares(3, 6, c2, 1_000).await;
        // A batch transfer of two contents.
        {
            let p = self.as_account(3);
            let shares = RoyaltyShares::new(self.deployment.contracts.royalty_shares, &p);
            mined(
                "batch transfer",
                shares
                    .safeBatchTransferFrom(
                        self.addr(3),
                        self.addr(7),
                        vec![c1, c2],
                        vec![U256::from(500u64), U256::from(250u64)],
                        Default::default(),
                    )
                    .send()
                    .await,
            )
            .await;
        }
        self.buy(6, c2).await;
        // A transfer to oneself changes nothing (and settles nothing).
        self.transfer_shares(4, 4, c2, 100).await;
    }

    /// Listings and offers: filled in parts, cancelled, and an access token resold.
    async fn market_orders(&self, c1: U256, c2: U256, c3: U256) {
        // A listing filled in two parts, then cancelled with some left.
        let l1 = self.list(5, c1, false, 1_000, 2_000_000_000_000).await;
        self.buy_listing(6, l1, 400).await;
        self.buy(7, c1).await;
        self.buy_listing(7, l1, 300).await;
        let l2 = self.list(1, c3, false, 2_000, 1_000_000_007).await;
        self.buy_listing(8, l2, 2_000).await;
        let l3 = self.list(3, c1, false, 100, 5_000_000_000_000).await;
        {
            let p = self.as_account(3);
            let market = Market::new(self.deployment.contracts.market, &p);
            mined("cancelListing", market.cancelListing(l3).send().await).await;
        }
        // An offer accepted in two parts; another cancelled.
        let o1 = self.offer(8, c2, 500, 3_000_000_000_000).await;
        self.accept_offer(2, o1, 200).await;
        self.buy(5, c2).await;
        self.accept_offer(4, o1, 100).await;
        let o2 = self.offer(7, c1, 50, 1_000_000_000_001).await;
        {
            let p = self.as_account(7);
            let market = Market::new(self.deployment.contracts.market, &p);
            mined("cancelOffer", market.cancelOffer(o2).send().await).await;
        }
        // An access token resold on the market pays the content's resale royalty.
        let l4 = self.list(4, c1, true, 1, ELA / 5 + 11).await;
        self.buy_listing(2, l4, 1).await;
    }

    /// Claims (one and many), then more sales and a transfer after a claim.
    async fn claims_then_sales(&self, c1: U256, c2: U256, c3: U256) {
        self.claim(1, c1).await;
        self.claim(3, c2).await;
        {
            let p = self.as_account(5);
            let shares = RoyaltyShares::new(self.deployment.contracts.royalty_shares, &p);
            mined("claimMany", shares.claimMany(vec![c1, c3]).send().await).await;
        }
        self.buy(3, c1).await;
        self.subscribe(4, c2, 2).await;
        self.buy(8, c3).await;
        self.claim(6, c1).await;
        self.transfer_shares(6, 4, c1, 200).await;
        self.buy(2, c1).await;
    }

    /// More market activity, varied by `seed` (buys, rentals, transfers, fills, claims).
    pub async fn round(&self, seed: u64) {
        let n = self.contents.len() as u64;
        let c = |k: u64| self.contents[((seed + k) % n) as usize];
        let who = |k: u64| 4 + ((seed + k) % 5) as usize;
        self.buy(who(0), c(0)).await;
        self.rent(who(1), self.contents[0], 1 + (seed % 3) as u32)
            .await;
        self.subscribe(who(2), self.contents[1], 1).await;
        let holder_of_c1 = 5; // holds c1 shares from the script on
        self.transfer_shares(
            holder_of_c1,
            who(3),
            self.contents[0],
            10 + (seed % 7) as u16,
        )
        .await;
        let listing = self
            .list(
                8,
                self.contents[2],
                false,
                100,
                1_000_000_000 + u128::from(seed),
            )
            .await;
        self.buy_listing(who(4), listing, 1 + seed % 50).await;
        self.buy(who(1), c(1)).await;
        self.claim(1, self.contents[2]).await;
    }
}

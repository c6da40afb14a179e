//! The command-line surface: `ddrm chain deploy`, `ddrm mint`, `ddrm buy|rent|subscribe`,
//! `ddrm royalty balance|transfer|claim`. The `ddrm` binary flattens these clap structs into its
//! own parser and calls the matching `run_*` function.

use std::path::PathBuf;

use alloy::{
    primitives::{Address, B256, U256},
    signers::local::PrivateKeySigner,
};
use clap::{Args, Subcommand};

use crate::chain::{self, Chain, DeployOptions, Deployment, DEFAULT_FEE_BPS, DEFAULT_POOL_BPS};
use crate::error::ChainError;
use crate::ops::{self, Purchase, TermsInput};
use crate::units::{self, parse_amount, parse_content_id, parse_period, parse_split};

/// Default RPC: a local anvil.
pub const DEFAULT_RPC: &str = "local";
/// Environment variable holding the private key, so it need not appear in the process list.
pub const PRIVATE_KEY_ENV: &str = "DDRM_PRIVATE_KEY";

/// Errors of the chain commands.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Chain(#[from] ChainError),
    #[error(transparent)]
    Input(#[from] units::InputError),
    #[error("--private-key and --private-key-file are mutually exclusive")]
    TwoKeys,
    #[error("private key file {path}: {why}")]
    KeyFile { path: String, why: String },
    #[error("bad --register-capsule {0:?}: expected 64 hex digits, optionally :VERSION")]
    CapsuleSpec(String),
    #[error("{0}")]
    Usage(String),
}

/// A private key as typed; its Debug output never shows it.
#[derive(Clone)]
pub struct SecretArg(String);

impl std::str::FromStr for SecretArg {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_owned()))
    }
}

impl std::fmt::Debug for SecretArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Where to connect and who signs.
#[derive(Debug, Clone, Args)]
pub struct ConnectArgs {
    /// RPC endpoint: a preset (esc = chain 20, esc-testnet = chain 21, local = anvil on
    /// 127.0.0.1:8545) or the URL of any EVM chain.
    #[arg(long, default_value = DEFAULT_RPC)]
    pub rpc: String,
    /// Hex private key of the sending account. Prefer the DDRM_PRIVATE_KEY environment variable or
    /// --private-key-file, which keep it out of the process list.
    #[arg(long, env = PRIVATE_KEY_ENV, hide_env_values = true)]
    pub private_key: Option<SecretArg>,
    /// File holding the hex private key (first line).
    #[arg(long)]
    pub private_key_file: Option<PathBuf>,
}

impl ConnectArgs {
    fn signer(&self) -> Result<Option<PrivateKeySigner>, CliError> {
        match (&self.private_key, &self.private_key_file) {
            (Some(_), Some(_)) => Err(CliError::TwoKeys),
            (Some(k), None) => Ok(Some(chain::parse_private_key(&k.0)?)),
            (None, Some(path)) => {
                let text = std::fs::read_to_string(path).map_err(|e| CliError::KeyFile {
                    path: path.display().to_string(),
                    why: e.to_string(),
                })?;
                let line = text.lines().next().unwrap_or_default();
                Ok(Some(chain::parse_private_key(line)?))
            }
            (None, None) => Ok(None),
        }
    }

    /// Connects; requires a key when `signing`.
    pub async fn connect(&self, signing: bool) -> Result<Chain, CliError> {
        let signer = self.signer()?;
        if signing && signer.is_none() {
            return Err(ChainError::NoKey.into());
        }
        Ok(Chain::connect(&self.rpc, signer).await?)
    }
}

/// The deployment file to act on.
#[derive(Debug, Clone, Args)]
pub struct DeploymentArgs {
    /// deployment.json written by `ddrm chain deploy`.
    #[arg(long, default_value = "deployment.json")]
    pub deployment: PathBuf,
}

impl DeploymentArgs {
    fn load(&self) -> Result<Deployment, CliError> {
        Ok(Deployment::load(&self.deployment)?)
    }
}

/// `ddrm chain ...`
#[derive(Debug, Clone, Subcommand)]
pub enum ChainCommand {
    /// Deploy every contract, wire them together and write the addresses to a file.
    Deploy(DeployArgs),
}

/// `ddrm chain deploy`
#[derive(Debug, Clone, Args)]
pub struct DeployArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Where to write the deployment (addresses by contract name, chain id, deployment block).
    #[arg(long, default_value = "deployment.json")]
    pub out: PathBuf,
    /// Receives the platform fee (default: the deployer).
    #[arg(long)]
    pub treasury: Option<Address>,
    /// Platform fee in basis points (250 = 2.5 %).
    #[arg(long, default_value_t = DEFAULT_FEE_BPS)]
    pub fee_bps: u16,
    /// Home-node reward pool share in basis points.
    #[arg(long, default_value_t = DEFAULT_POOL_BPS)]
    pub pool_bps: u16,
    /// Address of the home-node reward pool allowed to pull its share.
    #[arg(long)]
    pub reward_pool: Option<Address>,
    /// Approve this runtime attestation key (repeatable).
    #[arg(long)]
    pub approve_runtime: Vec<Address>,
    /// Register this capsule measurement (SHA-256, hex), optionally with :VERSION (repeatable).
    #[arg(long)]
    pub register_capsule: Vec<String>,
    /// Also deploy a mintable USDC-like test ERC-20 (local stacks).
    #[arg(long)]
    pub test_token: bool,
}

fn parse_capsule(spec: &str) -> Result<(B256, u32), CliError> {
    let bad = || CliError::CapsuleSpec(spec.to_owned());
    let (m, v) = match spec.split_once(':') {
        Some((m, v)) => (m, v.parse::<u32>().map_err(|_| bad())?),
        None => (spec, 1),
    };
    let m = m.strip_prefix("0x").unwrap_or(m);
    let bytes = hex::decode(m).map_err(|_| bad())?;
    if bytes.len() != 32 {
        return Err(bad());
    }
    Ok((B256::from_slice(&bytes), v))
}

/// Runs `ddrm chain ...`.
pub async fn run_chain(cmd: ChainCommand) -> Result<(), CliError> {
    match cmd {
        ChainCommand::Deploy(args) => run_deploy(args).await,
    }
}

async fn run_deploy(args: DeployArgs) -> Result<(), CliError> {
    let capsules = args
        .register_capsule
        .iter()
        .map(|s| parse_capsule(s))
        .collect::<Result<Vec<_>, _>>()?;
    let chain = args.connect.connect(true).await?;
    let opts = DeployOptions {
        treasury: args.treasury,
        fee_bps: args.fee_bps,
        pool_bps: args.pool_bps,
        reward_pool: args.reward_pool,
        approve_runtimes: args.approve_runtime.clone(),
        register_capsules: capsules,
        test_token: args.test_token,
    };
    let dep = chain::deploy(&chain, &opts).await?;
    dep.save(&args.out)?;
    println!(
        "deployed on chain {} from block {} by {}",
        dep.chain_id, dep.deployment_block, dep.deployer
    );
    println!(
        "{}",
        serde_json::to_string_pretty(&dep.contracts).expect("serialises")
    );
    for key in &opts.approve_runtimes {
        println!("approved runtime key {key}");
    }
    for (m, v) in &opts.register_capsules {
        println!("registered capsule {m} version {v}");
    }
    println!("wrote {}", args.out.display());
    Ok(())
}

/// `ddrm mint FILE.ddrm`: register a packaged content with its Access terms and Royalty split.
#[derive(Debug, Clone, Args)]
pub struct MintArgs {
    /// The packaged .ddrm file (its header gives the content id, key commitment and renderers).
    pub file: PathBuf,
    /// IPFS CID of the pinned .ddrm.
    #[arg(long)]
    pub cid: String,
    /// Price of a perpetual access token in whole payment-token units (1.5 = 1.5 ELA);
    /// 0 = not sold.
    #[arg(long, default_value = "0")]
    pub price: String,
    /// Price of one rental period, in whole units.
    #[arg(long)]
    pub rent_price: Option<String>,
    /// Length of a rental period: seconds, or 90m, 12h, 7d, 2w.
    #[arg(long)]
    pub period: Option<String>,
    /// Price of one subscription period, in whole units.
    #[arg(long)]
    pub subscription_price: Option<String>,
    /// Length of a subscription period (default 30d when a subscription price is given).
    #[arg(long)]
    pub subscription_period: Option<String>,
    /// Cap on perpetual access tokens sold (0 = unlimited).
    #[arg(long, default_value_t = 0)]
    pub editions: u32,
    /// Royalty on resales of access tokens, in basis points (1000 = 10 %).
    #[arg(long, default_value_t = 1_000)]
    pub resale_royalty_bps: u16,
    /// ERC-20 to be paid in (default: the native token, ELA on ESC).
    #[arg(long)]
    pub token: Option<Address>,
    /// Royalty split: ADDR:SHARES,... summing to 10000 (e.g. 0xA..:8000,0xB..:2000).
    #[arg(long)]
    pub split: String,
    #[command(flatten)]
    pub deployment: DeploymentArgs,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

impl MintArgs {
    /// The terms in base units of a token with `decimals` decimals; every input check that needs
    /// no chain happens here.
    pub fn terms(&self, decimals: u8) -> Result<TermsInput, CliError> {
        let amount = |t: &Option<String>| -> Result<U256, CliError> {
            Ok(match t {
                Some(t) => parse_amount(t, decimals)?,
                None => U256::ZERO,
            })
        };
        let rent_price = amount(&self.rent_price)?;
        let rent_period = self.period.as_deref().map(parse_period).transpose()?;
        let subscription_price = amount(&self.subscription_price)?;
        let subscription_period = match (&self.subscription_period, subscription_price.is_zero()) {
            (Some(p), _) => parse_period(p)?,
            (None, false) => 30 * 86_400,
            (None, true) => 0,
        };
        let terms = TermsInput {
            price: parse_amount(&self.price, decimals)?,
            rent_price,
            rent_period: rent_period.unwrap_or(0),
            subscription_price,
            subscription_period,
            max_editions: self.editions,
            resale_royalty_bps: self.resale_royalty_bps,
        };
        terms.to_terms()?;
        Ok(terms)
    }
}

/// Runs `ddrm mint`.
pub async fn run_mint(args: MintArgs) -> Result<(), CliError> {
    let split = parse_split(&args.split)?;
    let header = ops::read_ddrm_header(&args.file)?;
    // Terms that are wrong whatever the token's decimals fail before connecting.
    args.terms(18)?;
    let dep = args.deployment.load()?;
    let chain = args.connect.connect(true).await?;
    let token = ops::token_info(&chain, args.token.unwrap_or(Address::ZERO)).await?;
    let terms = args.terms(token.decimals)?;
    let req = ops::MintRequest {
        header,
        cid: args.cid.clone(),
        payment_token: token.address,
        terms,
        split,
    };
    let out = ops::mint(&chain, &dep, &req).await?;
    print!("{out}");
    Ok(())
}

/// `ddrm buy CONTENT_ID`: buy a perpetual access token.
#[derive(Debug, Clone, Args)]
pub struct BuyArgs {
    /// Content id: 0x + 64 hex digits as the packager prints it.
    pub content_id: String,
    /// Highest price accepted, in whole payment-token units (default: the price read from the
    /// chain just before sending). The purchase reverts if the creator raises the price above it
    /// while the transaction is pending.
    #[arg(long)]
    pub max_price: Option<String>,
    #[command(flatten)]
    pub deployment: DeploymentArgs,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// `ddrm rent|subscribe CONTENT_ID --periods N`: buy timed access.
#[derive(Debug, Clone, Args)]
pub struct TimedAccessArgs {
    /// Content id: 0x + 64 hex digits as the packager prints it.
    pub content_id: String,
    /// Number of periods to pay for.
    #[arg(long, default_value_t = 1)]
    pub periods: u32,
    /// Highest price of one period accepted, in whole payment-token units (default: the price
    /// read from the chain just before sending).
    #[arg(long)]
    pub max_price: Option<String>,
    /// Shortest period accepted: seconds, or 90m, 12h, 7d, 2w (default: the period read from the
    /// chain just before sending).
    #[arg(long)]
    pub min_period: Option<String>,
    #[command(flatten)]
    pub deployment: DeploymentArgs,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// The bounds a purchase is sent with, as typed (`None` = the terms read from the chain).
struct TypedBounds<'a> {
    max_price: Option<&'a str>,
    min_period: Option<&'a str>,
}

async fn run_purchase(
    id: &str,
    deployment: &DeploymentArgs,
    connect: &ConnectArgs,
    what: Purchase,
    typed: TypedBounds<'_>,
) -> Result<(), CliError> {
    let id = parse_content_id(id)?;
    if matches!(what, Purchase::Rent(0) | Purchase::Subscribe(0)) {
        return Err(CliError::Usage("--periods must be at least 1".into()));
    }
    let min_period = typed.min_period.map(parse_period).transpose()?;
    let dep = deployment.load()?;
    let chain = connect.connect(true).await?;
    let max_price = match typed.max_price {
        Some(text) => {
            let token = ops::payment_token_of(&chain, &dep, id).await?;
            Some(parse_amount(text, token.decimals)?)
        }
        None => None,
    };
    let bounds = ops::Bounds {
        max_price,
        min_period,
    };
    let out = ops::purchase_within(&chain, &dep, id, what, bounds).await?;
    print!("{out}");
    Ok(())
}

/// Runs `ddrm buy`.
pub async fn run_buy(args: BuyArgs) -> Result<(), CliError> {
    let typed = TypedBounds {
        max_price: args.max_price.as_deref(),
        min_period: None,
    };
    run_purchase(
        &args.content_id,
        &args.deployment,
        &args.connect,
        Purchase::Buy,
        typed,
    )
    .await
}

fn timed_bounds(args: &TimedAccessArgs) -> TypedBounds<'_> {
    TypedBounds {
        max_price: args.max_price.as_deref(),
        min_period: args.min_period.as_deref(),
    }
}

/// Runs `ddrm rent`.
pub async fn run_rent(args: TimedAccessArgs) -> Result<(), CliError> {
    let what = Purchase::Rent(args.periods);
    let typed = timed_bounds(&args);
    run_purchase(
        &args.content_id,
        &args.deployment,
        &args.connect,
        what,
        typed,
    )
    .await
}

/// Runs `ddrm subscribe` (renewing before expiry extends; after expiry restarts).
pub async fn run_subscribe(args: TimedAccessArgs) -> Result<(), CliError> {
    let what = Purchase::Subscribe(args.periods);
    let typed = timed_bounds(&args);
    run_purchase(
        &args.content_id,
        &args.deployment,
        &args.connect,
        what,
        typed,
    )
    .await
}

/// `ddrm royalty ...`
#[derive(Debug, Clone, Subcommand)]
pub enum RoyaltyCommand {
    /// Show shares held and revenue claimable.
    Balance(RoyaltyBalanceArgs),
    /// Transfer royalty shares (revenue earned so far stays with the sender).
    Transfer(RoyaltyTransferArgs),
    /// Claim accrued revenue from one or more contents.
    Claim(RoyaltyClaimArgs),
}

/// `ddrm royalty balance CONTENT_ID`
#[derive(Debug, Clone, Args)]
pub struct RoyaltyBalanceArgs {
    pub content_id: String,
    /// Account to show (default: the key's address).
    #[arg(long)]
    pub account: Option<Address>,
    #[command(flatten)]
    pub deployment: DeploymentArgs,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// `ddrm royalty transfer CONTENT_ID --to ADDR --shares N`
#[derive(Debug, Clone, Args)]
pub struct RoyaltyTransferArgs {
    pub content_id: String,
    /// Recipient.
    #[arg(long)]
    pub to: Address,
    /// Number of shares (1 share = 0.01 %).
    #[arg(long)]
    pub shares: u16,
    #[command(flatten)]
    pub deployment: DeploymentArgs,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// `ddrm royalty claim CONTENT_ID...`
#[derive(Debug, Clone, Args)]
pub struct RoyaltyClaimArgs {
    /// One or more content ids.
    #[arg(required = true)]
    pub content_ids: Vec<String>,
    #[command(flatten)]
    pub deployment: DeploymentArgs,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// Runs `ddrm royalty ...`.
pub async fn run_royalty(cmd: RoyaltyCommand) -> Result<(), CliError> {
    match cmd {
        RoyaltyCommand::Balance(a) => {
            let id = parse_content_id(&a.content_id)?;
            let dep = a.deployment.load()?;
            let chain = a.connect.connect(false).await?;
            let account = match (a.account, chain.sender) {
                (Some(acc), _) | (None, Some(acc)) => acc,
                (None, None) => {
                    return Err(CliError::Usage(
                        "give --account or a private key to say whose balance".into(),
                    ))
                }
            };
            println!("{}", ops::royalty_balance(&chain, &dep, account, id).await?);
        }
        RoyaltyCommand::Transfer(a) => {
            let id = parse_content_id(&a.content_id)?;
            let dep = a.deployment.load()?;
            let chain = a.connect.connect(true).await?;
            let out = ops::royalty_transfer(&chain, &dep, id, a.to, U256::from(a.shares)).await?;
            print!("{out}");
        }
        RoyaltyCommand::Claim(a) => {
            let ids = a
                .content_ids
                .iter()
                .map(|s| parse_content_id(s))
                .collect::<Result<Vec<_>, _>>()?;
            let dep = a.deployment.load()?;
            let chain = a.connect.connect(true).await?;
            print!("{}", ops::royalty_claim(&chain, &dep, &ids).await?);
        }
    }
    Ok(())
}

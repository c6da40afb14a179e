//! What the chain commands do (`ddrm chain deploy`, `ddrm mint`, `ddrm buy|rent|subscribe`,
//! `ddrm royalty balance|transfer|claim`, `ddrm market list|offer|fill|cancel|withdraw`), from
//! plain options: input checks that need no chain,
//! connecting with the signer, loading the deployment, then the `ops` call. The `ddrm` binary
//! owns the command line and prints what these return.

use std::path::PathBuf;

use alloy::{
    primitives::{Address, B256, U256},
    signers::local::PrivateKeySigner,
};

use crate::chain::{self, Chain, DeployOptions, Deployment};
use crate::error::ChainError;
use crate::market::{self, Collection, OrderRef};
use crate::ops::{self, Purchase, TermsInput};
use crate::units::{self, parse_amount, parse_content_id, parse_period, parse_split};

/// The RPC used when none is given: a local anvil.
pub const DEFAULT_RPC: &str = "local";

/// Errors of the chain commands.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
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
pub struct SecretKeyText(String);

impl std::str::FromStr for SecretKeyText {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_owned()))
    }
}

impl std::fmt::Debug for SecretKeyText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Who signs: a key as typed, or a file holding it (first line); at most one.
#[derive(Debug, Clone, Default)]
pub struct SignerSource {
    pub private_key: Option<SecretKeyText>,
    pub private_key_file: Option<PathBuf>,
}

impl SignerSource {
    /// The signer, if a key was given.
    pub fn signer(&self) -> Result<Option<PrivateKeySigner>, CommandError> {
        match (&self.private_key, &self.private_key_file) {
            (Some(_), Some(_)) => Err(CommandError::TwoKeys),
            (Some(k), None) => Ok(Some(chain::parse_private_key(&k.0)?)),
            (None, Some(path)) => {
                let text = std::fs::read_to_string(path).map_err(|e| CommandError::KeyFile {
                    path: path.display().to_string(),
                    why: e.to_string(),
                })?;
                let line = text.lines().next().unwrap_or_default();
                Ok(Some(chain::parse_private_key(line)?))
            }
            (None, None) => Ok(None),
        }
    }
}

/// Where to connect and who signs.
#[derive(Debug, Clone)]
pub struct Connect {
    /// A preset (`esc`, `esc-testnet`, `local`) or a URL.
    pub rpc: String,
    pub signer: SignerSource,
}

impl Connect {
    /// Connects; requires a key when `signing`.
    pub async fn connect(&self, signing: bool) -> Result<Chain, CommandError> {
        let signer = self.signer.signer()?;
        if signing && signer.is_none() {
            return Err(ChainError::NoKey.into());
        }
        Ok(Chain::connect(&self.rpc, signer).await?)
    }
}

/// The chain a command acts on: how to reach it and the deployment file there.
#[derive(Debug, Clone)]
pub struct Target {
    pub connect: Connect,
    /// deployment.json written by `ddrm chain deploy`.
    pub deployment: PathBuf,
}

impl Target {
    fn load(&self) -> Result<Deployment, CommandError> {
        Ok(Deployment::load(&self.deployment)?)
    }
}

/// `ddrm chain deploy`: what to deploy and where to write the addresses.
#[derive(Debug, Clone)]
pub struct DeployRequest {
    pub out: PathBuf,
    pub treasury: Option<Address>,
    pub fee_bps: u16,
    pub pool_bps: u16,
    pub reward_pool: Option<Address>,
    pub approve_runtime: Vec<Address>,
    /// Capsule measurements (hex), each optionally with `:VERSION`.
    pub register_capsule: Vec<String>,
    pub test_token: bool,
    /// Base of the tokens' metadata URIs (see [`DeployOptions::metadata_base`]).
    pub metadata_base: Option<String>,
}

fn parse_capsule(spec: &str) -> Result<(B256, u32), CommandError> {
    let bad = || CommandError::CapsuleSpec(spec.to_owned());
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

/// A deployment written to its file, with what was approved and registered.
#[derive(Debug, Clone)]
pub struct Deployed {
    pub deployment: Deployment,
    pub options: DeployOptions,
}

/// Deploys every contract and writes the deployment file.
pub async fn deploy(connect: &Connect, req: &DeployRequest) -> Result<Deployed, CommandError> {
    let capsules = req
        .register_capsule
        .iter()
        .map(|s| parse_capsule(s))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(base) = &req.metadata_base {
        units::check_metadata_base(base)?;
    }
    let chain = connect.connect(true).await?;
    let options = DeployOptions {
        treasury: req.treasury,
        fee_bps: req.fee_bps,
        pool_bps: req.pool_bps,
        reward_pool: req.reward_pool,
        approve_runtimes: req.approve_runtime.clone(),
        register_capsules: capsules,
        test_token: req.test_token,
        metadata_base: req.metadata_base.clone(),
    };
    let deployment = chain::deploy(&chain, &options).await?;
    deployment.save(&req.out)?;
    Ok(Deployed {
        deployment,
        options,
    })
}

/// `ddrm mint FILE.ddrm`: a packaged content with its Access terms and Royalty split, as typed.
#[derive(Debug, Clone)]
pub struct MintCommand {
    pub file: PathBuf,
    pub cid: String,
    /// Whole payment-token units; `0` = not sold.
    pub price: String,
    pub rent_price: Option<String>,
    pub period: Option<String>,
    pub subscription_price: Option<String>,
    pub subscription_period: Option<String>,
    pub editions: u32,
    pub resale_royalty_bps: u16,
    /// `None`: the native token.
    pub token: Option<Address>,
    /// `ADDR:SHARES,...` summing to 10000.
    pub split: String,
}

impl MintCommand {
    /// The terms in base units of a token with `decimals` decimals; every input check that needs
    /// no chain happens here.
    pub fn terms(&self, decimals: u8) -> Result<TermsInput, CommandError> {
        let amount = |t: &Option<String>| -> Result<U256, CommandError> {
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

/// Registers the content (`ddrm mint`).
pub async fn mint(target: &Target, cmd: &MintCommand) -> Result<ops::MintOutcome, CommandError> {
    let split = parse_split(&cmd.split)?;
    let header = ops::read_ddrm_header(&cmd.file)?;
    // Terms that are wrong whatever the token's decimals fail before connecting.
    cmd.terms(18)?;
    let dep = target.load()?;
    let chain = target.connect.connect(true).await?;
    let token = ops::token_info(&chain, cmd.token.unwrap_or(Address::ZERO)).await?;
    let terms = cmd.terms(token.decimals)?;
    let req = ops::MintRequest {
        header,
        cid: cmd.cid.clone(),
        payment_token: token.address,
        terms,
        split,
    };
    Ok(ops::mint(&chain, &dep, &req).await?)
}

/// `ddrm buy|rent|subscribe CONTENT_ID`, as typed.
#[derive(Debug, Clone)]
pub struct PurchaseCommand {
    /// 0x + 64 hex digits.
    pub content_id: String,
    pub what: Purchase,
    /// Highest price (of one period) accepted, in whole units; `None`: the chain's price.
    pub max_price: Option<String>,
    /// Shortest period accepted; `None`: the chain's period.
    pub min_period: Option<String>,
}

/// Buys access within the typed bounds.
pub async fn purchase(
    target: &Target,
    cmd: &PurchaseCommand,
) -> Result<ops::AccessOutcome, CommandError> {
    let id = parse_content_id(&cmd.content_id)?;
    if matches!(cmd.what, Purchase::Rent(0) | Purchase::Subscribe(0)) {
        return Err(CommandError::Usage("--periods must be at least 1".into()));
    }
    let min_period = cmd.min_period.as_deref().map(parse_period).transpose()?;
    let dep = target.load()?;
    let chain = target.connect.connect(true).await?;
    let max_price = match cmd.max_price.as_deref() {
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
    Ok(ops::purchase_within(&chain, &dep, id, cmd.what, bounds).await?)
}

/// Shares held and revenue claimable by `account` (default: the signer's address).
pub async fn royalty_balance(
    target: &Target,
    content_id: &str,
    account: Option<Address>,
) -> Result<ops::RoyaltyBalance, CommandError> {
    let id = parse_content_id(content_id)?;
    let dep = target.load()?;
    let chain = target.connect.connect(false).await?;
    let account = match (account, chain.sender) {
        (Some(acc), _) | (None, Some(acc)) => acc,
        (None, None) => {
            return Err(CommandError::Usage(
                "give --account or a private key to say whose balance".into(),
            ))
        }
    };
    Ok(ops::royalty_balance(&chain, &dep, account, id).await?)
}

/// Transfers `shares` royalty shares of a content to `to`.
pub async fn royalty_transfer(
    target: &Target,
    content_id: &str,
    to: Address,
    shares: u16,
) -> Result<ops::TransferOutcome, CommandError> {
    let id = parse_content_id(content_id)?;
    let dep = target.load()?;
    let chain = target.connect.connect(true).await?;
    Ok(ops::royalty_transfer(&chain, &dep, id, to, U256::from(shares)).await?)
}

/// Claims the revenue accrued on the given contents.
pub async fn royalty_claim(
    target: &Target,
    content_ids: &[String],
) -> Result<ops::ClaimOutcome, CommandError> {
    let ids = content_ids
        .iter()
        .map(|s| parse_content_id(s))
        .collect::<Result<Vec<_>, _>>()?;
    let dep = target.load()?;
    let chain = target.connect.connect(true).await?;
    Ok(ops::royalty_claim(&chain, &dep, &ids).await?)
}

/// `ddrm market list|offer CONTENT_ID`, as typed.
#[derive(Debug, Clone)]
pub struct OrderCommand {
    /// 0x + 64 hex digits.
    pub content_id: String,
    pub collection: Collection,
    pub amount: u64,
    /// Whole payment-token units (1.5 = 1.5 ELA).
    pub unit_price: String,
    /// Listings only: the highest resale royalty accepted (`None`: the current one).
    pub max_royalty_bps: Option<u16>,
}

impl OrderCommand {
    /// The content id and the unit price in base units, after the checks that need no chain.
    async fn parse(&self, chain: &Chain, dep: &Deployment) -> Result<(U256, U256), CommandError> {
        let id = parse_content_id(&self.content_id)?;
        let token = ops::payment_token_of(chain, dep, id).await?;
        Ok((id, parse_amount(&self.unit_price, token.decimals)?))
    }

    /// What is wrong whatever the token's decimals (as `mint` checks its terms with 18): a bad
    /// content id, a zero amount, a price that is no number or zero.
    fn check(&self) -> Result<(), CommandError> {
        parse_content_id(&self.content_id)?;
        if self.amount == 0 {
            return Err(ChainError::BadOrder("the amount must be at least 1".into()).into());
        }
        if parse_amount(&self.unit_price, 18)?.is_zero() {
            return Err(ChainError::BadOrder("the unit price must be above 0".into()).into());
        }
        Ok(())
    }
}

/// Lists tokens for sale (`ddrm market list`).
pub async fn market_list(
    target: &Target,
    cmd: &OrderCommand,
) -> Result<market::Placed, CommandError> {
    cmd.check()?;
    let dep = target.load()?;
    let chain = target.connect.connect(true).await?;
    let (content_id, unit_price) = cmd.parse(&chain, &dep).await?;
    let req = market::ListRequest {
        collection: cmd.collection,
        content_id,
        amount: cmd.amount,
        unit_price,
        max_royalty_bps: cmd.max_royalty_bps,
    };
    Ok(market::list(&chain, &dep, &req).await?)
}

/// Offers to buy, escrowing the payment (`ddrm market offer`).
pub async fn market_offer(
    target: &Target,
    cmd: &OrderCommand,
) -> Result<market::Placed, CommandError> {
    cmd.check()?;
    if cmd.max_royalty_bps.is_some() {
        return Err(CommandError::Usage(
            "an offer names no royalty bound: its seller names one when filling it".into(),
        ));
    }
    let dep = target.load()?;
    let chain = target.connect.connect(true).await?;
    let (content_id, unit_price) = cmd.parse(&chain, &dep).await?;
    let req = market::OfferRequest {
        collection: cmd.collection,
        content_id,
        amount: cmd.amount,
        unit_price,
    };
    Ok(market::make_offer(&chain, &dep, &req).await?)
}

/// Fills a listing or an offer (`ddrm market fill`).
pub async fn market_fill(
    target: &Target,
    req: &market::FillRequest,
) -> Result<market::Filled, CommandError> {
    if req.amount == 0 {
        return Err(ChainError::BadOrder("the amount must be at least 1".into()).into());
    }
    let dep = target.load()?;
    let chain = target.connect.connect(true).await?;
    Ok(market::fill(&chain, &dep, req).await?)
}

/// Cancels the signer's listing or offer (`ddrm market cancel`).
pub async fn market_cancel(
    target: &Target,
    order: OrderRef,
) -> Result<market::Cancelled, CommandError> {
    let dep = target.load()?;
    let chain = target.connect.connect(true).await?;
    Ok(market::cancel(&chain, &dep, order).await?)
}

/// Withdraws the signer's proceeds and refunds in `token` (`None`: the native token).
pub async fn market_withdraw(
    target: &Target,
    token: Option<Address>,
) -> Result<market::Withdrawn, CommandError> {
    let dep = target.load()?;
    let chain = target.connect.connect(true).await?;
    Ok(market::withdraw(&chain, &dep, token.unwrap_or(Address::ZERO)).await?)
}

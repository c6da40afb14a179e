//! `ddrm chain deploy`, `ddrm mint`, `ddrm buy|rent|subscribe`, `ddrm royalty ...`: arguments,
//! and printing what `contracts_bindings::commands` returns.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use contracts_bindings::chain::{DEFAULT_FEE_BPS, DEFAULT_POOL_BPS};
use contracts_bindings::commands::{self, Connect, MintCommand, PurchaseCommand, Target};
use contracts_bindings::ops::Purchase;
use stack::StackFile;

use super::args::{ChainArgs, OutputArgs, Resolve, RpcArgs, SignerArgs};
use licence_net_protocol::Address;

/// The chain, signer and deployment file of a command that acts on a deployment.
#[derive(Debug, Clone, Args)]
pub struct TargetArgs {
    #[command(flatten)]
    pub chain: ChainArgs,
    #[command(flatten)]
    pub signer: SignerArgs,
}

impl Resolve for TargetArgs {
    fn resolve(&mut self, stack: Option<&StackFile>) -> anyhow::Result<()> {
        self.chain.resolve(stack)?;
        self.signer.resolve(stack)
    }
}

impl TargetArgs {
    /// The chain (default: a local anvil), the signer and the deployment file (default:
    /// deployment.json).
    pub fn target(&self) -> Target {
        Target {
            connect: Connect {
                rpc: self.chain.rpc.or_local(),
                signer: self.signer.source(),
            },
            deployment: self.chain.deployment.or_default(),
        }
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
    pub output: OutputArgs,
    #[command(flatten)]
    pub rpc: RpcArgs,
    #[command(flatten)]
    pub signer: SignerArgs,
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
    /// Base URL of the tokens' ERC-1155 metadata, ending in / (e.g. a market API's
    /// http://127.0.0.1:8080/v1/metadata/): `uri(id)` becomes {base}access/{id} and
    /// {base}royalty/{id}. Without it `uri` is empty until the owner calls setMetadataBase.
    #[arg(long, value_name = "URL")]
    pub metadata_base: Option<String>,
}

/// Runs `ddrm chain ...`.
pub async fn run_chain(cmd: ChainCommand) -> anyhow::Result<()> {
    let ChainCommand::Deploy(args) = cmd;
    let request = commands::DeployRequest {
        out: args.out,
        treasury: args.treasury,
        fee_bps: args.fee_bps,
        pool_bps: args.pool_bps,
        reward_pool: args.reward_pool,
        approve_runtime: args.approve_runtime,
        register_capsule: args.register_capsule,
        test_token: args.test_token,
        metadata_base: args.metadata_base,
    };
    let connect = Connect {
        rpc: args.rpc.or_local(),
        signer: args.signer.source(),
    };
    let deployed = commands::deploy(&connect, &request).await?;
    print!(
        "{}",
        args.output
            .render(&deployed_json(&deployed, &request.out), |_| deployed_text(
                &deployed,
                &request.out
            ))?
    );
    Ok(())
}

fn deployed_json(deployed: &commands::Deployed, out: &std::path::Path) -> serde_json::Value {
    let capsules: Vec<_> = deployed
        .options
        .register_capsules
        .iter()
        .map(|(m, v)| serde_json::json!({ "measurement": m, "version": v }))
        .collect();
    serde_json::json!({
        "deployment": deployed.deployment,
        "approved_runtimes": deployed.options.approve_runtimes,
        "registered_capsules": capsules,
        "metadata_base": deployed.options.metadata_base,
        "out": out,
    })
}

fn deployed_text(deployed: &commands::Deployed, out: &std::path::Path) -> String {
    let dep = &deployed.deployment;
    let mut text = format!(
        "deployed on chain {} from block {} by {}\n",
        dep.chain_id, dep.deployment_block, dep.deployer
    );
    text += &serde_json::to_string_pretty(&dep.contracts).expect("addresses serialize");
    text.push('\n');
    for key in &deployed.options.approve_runtimes {
        text += &format!("approved runtime key {key}\n");
    }
    for (m, v) in &deployed.options.register_capsules {
        text += &format!("registered capsule {m} version {v}\n");
    }
    if let Some(base) = &deployed.options.metadata_base {
        text += &format!("token metadata at {base}access/{{id}} and {base}royalty/{{id}}\n");
    }
    text + &format!("wrote {}\n", out.display())
}

/// `ddrm mint FILE.ddrm`: register a packaged content with its Access terms and Royalty split.
#[derive(Debug, Clone, Args)]
pub struct MintArgs {
    #[command(flatten)]
    pub output: OutputArgs,
    /// The packaged .ddrm file (its header gives the content id, key commitment and renderers).
    pub file: PathBuf,
    /// IPFS CID of the .ddrm [default: the file's own CID, as `ddrm store add` and kubo give it].
    #[arg(long)]
    pub cid: Option<String>,
    /// Also add the .ddrm to the content store and pin it (the CID registered is the stored one).
    #[arg(long, conflicts_with = "cid")]
    pub pin: bool,
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
    pub target: TargetArgs,
    /// Where `--pin` stores the file.
    #[command(flatten)]
    pub store: super::store::StoreArgs,
}

impl Resolve for MintArgs {
    fn resolve(&mut self, stack: Option<&StackFile>) -> anyhow::Result<()> {
        self.target.resolve(stack)?;
        self.store.resolve(stack)
    }
}

/// Runs `ddrm mint`.
pub async fn run_mint(args: MintArgs) -> anyhow::Result<()> {
    let cid = match (args.cid, args.pin) {
        (Some(cid), _) => cid,
        (None, true) => store::add_and_pin(&args.store.config(), &args.file)
            .await?
            .to_string(),
        (None, false) => store::cid_of_file(&args.file)?.to_string(),
    };
    let cmd = MintCommand {
        file: args.file,
        cid,
        price: args.price,
        rent_price: args.rent_price,
        period: args.period,
        subscription_price: args.subscription_price,
        subscription_period: args.subscription_period,
        editions: args.editions,
        resale_royalty_bps: args.resale_royalty_bps,
        token: args.token,
        split: args.split,
    };
    let out = commands::mint(&args.target.target(), &cmd).await?;
    print!("{}", args.output.render(&out, ToString::to_string)?);
    Ok(())
}

/// `ddrm buy CONTENT_ID`: buy a perpetual access token.
#[derive(Debug, Clone, Args)]
pub struct BuyArgs {
    #[command(flatten)]
    pub output: OutputArgs,
    /// Content id: 0x + 64 hex digits as the packager prints it.
    pub content_id: String,
    /// Highest price accepted, in whole payment-token units (default: the price read from the
    /// chain just before sending). The purchase reverts if the creator raises the price above it
    /// while the transaction is pending.
    #[arg(long)]
    pub max_price: Option<String>,
    #[command(flatten)]
    pub target: TargetArgs,
}

/// `ddrm rent|subscribe CONTENT_ID --periods N`: buy timed access.
#[derive(Debug, Clone, Args)]
pub struct TimedAccessArgs {
    #[command(flatten)]
    pub output: OutputArgs,
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
    pub target: TargetArgs,
}

async fn run_purchase(
    target: &TargetArgs,
    output: OutputArgs,
    cmd: PurchaseCommand,
) -> anyhow::Result<()> {
    let out = commands::purchase(&target.target(), &cmd).await?;
    print!("{}", output.render(&out, ToString::to_string)?);
    Ok(())
}

/// Runs `ddrm buy`.
pub async fn run_buy(args: BuyArgs) -> anyhow::Result<()> {
    let cmd = PurchaseCommand {
        content_id: args.content_id,
        what: Purchase::Buy,
        max_price: args.max_price,
        min_period: None,
    };
    run_purchase(&args.target, args.output, cmd).await
}

/// Runs `ddrm rent` (`what` = [`Purchase::Rent`]) or `ddrm subscribe` (renewing before expiry
/// extends; after expiry restarts).
pub async fn run_timed(args: TimedAccessArgs, what: fn(u32) -> Purchase) -> anyhow::Result<()> {
    let cmd = PurchaseCommand {
        content_id: args.content_id,
        what: what(args.periods),
        max_price: args.max_price,
        min_period: args.min_period,
    };
    run_purchase(&args.target, args.output, cmd).await
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
    #[command(flatten)]
    pub output: OutputArgs,
    pub content_id: String,
    /// Account to show (default: the key's address).
    #[arg(long)]
    pub account: Option<Address>,
    #[command(flatten)]
    pub target: TargetArgs,
}

/// `ddrm royalty transfer CONTENT_ID --to ADDR --shares N`
#[derive(Debug, Clone, Args)]
pub struct RoyaltyTransferArgs {
    #[command(flatten)]
    pub output: OutputArgs,
    pub content_id: String,
    /// Recipient.
    #[arg(long)]
    pub to: Address,
    /// Number of shares (1 share = 0.01 %).
    #[arg(long)]
    pub shares: u16,
    #[command(flatten)]
    pub target: TargetArgs,
}

/// `ddrm royalty claim CONTENT_ID...`
#[derive(Debug, Clone, Args)]
pub struct RoyaltyClaimArgs {
    #[command(flatten)]
    pub output: OutputArgs,
    /// One or more content ids.
    #[arg(required = true)]
    pub content_ids: Vec<String>,
    #[command(flatten)]
    pub target: TargetArgs,
}

impl Resolve for ChainCommand {
    fn resolve(&mut self, stack: Option<&StackFile>) -> anyhow::Result<()> {
        let ChainCommand::Deploy(a) = self;
        a.rpc.resolve(stack)?;
        a.signer.resolve(stack)
    }
}

impl Resolve for RoyaltyCommand {
    fn resolve(&mut self, stack: Option<&StackFile>) -> anyhow::Result<()> {
        match self {
            RoyaltyCommand::Balance(a) => a.target.resolve(stack),
            RoyaltyCommand::Transfer(a) => a.target.resolve(stack),
            RoyaltyCommand::Claim(a) => a.target.resolve(stack),
        }
    }
}

/// Runs `ddrm royalty ...`.
pub async fn run_royalty(cmd: RoyaltyCommand) -> anyhow::Result<()> {
    match cmd {
        RoyaltyCommand::Balance(a) => {
            let balance =
                commands::royalty_balance(&a.target.target(), &a.content_id, a.account).await?;
            print!("{}", a.output.render(&balance, |b| format!("{b}\n"))?);
        }
        RoyaltyCommand::Transfer(a) => {
            let out = commands::royalty_transfer(&a.target.target(), &a.content_id, a.to, a.shares)
                .await?;
            print!("{}", a.output.render(&out, ToString::to_string)?);
        }
        RoyaltyCommand::Claim(a) => {
            let out = commands::royalty_claim(&a.target.target(), &a.content_ids).await?;
            print!("{}", a.output.render(&out, ToString::to_string)?);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    //! `--json` on each chain command: the outcome it prints parses as JSON and carries its
    //! fields; without the flag the text is the outcome's own.

    use contracts_bindings::chain::{DeployOptions, Deployment};
    use contracts_bindings::ops::{
        AccessOutcome, ClaimOutcome, MintOutcome, RoyaltyBalance, TokenInfo, TransferOutcome,
    };
    use licence_net_protocol::{Address, B256, U256};

    use super::*;

    const JSON: OutputArgs = OutputArgs { json: true };
    const TEXT: OutputArgs = OutputArgs { json: false };

    fn ela() -> TokenInfo {
        TokenInfo {
            address: Address::ZERO,
            symbol: "ELA".into(),
            decimals: 18,
        }
    }

    fn parse<T: serde::Serialize>(value: &T) -> serde_json::Value {
        let text = JSON.render(value, |_| unreachable!()).expect("renders");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
    }

    fn balance(account: Address) -> RoyaltyBalance {
        RoyaltyBalance {
            account,
            content_id: U256::from(7),
            shares: U256::from(2_000),
            claimable: U256::from(5),
            token: ela(),
        }
    }

    #[test]
    fn deploy_json() {
        let deployed = commands::Deployed {
            deployment: Deployment {
                deployment_block: 3,
                ..contracts_bindings::testing::sample_deployment(20)
            },
            options: DeployOptions {
                register_capsules: vec![(B256::repeat_byte(9), 2)],
                ..DeployOptions::default()
            },
        };
        let out = std::path::Path::new("deployment.json");
        let text = JSON
            .render(&deployed_json(&deployed, out), |_| unreachable!())
            .unwrap();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(json["deployment"]["chain_id"], 20, "{json}");
        assert_eq!(json["registered_capsules"][0]["version"], 2, "{json}");
        assert_eq!(json["out"], "deployment.json");
        let text = TEXT
            .render(&deployed_json(&deployed, out), |_| {
                deployed_text(&deployed, out)
            })
            .unwrap();
        assert!(
            text.starts_with("deployed on chain 20 from block 3"),
            "{text}"
        );
        assert!(text.ends_with("wrote deployment.json\n"), "{text}");
    }

    #[test]
    fn mint_json() {
        let out = MintOutcome {
            tx: B256::repeat_byte(1),
            block: 5,
            content_id: U256::from(7),
            token: ela(),
            split: vec![(Address::repeat_byte(2), 10_000)],
        };
        let json = parse(&out);
        assert_eq!(json["block"], 5, "{json}");
        assert_eq!(json["token"]["symbol"], "ELA", "{json}");
        assert_eq!(
            TEXT.render(&out, ToString::to_string).unwrap(),
            out.to_string()
        );
    }

    #[test]
    fn buy_rent_subscribe_json() {
        let out = AccessOutcome {
            approval_tx: None,
            tx: B256::repeat_byte(1),
            block: 6,
            content_id: U256::from(7),
            buyer: Address::repeat_byte(3),
            paid: U256::from(1_500),
            token: ela(),
            has_access: true,
            access_tokens: U256::from(1),
            expires_at: 0,
            gas_used: 21_000,
        };
        let json = parse(&out);
        assert_eq!(json["has_access"], true, "{json}");
        assert_eq!(json["gas_used"], 21_000, "{json}");
    }

    #[test]
    fn royalty_balance_transfer_and_claim_json() {
        let json = parse(&balance(Address::repeat_byte(4)));
        assert_eq!(json["token"]["decimals"], 18, "{json}");
        let transfer = TransferOutcome {
            tx: B256::repeat_byte(1),
            block: 8,
            from: balance(Address::repeat_byte(4)),
            to: balance(Address::repeat_byte(5)),
            gas_used: 50_000,
        };
        let json = parse(&transfer);
        assert_eq!(json["block"], 8, "{json}");
        assert!(json["to"]["account"].is_string(), "{json}");
        let claim = ClaimOutcome {
            tx: B256::repeat_byte(1),
            block: 9,
            account: Address::repeat_byte(4),
            paid: vec![(U256::from(7), U256::from(5), ela())],
            gas_used: 40_000,
        };
        let json = parse(&claim);
        assert_eq!(json["paid"][0][2]["symbol"], "ELA", "{json}");
    }
}

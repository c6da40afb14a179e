//! `ddrm market list|offer|fill|cancel|withdraw`: the royalty market's command line, and printing
//! what `contracts_bindings::commands::market_*` return.

use clap::{Args, Subcommand, ValueEnum};
use contracts_bindings::commands::{self, OrderCommand};
use contracts_bindings::market::{Collection, FillRequest, OrderRef};
use licence_net_protocol::Address;
use stack::StackFile;

use super::args::{OutputArgs, Resolve};
use super::chain::TargetArgs;

/// `ddrm market ...`
#[derive(Debug, Clone, Subcommand)]
pub enum MarketCommand {
    /// List royalty shares or access tokens for sale at a unit price; buyers fill any part. The
    /// tokens stay yours (and keep earning) until a fill moves them.
    List(ListArgs),
    /// Offer to buy at a unit price; the total is escrowed in the market until filled or
    /// cancelled.
    Offer(OfferArgs),
    /// Fill a listing (buy from it) or an offer (sell into it), in part or whole.
    Fill(FillArgs),
    /// Cancel your listing or offer (an offer's unfilled escrow becomes withdrawable).
    Cancel(CancelArgs),
    /// Withdraw your sale proceeds and offer refunds from the market.
    Withdraw(WithdrawArgs),
}

/// Which tokens an order trades.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CollectionArg {
    /// Royalty shares (10,000 per content).
    Royalty,
    /// Perpetual access tokens (their resales pay the content's resale royalty).
    Access,
}

impl From<CollectionArg> for Collection {
    fn from(c: CollectionArg) -> Self {
        match c {
            CollectionArg::Royalty => Collection::Royalty,
            CollectionArg::Access => Collection::Access,
        }
    }
}

/// What a new order trades and at what price.
#[derive(Debug, Clone, Args)]
pub struct OrderTermsArgs {
    /// Content id: 0x + 64 hex digits as the packager prints it.
    pub content_id: String,
    /// Number of tokens (royalty shares: 1 share = 0.01 %).
    #[arg(long)]
    pub amount: u64,
    /// Price of one token in whole payment-token units of the content (0.01 = 0.01 ELA).
    #[arg(long, value_name = "PRICE")]
    pub unit_price: String,
    /// Which tokens.
    #[arg(long, value_enum, default_value_t = CollectionArg::Royalty)]
    pub collection: CollectionArg,
}

impl OrderTermsArgs {
    fn command(self, max_royalty_bps: Option<u16>) -> OrderCommand {
        OrderCommand {
            content_id: self.content_id,
            collection: self.collection.into(),
            amount: self.amount,
            unit_price: self.unit_price,
            max_royalty_bps,
        }
    }
}

/// `ddrm market list CONTENT_ID --amount N --unit-price P`
#[derive(Debug, Clone, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub order: OrderTermsArgs,
    /// Highest resale royalty (basis points) you accept on fills of an access-token listing;
    /// fills stop while the creator's royalty is above it [default: the current royalty].
    #[arg(long, value_name = "BPS")]
    pub max_royalty_bps: Option<u16>,
    #[command(flatten)]
    pub target: TargetArgs,
}

/// `ddrm market offer CONTENT_ID --amount N --unit-price P`
#[derive(Debug, Clone, Args)]
pub struct OfferArgs {
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub order: OrderTermsArgs,
    #[command(flatten)]
    pub target: TargetArgs,
}

/// Exactly one order: `--listing ID` or `--offer ID`.
#[derive(Debug, Clone, Args)]
#[group(required = true, multiple = false)]
pub struct OrderArgs {
    /// A listing's id (as `ddrm market list` printed it).
    #[arg(long, value_name = "ID")]
    pub listing: Option<u64>,
    /// An offer's id (as `ddrm market offer` printed it).
    #[arg(long, value_name = "ID")]
    pub offer: Option<u64>,
}

impl OrderArgs {
    fn order(&self) -> OrderRef {
        match (self.listing, self.offer) {
            (Some(id), _) => OrderRef::listing(id),
            (None, Some(id)) => OrderRef::offer(id),
            (None, None) => unreachable!("clap requires --listing or --offer"),
        }
    }
}

/// `ddrm market fill --listing ID | --offer ID --amount N`
#[derive(Debug, Clone, Args)]
pub struct FillArgs {
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub order: OrderArgs,
    /// Number of tokens to take from the order.
    #[arg(long)]
    pub amount: u64,
    /// Highest resale royalty (basis points) you accept when trading access tokens
    /// [default: the current royalty].
    #[arg(long, value_name = "BPS")]
    pub max_royalty_bps: Option<u16>,
    #[command(flatten)]
    pub target: TargetArgs,
}

/// `ddrm market cancel --listing ID | --offer ID`
#[derive(Debug, Clone, Args)]
pub struct CancelArgs {
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub order: OrderArgs,
    #[command(flatten)]
    pub target: TargetArgs,
}

/// `ddrm market withdraw [--token ADDR]`
#[derive(Debug, Clone, Args)]
pub struct WithdrawArgs {
    #[command(flatten)]
    pub output: OutputArgs,
    /// The ERC-20 to withdraw [default: the native token, ELA on ESC].
    #[arg(long)]
    pub token: Option<Address>,
    #[command(flatten)]
    pub target: TargetArgs,
}

impl Resolve for MarketCommand {
    fn resolve(&mut self, stack: Option<&StackFile>) -> anyhow::Result<()> {
        match self {
            MarketCommand::List(a) => a.target.resolve(stack),
            MarketCommand::Offer(a) => a.target.resolve(stack),
            MarketCommand::Fill(a) => a.target.resolve(stack),
            MarketCommand::Cancel(a) => a.target.resolve(stack),
            MarketCommand::Withdraw(a) => a.target.resolve(stack),
        }
    }
}

/// Runs `ddrm market ...`.
pub async fn run(cmd: MarketCommand) -> anyhow::Result<()> {
    let text = match cmd {
        MarketCommand::List(a) => {
            let cmd = a.order.command(a.max_royalty_bps);
            let out = commands::market_list(&a.target.target(), &cmd).await?;
            a.output.render(&out, ToString::to_string)?
        }
        MarketCommand::Offer(a) => {
            let cmd = a.order.command(None);
            let out = commands::market_offer(&a.target.target(), &cmd).await?;
            a.output.render(&out, ToString::to_string)?
        }
        MarketCommand::Fill(a) => {
            let req = FillRequest {
                order: a.order.order(),
                amount: a.amount,
                max_royalty_bps: a.max_royalty_bps,
            };
            let out = commands::market_fill(&a.target.target(), &req).await?;
            a.output.render(&out, ToString::to_string)?
        }
        MarketCommand::Cancel(a) => {
            let out = commands::market_cancel(&a.target.target(), a.order.order()).await?;
            a.output.render(&out, ToString::to_string)?
        }
        MarketCommand::Withdraw(a) => {
            let out = commands::market_withdraw(&a.target.target(), a.token).await?;
            a.output.render(&out, ToString::to_string)?
        }
    };
    print!("{text}");
    Ok(())
}

#[cfg(test)]
mod tests {
    //! The market's command line: one order per fill or cancel, and `--json` output that carries
    //! the ids a script needs next.

    use clap::Parser;
    use contracts_bindings::market::{Cancelled, Filled, Order, OrderKind, Placed};
    use contracts_bindings::ops::TokenInfo;
    use licence_net_protocol::{B256, U256};

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(subcommand)]
        market: MarketCommand,
    }

    fn parse(args: &[&str]) -> Result<MarketCommand, clap::Error> {
        Cli::try_parse_from(std::iter::once("market").chain(args.iter().copied())).map(|c| c.market)
    }

    fn ela() -> TokenInfo {
        TokenInfo {
            address: Address::ZERO,
            symbol: "ELA".into(),
            decimals: 18,
        }
    }

    fn json<T: serde::Serialize>(value: &T) -> serde_json::Value {
        let text = OutputArgs { json: true }
            .render(value, |_| unreachable!())
            .unwrap();
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
    }

    #[test]
    fn fill_and_cancel_take_exactly_one_order() {
        let Ok(MarketCommand::Fill(fill)) = parse(&["fill", "--listing", "3", "--amount", "400"])
        else {
            panic!("not a fill")
        };
        assert_eq!(fill.order.order(), OrderRef::listing(3));
        let Ok(MarketCommand::Cancel(cancel)) = parse(&["cancel", "--offer", "2"]) else {
            panic!("not a cancel")
        };
        assert_eq!(cancel.order.order(), OrderRef::offer(2));
        for bad in [
            &["fill", "--amount", "1"][..],
            &["fill", "--listing", "1", "--offer", "2", "--amount", "1"],
            &["cancel"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn list_defaults_to_royalty_shares() {
        let Ok(MarketCommand::List(list)) =
            parse(&["list", "0x01", "--amount", "1500", "--unit-price", "0.01"])
        else {
            panic!("not a list")
        };
        let cmd = list.order.command(list.max_royalty_bps);
        assert_eq!(cmd.collection, Collection::Royalty);
        assert_eq!((cmd.amount, cmd.unit_price.as_str()), (1_500, "0.01"));
        let Ok(MarketCommand::Offer(offer)) = parse(&[
            "offer",
            "0x01",
            "--amount",
            "1",
            "--unit-price",
            "2",
            "--collection",
            "access",
        ]) else {
            panic!("not an offer")
        };
        assert_eq!(offer.order.command(None).collection, Collection::Access);
    }

    #[test]
    fn outcomes_print_their_ids_as_json_and_text() {
        let placed = Placed {
            approval_tx: None,
            tx: B256::repeat_byte(1),
            block: 4,
            order: Order {
                at: OrderRef::listing(1),
                maker: Address::repeat_byte(2),
                collection: Collection::Royalty,
                content_id: U256::from(7),
                amount: 1_500,
                unit_price: U256::from(10u64.pow(16)),
                max_royalty_bps: 0,
            },
            total: U256::from(15 * 10u64.pow(18)),
            token: ela(),
            gas_used: 90_000,
        };
        let j = json(&placed);
        assert_eq!(j["order"]["kind"], "listing", "{j}");
        assert_eq!(j["order"]["id"], 1, "{j}");
        assert_eq!(j["order"]["collection"], "royalty", "{j}");
        assert_eq!(j["order"]["amount"], 1_500, "{j}");
        assert!(
            placed.to_string().contains(
                "listing 1: sells 1500 royalty shares of content \
                 0x0000000000000000000000000000000000000000000000000000000000000007 at 0.01 ELA \
                 each (15 ELA in all)"
            ),
            "{placed}"
        );

        let filled = Filled {
            approval_tx: None,
            tx: B256::repeat_byte(1),
            block: 5,
            order: OrderRef::listing(1),
            collection: Collection::Royalty,
            content_id: U256::from(7),
            seller: Address::repeat_byte(2),
            buyer: Address::repeat_byte(3),
            amount: 400,
            price: U256::from(4 * 10u64.pow(18)),
            royalty: U256::ZERO,
            left: 1_100,
            token: ela(),
            gas_used: 120_000,
        };
        let j = json(&filled);
        assert_eq!(
            (j["amount"].clone(), j["left"].clone()),
            (400.into(), 1_100.into())
        );
        assert!(
            filled.to_string().contains("listing 1 has 1100 left"),
            "{filled}"
        );

        let cancelled = Cancelled {
            tx: B256::repeat_byte(1),
            block: 6,
            order: OrderRef::offer(2),
            refunded: U256::from(10u64.pow(18)),
            token: ela(),
            gas_used: 30_000,
        };
        assert_eq!(json(&cancelled)["order"]["kind"], "offer");
        assert!(
            cancelled
                .to_string()
                .contains("cancelled offer 2; 1 ELA to withdraw"),
            "{cancelled}"
        );
        assert_eq!(OrderKind::Offer.to_string(), "offer");
    }
}

//! The market: a content's open listings and offers, its trades (keyset pages, newest first)
//! and the prices of its latest trades.

use alloy::primitives::U256;
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::{FromRow, Row};
use utoipa::ToSchema;

use super::Counts;
use crate::db::{parse_amount, Db};
use crate::error::IndexerError;

/// Which tokens an order or trade is for, as the index names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Collection {
    /// `RoyaltyShares`.
    Shares,
    /// `Access` tokens.
    Access,
}

impl Collection {
    /// The index's name: `shares` or `access`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Shares => "shares",
            Self::Access => "access",
        }
    }
}

/// One side of an order book.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Book {
    /// Listings (the maker sells), cheapest first.
    Listings,
    /// Offers (the maker buys, payment escrowed), highest first.
    Offers,
}

/// An open listing or offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(
    as = Order,
    description = "An open order: a listing (the maker sells) or an offer (the maker buys, payment escrowed)."
)]
pub struct OrderRow {
    /// The market's listing id or offer id.
    pub order_id: u64,
    /// The seller of a listing, the buyer of an offer.
    pub maker: String,
    pub amount: u64,
    pub remaining: u64,
    /// Price per unit, base units.
    pub unit_price: String,
    pub block_number: u64,
}

impl FromRow<'_, AnyRow> for OrderRow {
    fn from_row(r: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            order_id: r.count("order_id")?,
            maker: r.try_get("maker")?,
            amount: r.count("amount")?,
            remaining: r.count("remaining")?,
            unit_price: r.try_get("unit_price")?,
            block_number: r.count("block_number")?,
        })
    }
}

/// One fill (`Market.Traded`) of a content; `listing_id` or `offer_id` is null.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Trade {
    pub block_number: u64,
    pub block_time: u64,
    pub log_index: u64,
    pub tx_hash: String,
    pub listing_id: Option<u64>,
    pub offer_id: Option<u64>,
    pub collection: String,
    pub seller: String,
    pub buyer: String,
    pub amount: u64,
    /// Total paid, base units.
    pub price: String,
    pub unit_price: String,
    /// Resale royalty paid to the content's holders.
    pub royalty: String,
}

/// A trade with its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TradeRow {
    pub content_id: String,
    pub trade: Trade,
}

/// A page of one content's trades.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TradesPage {
    pub items: Vec<Trade>,
    /// Whether older trades follow the last item.
    pub more: bool,
}

/// What a price chart needs of one trade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TradePrice {
    pub block_time: u64,
    pub unit_price: U256,
    pub amount: u64,
    /// Total paid.
    pub price: U256,
}

/// The columns a [`TradeRow`] (or a [`Trade`]) is read from.
pub(super) const TRADE_COLUMNS: &str = "block_number, block_time, log_index, tx_hash, \
    listing_id, offer_id, collection, content_id, seller, buyer, amount, price, unit_price, \
    royalty";

impl FromRow<'_, AnyRow> for Trade {
    fn from_row(r: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Trade {
            block_number: r.count("block_number")?,
            block_time: r.count("block_time")?,
            log_index: r.count("log_index")?,
            tx_hash: r.try_get("tx_hash")?,
            listing_id: r.opt_count("listing_id")?,
            offer_id: r.opt_count("offer_id")?,
            collection: r.try_get("collection")?,
            seller: r.try_get("seller")?,
            buyer: r.try_get("buyer")?,
            amount: r.count("amount")?,
            price: r.try_get("price")?,
            unit_price: r.try_get("unit_price")?,
            royalty: r.try_get("royalty")?,
        })
    }
}

impl FromRow<'_, AnyRow> for TradeRow {
    fn from_row(r: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(TradeRow {
            content_id: r.try_get("content_id")?,
            trade: Trade::from_row(r)?,
        })
    }
}

impl Db {
    /// The first `limit` open orders of one side of a content's book.
    pub async fn open_orders(
        &self,
        book: Book,
        content_id: &str,
        collection: Collection,
        limit: u32,
    ) -> Result<Vec<OrderRow>, IndexerError> {
        let sql = match book {
            Book::Listings => {
                "SELECT listing_id AS order_id, seller AS maker, amount, remaining, unit_price, \
                 block_number FROM listings \
                 WHERE content_id = $1 AND collection = $2 AND status = 'open' \
                 ORDER BY length(unit_price), unit_price, listing_id LIMIT $3"
            }
            Book::Offers => {
                "SELECT offer_id AS order_id, buyer AS maker, amount, remaining, unit_price, \
                 block_number FROM offers \
                 WHERE content_id = $1 AND collection = $2 AND status = 'open' \
                 ORDER BY length(unit_price) DESC, unit_price DESC, offer_id LIMIT $3"
            }
        };
        Ok(sqlx::query_as(sql)
            .bind(content_id)
            .bind(collection.as_str())
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await?)
    }

    /// A content's trades before `(block_number, log_index)` (exclusive), newest first, at most
    /// `limit`.
    pub async fn trades(
        &self,
        content_id: &str,
        collection: Collection,
        before: (i64, i64),
        limit: u32,
    ) -> Result<TradesPage, IndexerError> {
        let keys = [
            ("content_id", content_id),
            ("collection", collection.as_str()),
        ];
        let (items, more) = self
            .rows_before("trades", TRADE_COLUMNS, &keys, before, limit)
            .await?;
        Ok(TradesPage { items, more })
    }

    /// The prices of a content's latest `limit` trades, oldest first.
    pub async fn trade_prices(
        &self,
        content_id: &str,
        collection: Collection,
        limit: u32,
    ) -> Result<Vec<TradePrice>, IndexerError> {
        let rows = sqlx::query(
            "SELECT block_time, unit_price, amount, price FROM trades \
             WHERE content_id = $1 AND collection = $2 \
             ORDER BY block_number DESC, log_index DESC LIMIT $3",
        )
        .bind(content_id)
        .bind(collection.as_str())
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        let mut prices = rows
            .iter()
            .map(|r| {
                Ok(TradePrice {
                    block_time: r.count("block_time")?,
                    unit_price: parse_amount(
                        "trades",
                        "unit_price",
                        &r.try_get::<String, _>("unit_price")?,
                    )?,
                    amount: r.count("amount")?,
                    price: parse_amount("trades", "price", &r.try_get::<String, _>("price")?)?,
                })
            })
            .collect::<Result<Vec<_>, IndexerError>>()?;
        prices.reverse();
        Ok(prices)
    }
}

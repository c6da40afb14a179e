//! `Market`'s events: listings and offers opened, cancelled and filled, and the fills (trades).

use alloy::primitives::{Address, U256};
use contracts_bindings::bindings::Market::MarketEvents;

use super::batch::{event_position, int, Val};
use super::decode::small;
use super::fold::Fold;
use super::ChainLog;
use crate::db::{address_text, amount_text, content_id_text};
use crate::error::IndexerError;

/// The two sides of the order book, kept in parallel tables: listings (shares for sale, by their
/// seller) and offers (payment escrowed for shares, by their buyer).
#[derive(Debug, Clone, Copy)]
enum Side {
    Listing,
    Offer,
}

impl Side {
    fn table(self) -> &'static str {
        match self {
            Side::Listing => "listings",
            Side::Offer => "offers",
        }
    }

    fn id_column(self) -> &'static str {
        match self {
            Side::Listing => "listing_id",
            Side::Offer => "offer_id",
        }
    }

    /// Who opened it: the seller of a listing, the buyer of an offer.
    fn party_column(self) -> &'static str {
        match self {
            Side::Listing => "seller",
            Side::Offer => "buyer",
        }
    }
}

/// A listing or offer as its opening event states it.
struct Order {
    id: U256,
    party: Address,
    collection: Address,
    content: U256,
    amount: U256,
    unit_price: U256,
}

impl Fold<'_> {
    pub(super) async fn market(
        &mut self,
        log: &ChainLog,
        ev: MarketEvents,
    ) -> Result<(), IndexerError> {
        match ev {
            MarketEvents::Listed(e) => {
                let order = Order {
                    id: e.listingId,
                    party: e.seller,
                    collection: e.collection,
                    content: e.contentId,
                    amount: e.amount,
                    unit_price: e.unitPrice,
                };
                self.open_order(Side::Listing, log, "Listed", order).await?;
            }
            MarketEvents::ListingCancelled(e) => {
                let id = small(log, "ListingCancelled", e.listingId)?;
                self.cancel_order(Side::Listing, id, None).await?;
            }
            MarketEvents::OfferMade(e) => {
                let order = Order {
                    id: e.offerId,
                    party: e.buyer,
                    collection: e.collection,
                    content: e.contentId,
                    amount: e.amount,
                    unit_price: e.unitPrice,
                };
                self.open_order(Side::Offer, log, "OfferMade", order)
                    .await?;
            }
            MarketEvents::OfferCancelled(e) => {
                let id = small(log, "OfferCancelled", e.offerId)?;
                self.cancel_order(Side::Offer, id, Some(e.refunded)).await?;
            }
            MarketEvents::Traded(e) => {
                let amount = small(log, "Traded", e.amount)?;
                let listing = small(log, "Traded", e.listingId)?;
                let offer = small(log, "Traded", e.offerId)?;
                let unit_price = if e.amount.is_zero() {
                    U256::ZERO
                } else {
                    e.price / e.amount
                };
                let mut row = event_position(log)?;
                row.extend([
                    Val::from((listing != 0).then_some(listing)),
                    Val::from((offer != 0).then_some(offer)),
                    Val::from(self.collection(e.collection)),
                    Val::from(content_id_text(e.contentId)),
                    Val::from(address_text(e.seller)),
                    Val::from(address_text(e.buyer)),
                    Val::from(amount),
                    Val::from(amount_text(e.price)),
                    Val::from(amount_text(unit_price)),
                    Val::from(amount_text(e.royalty)),
                ]);
                self.defer("INSERT INTO trades (block_hash, log_index, block_number, block_time, tx_hash, listing_id, offer_id, collection, content_id, seller, buyer, amount, price, unit_price, royalty)", row);
                let (side, id) = if listing != 0 {
                    (Side::Listing, listing)
                } else {
                    (Side::Offer, offer)
                };
                let (table, key) = (side.table(), side.id_column());
                sqlx::query(&format!(
                    "UPDATE {table} SET remaining = remaining - $2, \
                     status = CASE WHEN remaining - $2 <= 0 THEN 'filled' ELSE status END \
                     WHERE {key} = $1"
                ))
                .bind(id)
                .bind(amount)
                .execute(&mut *self.conn)
                .await?;
            }
            _ => {}
        }
        Ok(())
    }

    /// A new listing or offer: open, nothing filled yet.
    async fn open_order(
        &mut self,
        side: Side,
        log: &ChainLog,
        event: &'static str,
        o: Order,
    ) -> Result<(), IndexerError> {
        let (table, key, party) = (side.table(), side.id_column(), side.party_column());
        let amount = small(log, event, o.amount)?;
        sqlx::query(&format!(
            "INSERT INTO {table} ({key}, {party}, collection, content_id, amount, remaining, \
             unit_price, status, block_number, block_time) \
             VALUES ($1, $2, $3, $4, $5, $5, $6, 'open', $7, $8) ON CONFLICT DO NOTHING"
        ))
        .bind(small(log, event, o.id)?)
        .bind(address_text(o.party))
        .bind(self.collection(o.collection))
        .bind(content_id_text(o.content))
        .bind(amount)
        .bind(amount_text(o.unit_price))
        .bind(int(log.block_number, "block number")?)
        .bind(int(log.block_time, "block time")?)
        .execute(&mut *self.conn)
        .await?;
        Ok(())
    }

    /// A cancelled listing, or a cancelled offer with the escrow it refunded.
    async fn cancel_order(
        &mut self,
        side: Side,
        id: i64,
        refunded: Option<U256>,
    ) -> Result<(), IndexerError> {
        let (table, key) = (side.table(), side.id_column());
        match refunded {
            None => {
                sqlx::query(&format!(
                    "UPDATE {table} SET status = 'cancelled' WHERE {key} = $1"
                ))
                .bind(id)
                .execute(&mut *self.conn)
                .await?
            }
            Some(refunded) => {
                sqlx::query(&format!(
                    "UPDATE {table} SET status = 'cancelled', refunded = $2 WHERE {key} = $1"
                ))
                .bind(id)
                .bind(amount_text(refunded))
                .execute(&mut *self.conn)
                .await?
            }
        };
        Ok(())
    }
}

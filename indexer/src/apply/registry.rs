//! `ContentRegistry`'s events: contents registered, their terms, their allowed renderers.

use contracts_bindings::bindings::ContentRegistry::ContentRegistryEvents;

use super::batch::int;
use super::fold::Fold;
use super::ChainLog;
use crate::db::{address_text, content_id_text, hash_text};
use crate::error::IndexerError;

impl Fold<'_> {
    pub(super) async fn registry(
        &mut self,
        log: &ChainLog,
        ev: ContentRegistryEvents,
    ) -> Result<(), IndexerError> {
        match ev {
            ContentRegistryEvents::ContentRegistered(e) => {
                sqlx::query(
                    "INSERT INTO contents (content_id, creator, payment_token, key_commitment, cid, \
                     registered_block, registered_time, price, rent_price, rent_period, \
                     subscription_price, subscription_period, max_editions, resale_royalty_bps, \
                     revenue_per_share, revenue_total, sales, editions_sold) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, '0', '0', 0, '0', 0, 0, 0, '0', '0', 0, 0) \
                     ON CONFLICT (content_id) DO NOTHING",
                )
                .bind(content_id_text(e.contentId))
                .bind(address_text(e.creator))
                .bind(address_text(e.paymentToken))
                .bind(hash_text(e.keyCommitment))
                .bind(&e.cid)
                .bind(int(log.block_number, "block number")?)
                .bind(int(log.block_time, "block time")?)
                .execute(&mut *self.conn)
                .await?;
            }
            ContentRegistryEvents::TermsSet(e) => {
                let t = e.terms;
                sqlx::query(
                    "UPDATE contents SET price = $2, rent_price = $3, rent_period = $4, \
                     subscription_price = $5, subscription_period = $6, max_editions = $7, \
                     resale_royalty_bps = $8 WHERE content_id = $1",
                )
                .bind(content_id_text(e.contentId))
                .bind(t.price.to_string())
                .bind(t.rentPrice.to_string())
                .bind(i64::from(t.rentPeriod))
                .bind(t.subscriptionPrice.to_string())
                .bind(i64::from(t.subscriptionPeriod))
                .bind(i64::from(t.maxEditions))
                .bind(i64::from(t.resaleRoyaltyBps))
                .execute(&mut *self.conn)
                .await?;
            }
            ContentRegistryEvents::RendererAllowed(e) => {
                sqlx::query(
                    "INSERT INTO renderers (content_id, measurement) VALUES ($1, $2) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(content_id_text(e.contentId))
                .bind(hash_text(e.measurement))
                .execute(&mut *self.conn)
                .await?;
            }
            ContentRegistryEvents::RendererDisallowed(e) => {
                sqlx::query("DELETE FROM renderers WHERE content_id = $1 AND measurement = $2")
                    .bind(content_id_text(e.contentId))
                    .bind(hash_text(e.measurement))
                    .execute(&mut *self.conn)
                    .await?;
            }
            _ => {}
        }
        Ok(())
    }
}

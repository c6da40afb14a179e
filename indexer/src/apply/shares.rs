//! `RoyaltyShares`' events, mirrored operation by operation: share moves (mint and `_move`),
//! revenue distributed to a content's holders, claims.

use alloy::primitives::{Address, U256};
use contracts_bindings::bindings::RoyaltyShares::RoyaltySharesEvents;

use super::batch::{event_position, int, Val};
use super::decode::small;
use super::fold::Fold;
use super::ChainLog;
use crate::db::{address_text, amount_text, content_id_text, hash_text};
use crate::error::IndexerError;

impl Fold<'_> {
    /// `RoyaltyShares._move` (or the mint when `from` is zero).
    async fn move_shares(
        &mut self,
        id: &str,
        from: Address,
        to: Address,
        value: u64,
    ) -> Result<(), IndexerError> {
        if from == to {
            return Ok(());
        }
        let to_text = address_text(to);
        if from == Address::ZERO {
            let h = self.holder(id, &to_text).await?;
            h.update(|h| h.shares += value);
            return Ok(());
        }
        let rps = self.revenue_per_share(id).await?;
        let s = self.holder(id, &address_text(from)).await?;
        s.update(|s| {
            s.settle(rps);
            s.shares = s.shares.saturating_sub(value);
        });
        let d = self.holder(id, &to_text).await?;
        d.update(|d| {
            d.settle(rps);
            d.shares += value;
        });
        Ok(())
    }

    async fn share_transfer(
        &mut self,
        log: &ChainLog,
        seq: i64,
        id: &str,
        from: Address,
        to: Address,
        amount: i64,
    ) -> Result<(), IndexerError> {
        self.defer(
            "INSERT INTO share_transfers (block_hash, log_index, seq, block_number, block_time, content_id, from_account, to_account, amount)",
            vec![
                Val::from(hash_text(log.block_hash)),
                Val::from(int(log.log_index, "log index")?),
                Val::from(seq),
                Val::from(int(log.block_number, "block number")?),
                Val::from(int(log.block_time, "block time")?),
                Val::from(id),
                Val::from(address_text(from)),
                Val::from(address_text(to)),
                Val::from(amount),
            ],
        );
        Ok(())
    }

    pub(super) async fn shares(
        &mut self,
        log: &ChainLog,
        ev: RoyaltySharesEvents,
    ) -> Result<(), IndexerError> {
        match ev {
            RoyaltySharesEvents::TransferSingle(e) => {
                let id = content_id_text(e.id);
                let value = small(log, "TransferSingle", e.value)?;
                self.move_shares(&id, e.from, e.to, value as u64).await?;
                self.share_transfer(log, 0, &id, e.from, e.to, value)
                    .await?;
            }
            RoyaltySharesEvents::TransferBatch(e) => {
                for (seq, (id, value)) in e.ids.iter().zip(e.values.iter()).enumerate() {
                    let id = content_id_text(*id);
                    let value = small(log, "TransferBatch", *value)?;
                    self.move_shares(&id, e.from, e.to, value as u64).await?;
                    self.share_transfer(log, seq as i64, &id, e.from, e.to, value)
                        .await?;
                }
            }
            RoyaltySharesEvents::RevenueDistributed(e) => {
                let id = content_id_text(e.contentId);
                let creator = match self.content(&id).await? {
                    Some(c) => c.update(|c| {
                        c.revenue_per_share += e.perShare;
                        c.revenue_total += e.amount;
                        c.creator.clone()
                    }),
                    None => {
                        return Err(IndexerError::BadEvent {
                            name: "RevenueDistributed",
                            block: log.block_number,
                            log_index: log.log_index,
                            why: format!("content {id} was never registered"),
                        })
                    }
                };
                if !e.dust.is_zero() {
                    let h = self.holder(&id, &creator).await?;
                    h.update(|h| h.owed += e.dust);
                }
                let mut row = event_position(log)?;
                row.extend([
                    Val::from(&id),
                    Val::from(address_text(e.from)),
                    Val::from(address_text(e.token)),
                    Val::from(amount_text(e.amount)),
                    Val::from(amount_text(e.fee)),
                    Val::from(amount_text(e.pool)),
                    Val::from(amount_text(e.perShare)),
                    Val::from(amount_text(e.dust)),
                ]);
                self.defer("INSERT INTO revenue (block_hash, log_index, block_number, block_time, tx_hash, content_id, payer, token, amount, fee, pool, per_share, dust)", row);
            }
            RoyaltySharesEvents::Claimed(e) => {
                let id = content_id_text(e.contentId);
                let rps = self.revenue_per_share(&id).await?;
                let h = self.holder(&id, &address_text(e.account)).await?;
                h.update(|h| {
                    h.owed = U256::ZERO;
                    h.checkpoint = rps;
                });
                let mut row = event_position(log)?;
                row.extend([
                    Val::from(&id),
                    Val::from(address_text(e.account)),
                    Val::from(address_text(e.token)),
                    Val::from(amount_text(e.amount)),
                ]);
                self.defer("INSERT INTO claims (block_hash, log_index, block_number, block_time, tx_hash, content_id, account, token, amount)", row);
            }
            _ => {}
        }
        Ok(())
    }
}

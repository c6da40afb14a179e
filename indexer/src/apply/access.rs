//! `Access`' events: sales (perpetual tokens, rentals, subscriptions), timed-access expiry and
//! access-token balances.

use alloy::primitives::{Address, U256};
use contracts_bindings::bindings::Access::AccessEvents;

use super::batch::{event_position, int, Val};
use super::decode::small;
use super::fold::Fold;
use super::ChainLog;
use crate::db::{address_text, amount_text, content_id_text};
use crate::error::IndexerError;

/// One access sale: `edition` for a perpetual token, `timed` = (periods, expiry, renewed) for
/// a rental or subscription.
struct Grant<'a> {
    kind: &'a str,
    paid: U256,
    edition: Option<i64>,
    timed: Option<(i64, i64, bool)>,
}

impl Fold<'_> {
    async fn move_access(
        &mut self,
        id: &str,
        from: Address,
        to: Address,
        value: i64,
    ) -> Result<(), IndexerError> {
        if from != Address::ZERO {
            let t = self.access_token(&address_text(from), id).await?;
            t.update(|balance| *balance -= value);
        }
        if to != Address::ZERO {
            let t = self.access_token(&address_text(to), id).await?;
            t.update(|balance| *balance += value);
        }
        Ok(())
    }

    async fn grant(
        &mut self,
        log: &ChainLog,
        id: &str,
        account: Address,
        g: Grant<'_>,
    ) -> Result<(), IndexerError> {
        let mut row = event_position(log)?;
        row.extend([
            Val::from(id),
            Val::from(address_text(account)),
            Val::from(g.kind),
            Val::from(amount_text(g.paid)),
            Val::from(g.edition),
            Val::from(g.timed.map(|t| t.0)),
            Val::from(g.timed.map(|t| t.1)),
            Val::from(g.timed.map(|t| i64::from(t.2))),
        ]);
        self.defer("INSERT INTO access_grants (block_hash, log_index, block_number, block_time, tx_hash, content_id, account, kind, paid, edition, periods, expires_at, renewed)", row);
        if let Some(c) = self.content(id).await? {
            c.update(|c| {
                c.sales += 1;
                if g.edition.is_some() {
                    c.editions_sold += 1;
                }
            });
        }
        Ok(())
    }

    pub(super) async fn access(
        &mut self,
        log: &ChainLog,
        ev: AccessEvents,
    ) -> Result<(), IndexerError> {
        match ev {
            AccessEvents::Purchased(e) => {
                let id = content_id_text(e.contentId);
                let edition = small(log, "Purchased", e.edition)?;
                let g = Grant {
                    kind: "buy",
                    paid: e.paid,
                    edition: Some(edition),
                    timed: None,
                };
                self.grant(log, &id, e.buyer, g).await?;
            }
            AccessEvents::TimedAccess(e) => {
                let id = content_id_text(e.contentId);
                // Kind: 0 rental, 1 subscription (Access.Kind).
                let kind = if e.kind == 0 {
                    "rental"
                } else {
                    "subscription"
                };
                let expires = int(e.expiresAt, "expiresAt")?;
                let g = Grant {
                    kind,
                    paid: e.paid,
                    edition: None,
                    timed: Some((i64::from(e.periods), expires, e.renewed)),
                };
                self.grant(log, &id, e.account, g).await?;
                // The latest event of the range wins, as the contract's `expiresAt` does.
                self.expiry.insert((address_text(e.account), id), expires);
            }
            AccessEvents::TransferSingle(e) => {
                let id = content_id_text(e.id);
                let value = small(log, "TransferSingle", e.value)?;
                self.move_access(&id, e.from, e.to, value).await?;
            }
            AccessEvents::TransferBatch(e) => {
                for (id, value) in e.ids.iter().zip(e.values.iter()) {
                    let value = small(log, "TransferBatch", *value)?;
                    self.move_access(&content_id_text(*id), e.from, e.to, value)
                        .await?;
                }
            }
            _ => {}
        }
        Ok(())
    }
}

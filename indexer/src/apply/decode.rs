//! Log decoding: which deployed contract emitted a log, the event's name in its ABI, the
//! dispatch of a decoded event to its contract's handlers, and a stored raw log read back.

use alloy::primitives::{Address, B256, U256};
use alloy::sol_types::SolEventInterface;
use contracts_bindings::bindings::{
    Access::AccessEvents, ContentRegistry::ContentRegistryEvents, Market::MarketEvents,
    RoyaltyShares::RoyaltySharesEvents,
};
use contracts_bindings::Contracts;
use sqlx::Row;

use super::fold::Fold;
use super::ChainLog;
use crate::db::block_number;
use crate::error::IndexerError;

/// Which contract emitted a log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Registry,
    Shares,
    Access,
    Market,
    Other,
}

fn source(contracts: &Contracts, address: Address) -> Source {
    if address == contracts.content_registry {
        Source::Registry
    } else if address == contracts.royalty_shares {
        Source::Shares
    } else if address == contracts.access {
        Source::Access
    } else if address == contracts.market {
        Source::Market
    } else {
        Source::Other
    }
}

/// The event's name in its contract's ABI (`"unknown"` for a selector the ABI lacks).
pub fn event_name(contracts: &Contracts, log: &ChainLog) -> &'static str {
    fn lookup(selectors: &[[u8; 32]], names: &'static [&'static str], t: &B256) -> &'static str {
        selectors
            .binary_search(&t.0)
            .map(|i| names[i])
            .unwrap_or("unknown")
    }
    let Some(t) = log.topics.first() else {
        return "anonymous";
    };
    match source(contracts, log.address) {
        Source::Registry => lookup(
            ContentRegistryEvents::SELECTORS,
            ContentRegistryEvents::VARIANT_NAMES,
            t,
        ),
        Source::Shares => lookup(
            RoyaltySharesEvents::SELECTORS,
            RoyaltySharesEvents::VARIANT_NAMES,
            t,
        ),
        Source::Access => lookup(AccessEvents::SELECTORS, AccessEvents::VARIANT_NAMES, t),
        Source::Market => lookup(MarketEvents::SELECTORS, MarketEvents::VARIANT_NAMES, t),
        Source::Other => "unknown",
    }
}

pub(super) fn stored_log(r: &sqlx::any::AnyRow) -> Result<ChainLog, IndexerError> {
    let corrupt = |column: &'static str, value: String| IndexerError::Corrupt {
        table: "raw_events",
        column,
        value,
    };
    let hash = |column: &'static str, s: String| -> Result<B256, IndexerError> {
        s.parse().map_err(|_| corrupt(column, s))
    };
    let topics_text: String = r.try_get(6)?;
    let topics = if topics_text.is_empty() {
        Vec::new()
    } else {
        topics_text
            .split(',')
            .map(|t| hash("topics", t.to_owned()))
            .collect::<Result<_, _>>()?
    };
    let data_text: String = r.try_get(7)?;
    let data = hex::decode(data_text.trim_start_matches("0x"))
        .map_err(|_| corrupt("data", data_text.clone()))?;
    let address_text: String = r.try_get(5)?;
    Ok(ChainLog {
        block_number: block_number(r.try_get(0)?)?,
        log_index: block_number(r.try_get(1)?)?,
        block_hash: hash("block_hash", r.try_get(2)?)?,
        block_time: block_number(r.try_get(3)?)?,
        tx_hash: hash("tx_hash", r.try_get(4)?)?,
        address: address_text
            .parse()
            .map_err(|_| corrupt("address", address_text.clone()))?,
        topics,
        data: data.into(),
    })
}

/// A U256 as a BIGINT (counts: shares, access tokens, order amounts, ids).
pub(super) fn small(log: &ChainLog, name: &'static str, v: U256) -> Result<i64, IndexerError> {
    i64::try_from(v).map_err(|_| IndexerError::BadEvent {
        name,
        block: log.block_number,
        log_index: log.log_index,
        why: format!("{v} does not fit 63 bits"),
    })
}

impl Fold<'_> {
    pub(super) async fn apply(&mut self, log: &ChainLog) -> Result<(), IndexerError> {
        let bad = |name: &'static str, e: alloy::sol_types::Error| IndexerError::BadEvent {
            name,
            block: log.block_number,
            log_index: log.log_index,
            why: e.to_string(),
        };
        match source(&self.contracts, log.address) {
            Source::Registry => {
                let ev = ContentRegistryEvents::decode_raw_log(&log.topics, &log.data)
                    .map_err(|e| bad("ContentRegistry", e))?;
                self.registry(log, ev).await
            }
            Source::Shares => {
                let ev = RoyaltySharesEvents::decode_raw_log(&log.topics, &log.data)
                    .map_err(|e| bad("RoyaltyShares", e))?;
                self.shares(log, ev).await
            }
            Source::Access => {
                let ev = AccessEvents::decode_raw_log(&log.topics, &log.data)
                    .map_err(|e| bad("Access", e))?;
                self.access(log, ev).await
            }
            Source::Market => {
                let ev = MarketEvents::decode_raw_log(&log.topics, &log.data)
                    .map_err(|e| bad("Market", e))?;
                self.market(log, ev).await
            }
            Source::Other => Ok(()),
        }
    }
}

//! The fold: contract events, in chain order, into the index's tables.
//!
//! [`apply_range`] writes one block range inside the caller's transaction: the blocks'
//! checkpoints, the raw logs (one row per block hash and log index; a log already stored is not
//! applied again), and what each event changes. [`rebuild`] empties every derived table and folds
//! the stored raw logs again: after a reorganisation has deleted the dropped blocks' rows, this
//! recomputes the state with exactly the code that built it.
//!
//! The royalty accounting mirrors `RoyaltyShares` operation by operation, in 256-bit integers:
//! a mint adds shares; a transfer (`_move`) settles both parties at the content's revenue per
//! share, then moves the shares (nothing at all when sender and receiver are the same account);
//! `RevenueDistributed` adds `perShare` to the revenue per share and credits `dust` to the
//! content's creator; `Claimed` zeroes `owed` and sets the checkpoint to the revenue per share.
//!
//! One file per topic: `range` (the range loop and the rebuild), `decode` (which contract a
//! log is from, its event, stored logs read back), `batch` (rows written in multi-row
//! statements), `fold` (the cache of contents, holders and balances a range touches, written
//! back once at its end), and one file per contract's handlers (`registry`, `shares`,
//! `access`, `market`).

mod access;
mod batch;
mod decode;
mod fold;
mod market;
mod range;
mod registry;
mod shares;

use alloy::primitives::{Address, Bytes, B256};

pub use decode::event_name;
pub use range::{apply_range, rebuild};

/// A block header as far as the index needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockHeader {
    pub number: u64,
    pub hash: B256,
    pub parent_hash: B256,
    pub time: u64,
}

/// One log of a deployed contract, with the time of its block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainLog {
    pub block_number: u64,
    pub block_hash: B256,
    pub block_time: u64,
    pub log_index: u64,
    pub tx_hash: B256,
    pub address: Address,
    pub topics: Vec<B256>,
    pub data: Bytes,
}

/// Every table derived from the raw logs, emptied and refilled by [`rebuild`].
pub const DERIVED_TABLES: &[&str] = &[
    "contents",
    "renderers",
    "access_grants",
    "access_expiry",
    "access_tokens",
    "royalty_holders",
    "revenue",
    "claims",
    "listings",
    "offers",
    "trades",
    "share_transfers",
];

//! The indexer: follows every event of a ddrm deployment into SQL (SQLite embedded, PostgreSQL
//! for production) and answers the accounting questions the market API asks.
//!
//! Core types:
//! - [`db::Db`]: a database opened by URL (`sqlite://path?mode=rwc` or `postgres://…`), migrated
//!   at open, with the read functions whose logic belongs to the accounting model
//!   ([`db::Db::earnings`] mirrors `RoyaltyShares.claimable` to the wei).
//! - [`read`]: the typed reads of the index (catalogue, contents, libraries, order books,
//!   trades, live sales), answered as plain row structs so readers never see column positions.
//! - [`apply`]: the fold of decoded contract events into the tables, one block range per
//!   transaction; the same code rebuilds the state from the raw event log after a reorganisation.
//! - [`follow::Follower`]: reads logs in adaptive block ranges behind a confirmation depth,
//!   detects reorganisations by block hash and rolls back to the common ancestor; one writer per
//!   database, guarded by a lock ([`lock`]).
//! - [`testing`]: a throwaway PostgreSQL server and a scripted market on anvil, for this crate's
//!   tests and the market API's.

pub mod apply;
pub mod db;
pub mod error;
pub mod follow;
pub mod lock;
pub mod read;
#[cfg(feature = "test-utils")]
pub mod testing;

pub use db::{Backend, Db};
pub use error::IndexerError;

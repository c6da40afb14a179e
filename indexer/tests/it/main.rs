//! Integration tests against real anvil, SQLite and PostgreSQL: the scripted market indexed and
//! checked against the chain's views to the wei; the indexer killed at random points and
//! restarted; a reorganisation.

mod harness;

mod crash;
mod matches_chain;
mod reorg;

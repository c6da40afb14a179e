//! market-api integration tests: real anvil with the indexer's scripted market, real SQLite
//! and PostgreSQL, the API on a loopback socket.

mod catalogue_cache;
mod chain_state;
mod harness;
mod header_facts;
mod metadata;
mod migrations;
mod requests;
mod roles;
mod schemathesis;
mod uploads;
mod web;

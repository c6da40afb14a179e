//! Integration tests against a real anvil (chain id 20, Paris EVM): deploy, mint, buy, rent with
//! time travel, trade shares, claim, list and fill on the royalty market — and the input checks
//! that must stop a transaction before it is sent.

mod cli;
mod harness;
mod journey;
mod market;
mod mint_cli;
mod preflight;

//! licence-net integration tests: a real anvil with the contracts deployed, five real nodes on
//! loopback, the client.

mod abuse;
mod audit;
mod cli;
mod faults;
mod harness;
mod licence;
mod registry;
mod surface;

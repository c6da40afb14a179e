//! End-to-end journeys of the `ddrm` binary against real components. One test binary, one
//! module per journey.

mod licence;
mod market;
mod market_cli;
mod package_pin_decrypt;
mod speaker;
mod tpm;
mod up_play;
mod web;

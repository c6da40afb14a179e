//! Integration tests of store: one binary, one module per concern.

mod integrity;
mod kubo_parity;
mod support;

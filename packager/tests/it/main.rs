//! The packager integration tests: one binary, one module per concern.

mod data;
mod job;
mod media;

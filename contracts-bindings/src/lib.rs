//! placeholder crate root, filled in by the contracts work.

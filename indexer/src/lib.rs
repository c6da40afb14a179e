//! The indexer: follows every event of a ddrm deployment into SQL.

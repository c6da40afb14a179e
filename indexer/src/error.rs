//! The indexer's errors.

/// What went wrong opening, reading or writing the index, or following the chain.
#[derive(Debug, thiserror::Error)]
pub enum IndexerError {
    #[error(
        "unsupported database URL {0:?}: use sqlite://PATH?mode=rwc or postgres://USER@HOST/DB"
    )]
    BadDatabaseUrl(String),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("the index holds a malformed value in {table}.{column}: {value:?}")]
    Corrupt {
        table: &'static str,
        column: &'static str,
        value: String,
    },
    #[error("another indexer is writing to this database ({0})")]
    Locked(String),
    #[error("lock file {path}: {why}")]
    LockFile { path: String, why: String },
    #[error("RPC {what}: {why}")]
    Rpc { what: String, why: String },
    #[error("RPC {what}: no answer within {seconds} s")]
    RpcTimeout { what: String, seconds: u64 },
    #[error("chain: {0}")]
    Chain(#[from] contracts_bindings::ChainError),
    #[error("block {0} is missing from the chain")]
    MissingBlock(u64),
    #[error("the deployment belongs to chain {expected}, the RPC endpoint is chain {actual}")]
    WrongChain { expected: u64, actual: u64 },
    #[error("event {name} at block {block} log {log_index} does not decode: {why}")]
    BadEvent {
        name: &'static str,
        block: u64,
        log_index: u64,
        why: String,
    },
    #[error("injected crash point reached (tests only)")]
    InjectedCrash,
}

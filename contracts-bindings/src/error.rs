//! Errors of chain operations, and readable reasons for contract reverts.

use alloy::primitives::{Address, B256, U256};

use crate::bindings::{Access, CapsuleRegistry, ContentRegistry, Market, RoyaltyShares};
use crate::market::{Collection, OrderRef};
use crate::units::InputError;

/// What went wrong talking to the chain or with what was asked of it. Nothing here ever holds a
/// private key.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error("{0:?} is neither a chain preset (esc, esc-testnet, local) nor an RPC URL")]
    BadRpcUrl(String),
    #[error("RPC error: {0}")]
    Rpc(String),
    #[error("wrong chain: expected chain id {expected}, the RPC endpoint reports {actual}")]
    WrongChain { expected: u64, actual: u64 },
    #[error("a private key is needed (--private-key, DDRM_PRIVATE_KEY or --private-key-file)")]
    NoKey,
    #[error("the private key is not 32 bytes of hex")]
    BadPrivateKey,
    #[error("deployment file {path}: {why}")]
    DeploymentFile { path: String, why: String },
    #[error(".ddrm file {path}: {why}")]
    DdrmFile { path: String, why: String },
    #[error("{what} failed: {why}")]
    Reverted { what: String, why: String },
    #[error("unknown content id {0}")]
    UnknownContent(String),
    #[error("content {0} is already registered")]
    AlreadyRegistered(String),
    #[error(
        "content {id} is not bound to {account}: only the creator named in its .ddrm header can \
         register it (format v1 files name no creator; repackage them)"
    )]
    NotTheCreator { id: String, account: Address },
    #[error("{commitment} is already the key commitment of your content {existing}")]
    CommitmentTaken { commitment: B256, existing: String },
    #[error("content {id} is not offered for {what}")]
    NotForSale { id: String, what: &'static str },
    #[error("content {id} is sold out ({max} editions)")]
    SoldOut { id: String, max: u32 },
    #[error("insufficient funds: {needed} {symbol} needed, {account} has {available} {symbol}")]
    InsufficientFunds {
        account: Address,
        needed: String,
        available: String,
        symbol: String,
    },
    #[error(
        "content {id}: the current {what} is {current}, beyond the bound {bound}; not sent \
         (the creator may have changed the terms)"
    )]
    AboveBound {
        id: String,
        what: &'static str,
        current: String,
        bound: String,
    },
    #[error("bad terms: {0}")]
    BadTerms(String),
    #[error("{account} holds {have} shares of {id}, cannot transfer {want}")]
    InsufficientShares {
        account: Address,
        id: String,
        have: U256,
        want: U256,
    },
    #[error("nothing to claim for {0}")]
    NothingToClaim(String),
    #[error("payment token {0} is not an ERC-20 contract on this chain")]
    BadPaymentToken(Address),
    #[error("bad order: {0}")]
    BadOrder(String),
    #[error("there is no {0} on the market (never made, or cancelled)")]
    UnknownOrder(OrderRef),
    #[error("{order} has {left} left, cannot fill {wanted}")]
    OrderTooSmall {
        order: OrderRef,
        left: u64,
        wanted: u64,
    },
    #[error("{order} was made by {maker}; {account} cannot cancel it")]
    NotMaker {
        order: OrderRef,
        maker: Address,
        account: Address,
    },
    #[error("{account} holds {have} {collection} of content {id}, cannot sell {want}")]
    InsufficientTokens {
        account: Address,
        collection: Collection,
        id: String,
        have: U256,
        want: u64,
    },
    #[error("the seller of {order} no longer backs it: the seller {why}")]
    StaleListing { order: OrderRef, why: String },
    #[error("sales are paused: market fills and new orders wait until governance unpauses")]
    SalesPaused,
    #[error("nothing to withdraw from the market for {account} in {symbol}")]
    NothingToWithdraw { account: Address, symbol: String },
}

/// Decodes a contract error into its Solidity name and arguments when it is one of ours.
pub fn describe_contract_error(err: &alloy::contract::Error) -> String {
    macro_rules! try_decode {
        ($($iface:ty),*) => {$(
            if let Some(e) = err.as_decoded_interface_error::<$iface>() {
                return format!("{e:?}");
            }
        )*};
    }
    try_decode!(
        Access::AccessErrors,
        ContentRegistry::ContentRegistryErrors,
        RoyaltyShares::RoyaltySharesErrors,
        Market::MarketErrors,
        CapsuleRegistry::CapsuleRegistryErrors
    );
    err.to_string()
}

//! A deployed system on a fresh anvil, with named funded accounts.

use alloy::{
    node_bindings::AnvilInstance,
    primitives::{Address, B256, U256},
    providers::Provider,
    signers::local::PrivateKeySigner,
};
use contracts_bindings::{
    chain::{self, DEFAULT_FEE_BPS},
    error::describe_contract_error,
    ops::{HeaderFacts, MintRequest, TermsInput},
    testing::{anvil_signers, spawn_anvil},
    Chain, DeployOptions, Deployment,
};

pub const ELA: u128 = 1_000_000_000_000_000_000;

pub struct Stack {
    pub anvil: AnvilInstance,
    pub dep: Deployment,
    /// anvil's accounts 0..=9: 0 deploys, 1 creator, 2 producer, 3 alice, 4 bob, 5 treasury.
    pub keys: Vec<PrivateKeySigner>,
}

impl Stack {
    pub async fn start() -> Self {
        let anvil = spawn_anvil();
        let keys = anvil_signers(&anvil);
        let deployer = Chain::connect(&anvil.endpoint(), Some(keys[0].clone()))
            .await
            .expect("connect");
        let opts = DeployOptions {
            treasury: Some(keys[5].address()),
            fee_bps: DEFAULT_FEE_BPS,
            pool_bps: 0,
            test_token: true,
            ..Default::default()
        };
        let dep = chain::deploy(&deployer, &opts).await.expect("deploy");
        Self { anvil, dep, keys }
    }

    pub async fn as_account(&self, index: usize) -> Chain {
        Chain::connect(&self.anvil.endpoint(), Some(self.keys[index].clone()))
            .await
            .expect("connect")
    }

    pub fn addr(&self, index: usize) -> Address {
        self.keys[index].address()
    }

    /// A connection without a signer, for reads and anvil's own methods.
    pub async fn reader(&self) -> Chain {
        Chain::connect(&self.anvil.endpoint(), None)
            .await
            .expect("connect")
    }

    pub async fn balance(&self, who: Address) -> U256 {
        self.reader().await.balance(who).await.expect("balance")
    }

    pub async fn nonce(&self, who: Address) -> u64 {
        let c = self.reader().await;
        c.provider.get_transaction_count(who).await.expect("nonce")
    }

    /// The gas price `tx` paid per unit of gas.
    pub async fn effective_price(&self, tx: alloy::primitives::TxHash) -> U256 {
        let r = self
            .reader()
            .await
            .provider
            .get_transaction_receipt(tx)
            .await
            .unwrap()
            .expect("receipt");
        U256::from(r.effective_gas_price)
    }

    /// Calls anvil's (or the EVM's) `method`, whose result the tests do not need.
    async fn anvil_call<P>(&self, method: &'static str, params: P)
    where
        P: serde::Serialize + Clone + std::fmt::Debug + Send + Sync + Unpin,
    {
        let c = self.reader().await;
        let _: serde_json::Value = c
            .provider
            .raw_request(method.into(), params)
            .await
            .unwrap_or_else(|e| panic!("{method}: {e}"));
    }

    /// Moves the chain's clock forward and mines a block.
    pub async fn travel(&self, seconds: u64) {
        self.anvil_call("evm_increaseTime", (seconds,)).await;
        self.anvil_call("evm_mine", ()).await;
    }

    /// Sets `who`'s native balance to exactly `wei`.
    pub async fn set_balance(&self, who: Address, wei: U256) {
        self.anvil_call("anvil_setBalance", (who, wei)).await;
    }
}

pub fn ela(whole: u128, thousandths: u128) -> U256 {
    U256::from(whole * ELA + thousandths * ELA / 1_000)
}

/// Asserts that a contract call was refused with the custom error `error`; `what` names the
/// call for the failure message.
pub fn assert_reverts<T>(result: Result<T, alloy::contract::Error>, error: &str, what: &str) {
    let Err(err) = result else {
        panic!("{what} must revert with {error}");
    };
    let why = describe_contract_error(&err);
    assert!(why.contains(error), "{what}: {why}");
}

/// Terms that only sell access tokens, at `price` wei.
pub fn priced(price: U256) -> TermsInput {
    TermsInput {
        price,
        ..Default::default()
    }
}

/// The facts of a content of `creator` without renderers: its header digest and key commitment
/// are `digest` and `commitment` repeated.
pub fn facts(creator: Address, digest: u8, commitment: u8) -> HeaderFacts {
    HeaderFacts::for_creator(
        creator,
        B256::repeat_byte(digest),
        B256::repeat_byte(commitment),
        vec![],
    )
}

/// A registration of `header` paid in native ELA.
pub fn native_mint(
    header: HeaderFacts,
    terms: TermsInput,
    split: Vec<(Address, u16)>,
) -> MintRequest {
    MintRequest {
        header,
        cid: "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi".into(),
        payment_token: Address::ZERO,
        terms,
        split,
    }
}

/// The chain commands' target: `rpc`, a deployment file, and the key in a key file (if any).
pub fn command_target(
    rpc: &str,
    deployment: &std::path::Path,
    key_file: Option<&str>,
) -> contracts_bindings::commands::Target {
    contracts_bindings::commands::Target {
        connect: contracts_bindings::commands::Connect {
            rpc: rpc.to_owned(),
            signer: contracts_bindings::commands::SignerSource {
                private_key: None,
                private_key_file: key_file.map(Into::into),
            },
        },
        deployment: deployment.to_owned(),
    }
}

/// `ddrm chain deploy`'s request with the defaults: write to `out`.
pub fn deploy_request(out: &std::path::Path) -> contracts_bindings::commands::DeployRequest {
    contracts_bindings::commands::DeployRequest {
        out: out.to_owned(),
        treasury: None,
        fee_bps: DEFAULT_FEE_BPS,
        pool_bps: chain::DEFAULT_POOL_BPS,
        reward_pool: None,
        approve_runtime: Vec::new(),
        register_capsule: Vec::new(),
        test_token: false,
        metadata_base: None,
    }
}

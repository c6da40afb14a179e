//! A deployed system on a fresh anvil, with named funded accounts.

use alloy::{
    node_bindings::AnvilInstance,
    primitives::{Address, U256},
    providers::Provider,
    signers::local::PrivateKeySigner,
};
use contracts_bindings::{
    chain::{self, DEFAULT_FEE_BPS},
    testing::spawn_anvil,
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
        let keys: Vec<PrivateKeySigner> = anvil
            .keys()
            .iter()
            .map(|k| PrivateKeySigner::from(k.clone()))
            .collect();
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

    pub async fn balance(&self, who: Address) -> U256 {
        let c = Chain::connect(&self.anvil.endpoint(), None)
            .await
            .expect("connect");
        c.balance(who).await.expect("balance")
    }

    pub async fn nonce(&self, who: Address) -> u64 {
        let c = Chain::connect(&self.anvil.endpoint(), None)
            .await
            .expect("connect");
        c.provider.get_transaction_count(who).await.expect("nonce")
    }

    /// Moves the chain's clock forward and mines a block.
    pub async fn travel(&self, seconds: u64) {
        let c = Chain::connect(&self.anvil.endpoint(), None)
            .await
            .expect("connect");
        let _: serde_json::Value = c
            .provider
            .raw_request("evm_increaseTime".into(), (seconds,))
            .await
            .expect("evm_increaseTime");
        let _: serde_json::Value = c
            .provider
            .raw_request("evm_mine".into(), ())
            .await
            .expect("evm_mine");
    }
}

pub fn ela(whole: u128, thousandths: u128) -> U256 {
    U256::from(whole * ELA + thousandths * ELA / 1_000)
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
    }
}

//! Connecting to a chain, the deployment file, and deploying the whole system.

use std::path::Path;

use alloy::{
    network::EthereumWallet,
    primitives::{Address, B256, U256},
    providers::{DynProvider, Provider, ProviderBuilder},
    rpc::types::TransactionReceipt,
    signers::local::PrivateKeySigner,
};
use serde::{Deserialize, Serialize};

use crate::bindings::{
    Access, CapsuleRegistry, ContentRegistry, LicenceNetworkRegistry, Market, RoyaltyShares,
    TestToken,
};
use crate::error::{describe_contract_error, ChainError};

/// Default platform fee: 2.5 % of every sale.
pub const DEFAULT_FEE_BPS: u16 = 250;
/// Default home-node reward pool share: none until a reward pool is deployed.
pub const DEFAULT_POOL_BPS: u16 = 0;

/// A named chain: its public RPC endpoint and chain id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChainPreset {
    /// Elastos Smart Chain mainnet (chain id 20).
    Esc,
    /// Elastos Smart Chain testnet (chain id 21).
    EscTestnet,
    /// A local anvil on the default port (any chain id).
    Local,
}

impl ChainPreset {
    /// Recognises `esc`, `esc-testnet` and `local`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "esc" => Some(Self::Esc),
            "esc-testnet" => Some(Self::EscTestnet),
            "local" => Some(Self::Local),
            _ => None,
        }
    }

    pub fn rpc_url(self) -> &'static str {
        match self {
            Self::Esc => "https://api.elastos.io/esc",
            Self::EscTestnet => "https://api-testnet.elastos.io/esc",
            Self::Local => "http://127.0.0.1:8545",
        }
    }

    /// The chain id the endpoint must report, if the preset fixes one.
    pub fn chain_id(self) -> Option<u64> {
        match self {
            Self::Esc => Some(20),
            Self::EscTestnet => Some(21),
            Self::Local => None,
        }
    }
}

/// The symbol of a chain's native token.
pub fn native_symbol(chain_id: u64) -> &'static str {
    match chain_id {
        20 | 21 => "ELA",
        _ => "ETH",
    }
}

/// A connection to a chain, with a signing wallet when a key was given.
#[derive(Clone)]
pub struct Chain {
    pub provider: DynProvider,
    pub chain_id: u64,
    /// The signer's address; `None` for a read-only connection.
    pub sender: Option<Address>,
}

impl std::fmt::Debug for Chain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chain")
            .field("chain_id", &self.chain_id)
            .field("sender", &self.sender)
            .finish_non_exhaustive()
    }
}

impl Chain {
    /// Connects to `rpc`: a preset name (`esc`, `esc-testnet`, `local`) or an HTTP(S) URL.
    /// Checks a preset's chain id.
    pub async fn connect(rpc: &str, signer: Option<PrivateKeySigner>) -> Result<Self, ChainError> {
        let preset = ChainPreset::from_name(rpc);
        let url_text: &str = match preset {
            Some(p) => p.rpc_url(),
            None => rpc,
        };
        let url = url_text
            .parse()
            .map_err(|_| ChainError::BadRpcUrl(rpc.to_owned()))?;
        let sender = signer.as_ref().map(PrivateKeySigner::address);
        let provider = match signer {
            Some(s) => ProviderBuilder::new()
                .wallet(EthereumWallet::from(s))
                .connect_http(url)
                .erased(),
            None => ProviderBuilder::new().connect_http(url).erased(),
        };
        let chain_id = provider
            .get_chain_id()
            .await
            .map_err(|e| ChainError::Rpc(format!("{url_text}: {e}")))?;
        if let Some(want) = preset.and_then(ChainPreset::chain_id) {
            if want != chain_id {
                return Err(ChainError::WrongChain {
                    expected: want,
                    actual: chain_id,
                });
            }
        }
        Ok(Self {
            provider,
            chain_id,
            sender,
        })
    }

    /// Connects with a signer, panicking on failure: for tests, examples and benchmarks.
    pub async fn connect_owned(rpc: String, signer: PrivateKeySigner) -> Self {
        Self::connect(&rpc, Some(signer))
            .await
            .unwrap_or_else(|e| panic!("connect to {rpc}: {e}"))
    }

    /// The signer's address, or an error saying a key is needed.
    pub fn sender(&self) -> Result<Address, ChainError> {
        self.sender.ok_or(ChainError::NoKey)
    }

    pub async fn balance(&self, account: Address) -> Result<U256, ChainError> {
        self.provider
            .get_balance(account)
            .await
            .map_err(|e| ChainError::Rpc(e.to_string()))
    }
}

/// Parses a hex private key (with or without `0x`). The error never contains the key.
pub fn parse_private_key(text: &str) -> Result<PrivateKeySigner, ChainError> {
    text.trim()
        .parse::<PrivateKeySigner>()
        .map_err(|_| ChainError::BadPrivateKey)
}

/// Addresses of the deployed contracts, by contract name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Contracts {
    pub capsule_registry: Address,
    pub licence_network_registry: Address,
    pub royalty_shares: Address,
    pub content_registry: Address,
    pub access: Address,
    pub market: Address,
    /// A mintable USDC-like ERC-20, deployed only on request (local stacks and tests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_token: Option<Address>,
}

/// What `ddrm chain deploy` writes: where everything lives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deployment {
    pub chain_id: u64,
    /// Block of the first deployment transaction: indexers start here.
    pub deployment_block: u64,
    pub deployer: Address,
    pub contracts: Contracts,
}

impl Deployment {
    pub fn load(path: &Path) -> Result<Self, ChainError> {
        let text = std::fs::read_to_string(path).map_err(|e| ChainError::DeploymentFile {
            path: path.display().to_string(),
            why: e.to_string(),
        })?;
        serde_json::from_str(&text).map_err(|e| ChainError::DeploymentFile {
            path: path.display().to_string(),
            why: e.to_string(),
        })
    }

    pub fn save(&self, path: &Path) -> Result<(), ChainError> {
        let text = serde_json::to_string_pretty(self).expect("deployment serialises");
        std::fs::write(path, text + "\n").map_err(|e| ChainError::DeploymentFile {
            path: path.display().to_string(),
            why: e.to_string(),
        })
    }

    /// Fails unless the deployment belongs to the connected chain.
    pub fn check_chain(&self, chain: &Chain) -> Result<(), ChainError> {
        if self.chain_id != chain.chain_id {
            return Err(ChainError::WrongChain {
                expected: self.chain_id,
                actual: chain.chain_id,
            });
        }
        Ok(())
    }
}

/// Choices for a deployment.
#[derive(Debug, Clone, Default)]
pub struct DeployOptions {
    /// Receives platform fees; the deployer when `None`.
    pub treasury: Option<Address>,
    pub fee_bps: u16,
    pub pool_bps: u16,
    /// The home-node reward pool allowed to pull its share.
    pub reward_pool: Option<Address>,
    /// Runtime attestation keys to approve.
    pub approve_runtimes: Vec<Address>,
    /// Capsules (measurement, version) to register, with the deployer as publisher.
    pub register_capsules: Vec<(B256, u32)>,
    /// Also deploy the mintable test ERC-20.
    pub test_token: bool,
    /// Base of both ERC-1155s' metadata URIs (`{base}access/{id}`, `{base}royalty/{id}`), e.g.
    /// a market service's `http://127.0.0.1:8080/v1/metadata/`; `None`: no metadata (`uri` is
    /// empty) until the owner sets one.
    pub metadata_base: Option<String>,
}

/// Waits for a sent transaction and fails on a revert.
pub async fn confirm(
    what: &str,
    pending: Result<
        alloy::providers::PendingTransactionBuilder<alloy::network::Ethereum>,
        alloy::contract::Error,
    >,
) -> Result<TransactionReceipt, ChainError> {
    let pending = pending.map_err(|e| ChainError::Reverted {
        what: what.to_owned(),
        why: describe_contract_error(&e),
    })?;
    let receipt = pending
        .get_receipt()
        .await
        .map_err(|e| ChainError::Rpc(format!("{what}: {e}")))?;
    if !receipt.status() {
        return Err(ChainError::Reverted {
            what: what.to_owned(),
            why: format!("transaction {} reverted", receipt.transaction_hash),
        });
    }
    Ok(receipt)
}

/// Waits for a contract creation (`deploy_builder(..).send()`) and returns the new contract's
/// address and the block that created it.
async fn deployed(
    what: &str,
    pending: Result<
        alloy::providers::PendingTransactionBuilder<alloy::network::Ethereum>,
        alloy::contract::Error,
    >,
) -> Result<(Address, u64), ChainError> {
    let receipt = confirm(&format!("deploy {what}"), pending).await?;
    let address = receipt
        .contract_address
        .ok_or_else(|| ChainError::Reverted {
            what: what.to_owned(),
            why: "no contract address in the receipt".into(),
        })?;
    Ok((address, receipt.block_number.unwrap_or_default()))
}

/// Deploys and wires every contract; the deployer owns them all (hand ownership to governance
/// afterwards with the two-step transfer).
pub async fn deploy(chain: &Chain, opts: &DeployOptions) -> Result<Deployment, ChainError> {
    let p = &chain.provider;
    let me = chain.sender()?;
    let treasury = opts.treasury.unwrap_or(me);

    let (capsules, deployment_block) = deployed(
        "CapsuleRegistry",
        CapsuleRegistry::deploy_builder(p, me).send().await,
    )
    .await?;
    let (network, _) = deployed(
        "LicenceNetworkRegistry",
        LicenceNetworkRegistry::deploy_builder(p, me).send().await,
    )
    .await?;
    let (shares, _) = deployed(
        "RoyaltyShares",
        RoyaltyShares::deploy_builder(p, me, treasury, opts.fee_bps, opts.pool_bps)
            .send()
            .await,
    )
    .await?;
    let (registry, _) = deployed(
        "ContentRegistry",
        ContentRegistry::deploy_builder(p, me, capsules, shares)
            .send()
            .await,
    )
    .await?;
    let (access, _) = deployed(
        "Access",
        Access::deploy_builder(p, me, registry, shares).send().await,
    )
    .await?;
    let (market, _) = deployed(
        "Market",
        Market::deploy_builder(p, registry, shares, access)
            .send()
            .await,
    )
    .await?;

    let s = RoyaltyShares::new(shares, p);
    confirm("setRegistry", s.setRegistry(registry).send().await).await?;
    let reg = ContentRegistry::new(registry, p);
    confirm("setAccess", reg.setAccess(access).send().await).await?;
    confirm(
        "setDistributor(Access)",
        s.setDistributor(access, true).send().await,
    )
    .await?;
    confirm(
        "setDistributor(Market)",
        s.setDistributor(market, true).send().await,
    )
    .await?;
    if let Some(pool) = opts.reward_pool {
        confirm("setRewardPool", s.setRewardPool(pool).send().await).await?;
    }
    if let Some(base) = &opts.metadata_base {
        crate::units::check_metadata_base(base)?;
        let a = Access::new(access, p);
        confirm(
            "setMetadataBase(Access)",
            a.setMetadataBase(base.clone()).send().await,
        )
        .await?;
        confirm(
            "setMetadataBase(RoyaltyShares)",
            s.setMetadataBase(base.clone()).send().await,
        )
        .await?;
    }
    let c = CapsuleRegistry::new(capsules, p);
    for key in &opts.approve_runtimes {
        confirm("approveRuntime", c.approveRuntime(*key).send().await).await?;
    }
    if !opts.register_capsules.is_empty() {
        confirm("setPublisher", c.setPublisher(me, true).send().await).await?;
        for (measurement, version) in &opts.register_capsules {
            confirm(
                "registerCapsule",
                c.registerCapsule(*measurement, *version).send().await,
            )
            .await?;
        }
    }
    let test_token = if opts.test_token {
        let (token, _) = deployed("TestToken", TestToken::deploy_builder(p).send().await).await?;
        Some(token)
    } else {
        None
    };

    Ok(Deployment {
        chain_id: chain.chain_id,
        deployment_block,
        deployer: me,
        contracts: Contracts {
            capsule_registry: capsules,
            licence_network_registry: network,
            royalty_shares: shares,
            content_registry: registry,
            access,
            market,
            test_token,
        },
    })
}

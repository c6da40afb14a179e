//! The licence network as registered on chain (`LicenceNetworkRegistry`): its group public key,
//! threshold and nodes (operator address and endpoint, by share index).
//!
//! A node compares its group key with the registered one at start and refuses to run on any
//! difference; a client can take its endpoints and group key from the chain
//! ([`crate::LicenceClient::from_registry`]); `ddrm licence register` starts an epoch.
//!
//! The contract's `threshold` is threshold_crypto's (t where t + 1 shares decrypt); the group
//! key's `threshold()` counts the shares needed, one more.

use std::time::Duration;

use alloy::primitives::{Address, Bytes};
use alloy::providers::Provider;
use contracts_bindings::bindings::LicenceNetworkRegistry;
use contracts_bindings::{Chain, Deployment};
use licence_net_protocol::GroupKey;

/// Errors reading or writing the registry, or comparing with it.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("reading LicenceNetworkRegistry at {registry} failed: {why}")]
    Read { registry: Address, why: String },
    #[error("LicenceNetworkRegistry at {registry} did not answer within {timeout:?}")]
    Timeout {
        registry: Address,
        timeout: Duration,
    },
    #[error("no licence network is registered in LicenceNetworkRegistry at {0} (epoch 0): run `ddrm licence register`")]
    NotRegistered(Address),
    #[error("the licence network registered on chain (epoch {epoch}) is not valid: {why}")]
    Invalid { epoch: u64, why: String },
    #[error("this node's group key does not match the network registered on chain (epoch {epoch}): {why}")]
    Mismatch { epoch: u64, why: String },
    #[error("registering the licence network failed: {0}")]
    Write(String),
    #[error("{0}")]
    Input(String),
}

/// The current epoch's network, as read from the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredNetwork {
    pub epoch: u64,
    /// Shares needed to decrypt (the contract's threshold + 1).
    pub shares_needed: usize,
    /// The bincode-encoded public key set, as in `group.pub`.
    pub public_key_set: Vec<u8>,
    /// Operator address and endpoint URL of each node, by share index.
    pub nodes: Vec<(Address, String)>,
}

impl RegisteredNetwork {
    /// Reads the current epoch from the registry of `deployment`; each call bounded by `timeout`.
    pub async fn read<P: Provider>(
        provider: &P,
        deployment: &Deployment,
        timeout: Duration,
    ) -> Result<Self, RegistryError> {
        let registry = deployment.contracts.licence_network_registry;
        let contract = LicenceNetworkRegistry::new(registry, provider);
        let epoch = bounded(registry, timeout, contract.epoch().call()).await?;
        if epoch == 0 {
            return Err(RegistryError::NotRegistered(registry));
        }
        let threshold = bounded(registry, timeout, contract.threshold().call()).await?;
        let key = bounded(registry, timeout, contract.groupPublicKey().call()).await?;
        let nodes = bounded(registry, timeout, contract.nodes().call()).await?;
        Ok(Self {
            epoch,
            shares_needed: threshold as usize + 1,
            public_key_set: key.to_vec(),
            nodes: nodes
                .into_iter()
                .map(|n| (n.operator, n.endpoint))
                .collect(),
        })
    }

    /// The group key this network registered (public key set, threshold, operators).
    pub fn group_key(&self) -> Result<GroupKey, RegistryError> {
        GroupKey::from_parts(
            &self.public_key_set,
            self.shares_needed,
            self.nodes.iter().map(|n| n.0).collect(),
        )
        .map_err(|e| RegistryError::Invalid {
            epoch: self.epoch,
            why: e.to_string(),
        })
    }

    /// The node endpoints, by share index.
    pub fn endpoints(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.1.clone()).collect()
    }

    /// Checks that `group` is exactly the registered network's key: same public key set, number
    /// of shares needed, number of nodes and operator of every node.
    pub fn check(&self, group: &GroupKey) -> Result<(), RegistryError> {
        let mismatch = |why: String| RegistryError::Mismatch {
            epoch: self.epoch,
            why,
        };
        if group.public_key_set_bytes() != self.public_key_set {
            return Err(mismatch(format!(
                "the public key set differs (local group key id {}, registered key set {} bytes)",
                hex::encode(group.id()),
                self.public_key_set.len()
            )));
        }
        if group.threshold() != self.shares_needed || group.nodes() != self.nodes.len() {
            return Err(mismatch(format!(
                "local {}-of-{}, registered {}-of-{}",
                group.threshold(),
                group.nodes(),
                self.shares_needed,
                self.nodes.len()
            )));
        }
        for (i, (local, (registered, _))) in group.operators().iter().zip(&self.nodes).enumerate() {
            if local != registered {
                return Err(mismatch(format!(
                    "node {i}'s operator is {local} locally, {registered} on chain"
                )));
            }
        }
        Ok(())
    }
}

/// One registry read, bounded by `timeout`.
async fn bounded<T>(
    registry: Address,
    timeout: Duration,
    call: impl std::future::IntoFuture<Output = Result<T, alloy::contract::Error>>,
) -> Result<T, RegistryError> {
    tokio::time::timeout(timeout, call.into_future())
        .await
        .map_err(|_| RegistryError::Timeout { registry, timeout })?
        .map_err(|e| RegistryError::Read {
            registry,
            why: e.to_string(),
        })
}

/// Starts a new epoch with `group` and one endpoint per node (by share index). `chain` must sign
/// as the registry's owner (the deployer). Returns the new epoch.
pub async fn register(
    chain: &Chain,
    deployment: &Deployment,
    group: &GroupKey,
    endpoints: &[String],
) -> Result<u64, RegistryError> {
    if endpoints.len() != group.nodes() {
        return Err(RegistryError::Input(format!(
            "{} endpoints given for {} nodes (one per node, in share order)",
            endpoints.len(),
            group.nodes()
        )));
    }
    let registry = deployment.contracts.licence_network_registry;
    let contract = LicenceNetworkRegistry::new(registry, &chain.provider);
    let threshold = u16::try_from(group.threshold() - 1)
        .map_err(|_| RegistryError::Input("threshold too large".into()))?;
    let pending = contract
        .startEpoch(
            Bytes::from(group.public_key_set_bytes()),
            threshold,
            group.operators().to_vec(),
            endpoints.to_vec(),
        )
        .send()
        .await
        .map_err(|e| RegistryError::Write(e.to_string()))?;
    let receipt = pending
        .with_timeout(Some(Duration::from_secs(60)))
        .get_receipt()
        .await
        .map_err(|e| RegistryError::Write(e.to_string()))?;
    if !receipt.status() {
        return Err(RegistryError::Write("startEpoch reverted".into()));
    }
    contract
        .epoch()
        .call()
        .await
        .map_err(|e| RegistryError::Read {
            registry,
            why: e.to_string(),
        })
}

//! `GET /v1/config`: the public facts a browser needs to reach this deployment through its own
//! wallet — the chain id, an RPC URL the wallet can add the chain with (only when the operator
//! configured one: an RPC URL may carry an access key), and the contracts' addresses. Nothing
//! here is secret; the same facts are in the deployment file.

use axum::extract::State;
use axum::Json;
use contracts_bindings::Contracts;
use indexer::db::address_text;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;

/// The deployment's contracts (lowercase 0x-hex, as every address in this API).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ContractAddresses {
    pub content_registry: String,
    /// Buy, rent and subscribe.
    pub access: String,
    pub royalty_shares: String,
    pub market: String,
    pub capsule_registry: String,
    pub licence_network_registry: String,
    /// A mintable test ERC-20, deployed on local stacks only.
    pub test_token: Option<String>,
}

impl From<&Contracts> for ContractAddresses {
    fn from(c: &Contracts) -> Self {
        Self {
            content_registry: address_text(c.content_registry),
            access: address_text(c.access),
            royalty_shares: address_text(c.royalty_shares),
            market: address_text(c.market),
            capsule_registry: address_text(c.capsule_registry),
            licence_network_registry: address_text(c.licence_network_registry),
            test_token: c.test_token.map(address_text),
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PublicConfig {
    pub chain_id: u64,
    /// JSON-RPC URL for wallets (`wallet_addEthereumChain`); null unless the operator gave one
    /// (`ddrm serve --public-rpc`, or a local stack's own).
    pub rpc_url: Option<String>,
    /// Symbol of the chain's native token (`ELA` on ESC).
    pub native_symbol: String,
    /// First block of the deployment.
    pub deployment_block: u64,
    pub contracts: ContractAddresses,
    /// The roles this server answers: `market` (public reads), `pc2` (owner-only uploads).
    pub roles: Vec<String>,
    /// Uploads to this server, when it has the pc2 role; null on a public market.
    pub uploads: Option<UploadLimits>,
}

/// What an upload to this PC2 may be.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UploadLimits {
    /// Largest file accepted, in bytes.
    pub max_bytes: u64,
    /// Bytes one account may upload per day.
    pub bytes_per_day: u64,
    /// Uploads one account may have in progress at once.
    pub uploads_at_once: usize,
}

/// This deployment's chain and contracts, for web clients.
#[utoipa::path(get, path = "/v1/config", tag = "meta",
    responses((status = 200, body = PublicConfig)))]
pub async fn config(State(state): State<AppState>) -> Json<PublicConfig> {
    let config = state.config();
    let deployment = &config.deployment;
    Json(PublicConfig {
        chain_id: deployment.chain_id,
        rpc_url: config.public_rpc_url.clone(),
        native_symbol: contracts_bindings::chain::native_symbol(deployment.chain_id).to_owned(),
        deployment_block: deployment.deployment_block,
        contracts: ContractAddresses::from(&deployment.contracts),
        roles: [(config.market, "market"), (config.pc2.is_some(), "pc2")]
            .into_iter()
            .filter(|(on, _)| *on)
            .map(|(_, role)| role.to_owned())
            .collect(),
        uploads: config.pc2.as_ref().map(|pc2| UploadLimits {
            max_bytes: pc2.max_upload_bytes,
            bytes_per_day: pc2.quota.bytes_per_day,
            uploads_at_once: pc2.quota.uploads_at_once,
        }),
    })
}

//! The licence node: an axum service that releases its decryption share only after checking,
//! on its own, everything `PROTOCOL.md` lists, and logs every decision.
//!
//! Build a [`NodeState`] from a [`NodeConfig`], then [`app`] gives the router (tests drive it
//! in-process) and [`serve`] runs it on a listener.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use contracts_bindings::{Chain, Deployment};
use licence_net_protocol::threshold_crypto::{DecryptionShare, SecretKeyShare};
use licence_net_protocol::{
    key_commitment, AccessKind, Address, GroupKey, LicenceAsk, LicencePolicy, LicenceResponse,
    PreparedCiphertext, ProtocolError, B256, MAX_CLOCK_SKEW, MAX_KEY_CIPHERTEXT,
    MAX_REQUEST_LIFETIME,
};
use serde::{Deserialize, Serialize};

use crate::audit::{now_secs, AuditError, AuditFacts, AuditLog, Decision};
use crate::registry::{RegisteredNetwork, RegistryError};
use crate::rights::{ChainReadError, RightsReader};
use crate::KeyShareFile;

/// Largest request body a node reads.
pub const MAX_BODY_BYTES: usize = 32 * 1024;
/// A licence must be renewed at least this often (seconds), even for perpetual access, so that
/// a revoked capsule or runtime stops playing within this time.
pub const RENEW_INTERVAL: u64 = 3600;
/// Default timeout of every chain call.
pub const DEFAULT_CHAIN_TIMEOUT: Duration = Duration::from_secs(3);
/// Most accounts whose request rate is tracked at once.
const MAX_TRACKED_ACCOUNTS: usize = 100_000;
/// Most verified key ciphertexts kept in memory.
const MAX_CACHED_CIPHERTEXTS: usize = 10_000;

/// Per-account token bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Requests added to the bucket per second.
    pub per_second: f64,
    /// Bucket size: requests allowed in a burst.
    pub burst: f64,
}

impl Default for RateLimit {
    fn default() -> Self {
        Self {
            per_second: 2.0,
            burst: 20.0,
        }
    }
}

/// Everything a node needs to start.
pub struct NodeConfig {
    pub share: KeyShareFile,
    pub group: GroupKey,
    pub deployment: Deployment,
    /// RPC endpoint (URL or preset name, as `ddrm chain` accepts).
    pub rpc: String,
    pub audit_path: PathBuf,
    pub confirmations: u64,
    pub chain_timeout: Duration,
    /// How long a fetched chain head is reused.
    pub head_ttl: Duration,
    pub rate_limit: RateLimit,
    pub registry: RegistryCheck,
}

/// What a node requires of `LicenceNetworkRegistry` at start. A registered network must always
/// match the node's group key exactly, or the node refuses to start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RegistryCheck {
    /// No network registered (epoch 0) is an error too.
    Required,
    /// No network registered yet is accepted (a local stack before `ddrm licence register`).
    #[default]
    IfRegistered,
}

impl std::fmt::Debug for NodeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeConfig")
            .field("share", &self.share)
            .field("rpc", &self.rpc)
            .field("audit_path", &self.audit_path)
            .field("confirmations", &self.confirmations)
            .finish_non_exhaustive()
    }
}

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error("cannot connect to the chain: {0}")]
    Chain(#[from] contracts_bindings::ChainError),
    #[error("the deployment is for chain {deployment}, the RPC endpoint serves chain {rpc}")]
    WrongChain { deployment: u64, rpc: u64 },
    #[error(transparent)]
    Audit(#[from] AuditError),
    #[error("cannot listen: {0}")]
    Listen(std::io::Error),
    #[error(transparent)]
    Registry(#[from] RegistryError),
}

/// Why a node refused. The code is stable (in responses and the audit log); the message explains.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Refusal {
    #[error("malformed request: {0}")]
    Malformed(String),
    #[error("the request expired at {expiry} (node time {now})")]
    Expired { expiry: u64, now: u64 },
    #[error(
        "the request expires at {expiry}, more than {MAX_REQUEST_LIFETIME} s after node time {now}"
    )]
    ExpiryTooFar { expiry: u64, now: u64 },
    #[error("the request is signed for chain {got}; this network serves chain {want}")]
    WrongChain { got: u64, want: u64 },
    #[error("the request is signed for contract {got}; this network's Access contract is {want}")]
    WrongContract { got: Address, want: Address },
    #[error("bad wallet signature: {0}")]
    BadSignature(String),
    #[error("rate limit exceeded for {0}")]
    RateLimited(Address),
    #[error("nonce {0} was already used (replayed request)")]
    Replayed(B256),
    #[error("the key ciphertext sent does not match the commitment in the signed request")]
    CiphertextNotSigned,
    #[error("the key ciphertext is invalid: {0}")]
    CiphertextInvalid(String),
    #[error("the key ciphertext was not made for content {content:#x}'s registered creator {creator} (an alias of another creator's content, or altered)")]
    KeyNotFromCreator {
        content: licence_net_protocol::U256,
        creator: Address,
    },
    #[error("the attestation does not match the request: {0}")]
    AttestationMismatch(&'static str),
    #[error("the attestation is not valid: {0}")]
    AttestationInvalid(String),
    #[error("content {0:#x} is not registered")]
    UnknownContent(licence_net_protocol::U256),
    #[error("the key ciphertext is not the one committed on chain for content {content:#x} (chain has {on_chain}, request has {sent})")]
    CommitmentMismatch {
        content: licence_net_protocol::U256,
        on_chain: B256,
        sent: B256,
    },
    #[error("{account} has no access to content {content:#x} at block {block}")]
    NoAccess {
        account: Address,
        content: licence_net_protocol::U256,
        block: u64,
    },
    #[error("capsule measurement {0} is not allowed for this content, or is revoked")]
    CapsuleNotAllowed(B256),
    #[error("runtime key {0} is not approved or is revoked")]
    RuntimeNotApproved(Address),
    #[error("the chain cannot be read, so nothing is released: {0}")]
    ChainUnavailable(String),
    #[error("the node cannot record its decision, so nothing is released")]
    AuditUnavailable,
    #[error("the node failed to seal its share")]
    Internal,
}

impl Refusal {
    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "malformed",
            Self::Expired { .. } => "expired",
            Self::ExpiryTooFar { .. } => "expiry_too_far",
            Self::WrongChain { .. } => "wrong_chain",
            Self::WrongContract { .. } => "wrong_contract",
            Self::BadSignature(_) => "bad_signature",
            Self::RateLimited(_) => "rate_limited",
            Self::Replayed(_) => "replayed",
            Self::CiphertextNotSigned => "ciphertext_not_signed",
            Self::CiphertextInvalid(_) => "ciphertext_invalid",
            Self::KeyNotFromCreator { .. } => "key_not_from_creator",
            Self::AttestationMismatch(_) => "attestation_mismatch",
            Self::AttestationInvalid(_) => "attestation_invalid",
            Self::UnknownContent(_) => "unknown_content",
            Self::CommitmentMismatch { .. } => "commitment_mismatch",
            Self::NoAccess { .. } => "no_access",
            Self::CapsuleNotAllowed(_) => "capsule_not_allowed",
            Self::RuntimeNotApproved(_) => "runtime_not_approved",
            Self::ChainUnavailable(_) => "chain_unavailable",
            Self::AuditUnavailable => "audit_unavailable",
            Self::Internal => "internal",
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Self::Malformed(_) => StatusCode::BAD_REQUEST,
            Self::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::ChainUnavailable(_) | Self::AuditUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::FORBIDDEN,
        }
    }
}

/// The body of a refusal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusalBody {
    pub node_index: u32,
    pub code: String,
    pub message: String,
}

/// `GET /v1/info`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    pub node_index: u32,
    pub nodes: usize,
    pub threshold: usize,
    pub group_key_id: B256,
    pub chain_id: u64,
    pub access_contract: Address,
    pub confirmations: u64,
    pub audit_entries: u64,
    pub audit_head: B256,
    /// The registry epoch the group key was checked against at start (0: none registered).
    pub registry_epoch: u64,
}

/// A node's shared state.
pub struct NodeState {
    index: u32,
    share: SecretKeyShare,
    operator: k256::ecdsa::SigningKey,
    group: GroupKey,
    chain_id: u64,
    access_contract: Address,
    rights: RightsReader,
    audit: AuditLog,
    /// (account, nonce) → request expiry, for every request whose signature verified.
    nonces: Mutex<HashMap<(Address, B256), u64>>,
    buckets: ddrm_limits::TokenBuckets<Address>,
    /// This node's decryption share of each verified key ciphertext, by key commitment: the
    /// validity check and the share are computed once per content.
    /// Decryption shares of ciphertexts whose label proof checked, by (commitment, creator).
    ciphertexts: Mutex<HashMap<(B256, Address), Arc<DecryptionShare>>>,
    registry_epoch: u64,
}

impl std::fmt::Debug for NodeState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeState")
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

impl NodeState {
    /// Connects to the chain (checking its id against the deployment), opens and verifies the
    /// audit log, and rebuilds the nonce store from it.
    pub async fn new(config: NodeConfig) -> Result<Arc<Self>, NodeError> {
        let chain = Chain::connect(&config.rpc, None).await?;
        if chain.chain_id != config.deployment.chain_id {
            return Err(NodeError::WrongChain {
                deployment: config.deployment.chain_id,
                rpc: chain.chain_id,
            });
        }
        let registry_epoch = match RegisteredNetwork::read(
            &chain.provider,
            &config.deployment,
            config.chain_timeout,
        )
        .await
        {
            Ok(network) => {
                network.check(&config.group)?;
                network.epoch
            }
            Err(RegistryError::NotRegistered(_))
                if config.registry == RegistryCheck::IfRegistered =>
            {
                0
            }
            Err(e) => return Err(e.into()),
        };
        let index = config.share.index as u32;
        let (audit, entries) = AuditLog::open(&config.audit_path, index)?;
        let now = now_secs();
        let nonces = entries
            .iter()
            .filter_map(|e| {
                let f = &e.facts;
                match (f.account, f.nonce, f.expiry) {
                    (Some(a), Some(n), Some(x)) if x + MAX_CLOCK_SKEW >= now => Some(((a, n), x)),
                    _ => None,
                }
            })
            .collect();
        let access_contract = config.deployment.contracts.access;
        let rights = RightsReader::new(
            chain.provider,
            config.deployment.clone(),
            config.confirmations,
            config.chain_timeout,
            config.head_ttl,
        );
        Ok(Arc::new(Self {
            index,
            share: config.share.share,
            operator: config.share.operator,
            group: config.group,
            chain_id: config.deployment.chain_id,
            access_contract,
            rights,
            audit,
            nonces: Mutex::new(nonces),
            buckets: ddrm_limits::TokenBuckets::new(
                config.rate_limit.per_second,
                config.rate_limit.burst,
                MAX_TRACKED_ACCOUNTS,
            ),
            ciphertexts: Mutex::new(HashMap::new()),
            registry_epoch,
        }))
    }

    pub fn info(&self) -> NodeInfo {
        let (audit_entries, audit_head) = self.audit.head();
        NodeInfo {
            node_index: self.index,
            nodes: self.group.nodes(),
            threshold: self.group.threshold(),
            group_key_id: B256::from(self.group.id()),
            chain_id: self.chain_id,
            access_contract: self.access_contract,
            confirmations: self.rights.confirmations(),
            audit_entries,
            audit_head,
            registry_epoch: self.registry_epoch,
        }
    }

    fn take_token(&self, account: Address) -> bool {
        self.buckets.take(account, Instant::now()).is_ok()
    }

    /// Records the nonce; false if it was seen before.
    fn fresh_nonce(&self, account: Address, nonce: B256, expiry: u64, now: u64) -> bool {
        let mut nonces = self.nonces.lock().expect("nonce lock");
        if nonces.len() > 100_000 {
            nonces.retain(|_, x| *x + MAX_CLOCK_SKEW >= now);
        }
        nonces.insert((account, nonce), expiry).is_none()
    }

    /// This node's decryption share of a ciphertext, only once its validity proof checked for
    /// the label `creator` (the content's registered creator): an alias registration of another
    /// creator's ciphertext fails here.
    fn content_share(
        &self,
        content: licence_net_protocol::U256,
        commitment: B256,
        creator: Address,
        bytes: &[u8],
    ) -> Result<Arc<DecryptionShare>, Refusal> {
        if let Some(share) = self
            .ciphertexts
            .lock()
            .expect("ciphertext lock")
            .get(&(commitment, creator))
        {
            return Ok(share.clone());
        }
        let ct = PreparedCiphertext::decode(bytes, &creator).map_err(|e| match e {
            ProtocolError::CiphertextInvalid => Refusal::KeyNotFromCreator { content, creator },
            other => Refusal::CiphertextInvalid(other.to_string()),
        })?;
        let share = Arc::new(self.share.decrypt_share_no_verify(ct.ciphertext()));
        let mut cache = self.ciphertexts.lock().expect("ciphertext lock");
        if cache.len() >= MAX_CACHED_CIPHERTEXTS {
            cache.clear();
        }
        cache.insert((commitment, creator), share.clone());
        Ok(share)
    }

    /// Every check, in order from cheapest; fills `facts` as it learns them.
    async fn decide(
        &self,
        ask: &LicenceAsk,
        facts: &mut AuditFacts,
    ) -> Result<LicenceResponse, Refusal> {
        let f = &ask.request.fields;
        let now = now_secs();
        facts.content_id = Some(f.content_id);
        facts.nonce = Some(f.nonce);
        facts.expiry = Some(f.expiry);
        facts.request_hash = Some(ask.request.request_hash());
        facts.measurement = Some(ask.attestation.measurement);
        facts.runtime = Some(ask.attestation.runtime);

        if f.expiry <= now {
            return Err(Refusal::Expired {
                expiry: f.expiry,
                now,
            });
        }
        if f.expiry > now + MAX_REQUEST_LIFETIME {
            return Err(Refusal::ExpiryTooFar {
                expiry: f.expiry,
                now,
            });
        }
        if f.chain_id != self.chain_id {
            return Err(Refusal::WrongChain {
                got: f.chain_id,
                want: self.chain_id,
            });
        }
        if f.access_contract != self.access_contract {
            return Err(Refusal::WrongContract {
                got: f.access_contract,
                want: self.access_contract,
            });
        }
        let account = ask.request.verify_signer().map_err(|e| match e {
            ProtocolError::RequestSigner { .. } | ProtocolError::RequestSignature => {
                Refusal::BadSignature(e.to_string())
            }
            other => Refusal::BadSignature(other.to_string()),
        })?;
        facts.account = Some(account);
        if !self.take_token(account) {
            // Not recorded as a used nonce: the same signed request may be retried.
            facts.nonce = None;
            return Err(Refusal::RateLimited(account));
        }
        if !self.fresh_nonce(account, f.nonce, f.expiry, now) {
            return Err(Refusal::Replayed(f.nonce));
        }
        if ask.key_ciphertext.len() > MAX_KEY_CIPHERTEXT {
            return Err(Refusal::CiphertextInvalid("longer than 4096 bytes".into()));
        }
        if key_commitment(&ask.key_ciphertext) != f.key_commitment {
            return Err(Refusal::CiphertextNotSigned);
        }
        let att = &ask.attestation;
        if att.capsule_key != f.capsule_key {
            return Err(Refusal::AttestationMismatch(
                "it attests another capsule key",
            ));
        }
        if att.hash() != f.attestation_hash {
            return Err(Refusal::AttestationMismatch(
                "its hash is not the one signed by the wallet",
            ));
        }
        att.verify(now)
            .map_err(|e| Refusal::AttestationInvalid(e.to_string()))?;

        let rights = self
            .rights
            .rights(account, f.content_id, att.measurement, att.runtime)
            .await
            .map_err(|e: ChainReadError| Refusal::ChainUnavailable(e.to_string()))?;
        facts.block = Some(rights.block);
        let Some(on_chain) = rights.commitment else {
            return Err(Refusal::UnknownContent(f.content_id));
        };
        if on_chain != f.key_commitment {
            return Err(Refusal::CommitmentMismatch {
                content: f.content_id,
                on_chain,
                sent: f.key_commitment,
            });
        }
        if !rights.has_access {
            return Err(Refusal::NoAccess {
                account,
                content: f.content_id,
                block: rights.block,
            });
        }
        if !rights.renderer_allowed {
            return Err(Refusal::CapsuleNotAllowed(att.measurement));
        }
        if !rights.runtime_approved {
            return Err(Refusal::RuntimeNotApproved(att.runtime));
        }
        let decryption =
            self.content_share(f.content_id, on_chain, rights.creator, &ask.key_ciphertext)?;
        let timed = rights.expires_at > rights.timestamp;
        let play_until = timed.then_some(rights.expires_at);
        let renew_after = play_until
            .unwrap_or(u64::MAX)
            .min(rights.timestamp + RENEW_INTERVAL);
        facts.play_until = play_until;
        let policy = LicencePolicy {
            account,
            content_id: f.content_id,
            access: if timed {
                AccessKind::Timed
            } else {
                AccessKind::Perpetual
            },
            play_until,
            renew_after,
            issued_at: rights.timestamp,
            block_number: rights.block,
        };
        LicenceResponse::issue_share(
            self.index,
            &decryption,
            &self.operator,
            ask.request.request_hash(),
            &f.capsule_key,
            policy,
        )
        .map_err(|_| Refusal::Internal)
    }

    /// Decides one request body and records the decision. The share leaves only after the
    /// "granted" line is on disk.
    pub async fn handle(&self, body: &[u8]) -> Result<LicenceResponse, Refusal> {
        let mut facts = AuditFacts::default();
        let outcome = match serde_json::from_slice::<LicenceAsk>(body) {
            Ok(ask) => self.decide(&ask, &mut facts).await,
            Err(e) => Err(Refusal::Malformed(e.to_string())),
        };
        match outcome {
            Ok(response) => {
                self.audit
                    .record(Decision::Granted, facts)
                    .await
                    .map_err(|_| Refusal::AuditUnavailable)?;
                Ok(response)
            }
            Err(refusal) => {
                facts.reason = Some(refusal.code().to_string());
                facts.detail = Some(refusal.to_string());
                self.audit
                    .record(Decision::Refused, facts)
                    .await
                    .map_err(|_| Refusal::AuditUnavailable)?;
                Err(refusal)
            }
        }
    }
}

struct Refused(u32, Refusal);

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let body = RefusalBody {
            node_index: self.0,
            code: self.1.code().to_string(),
            message: self.1.to_string(),
        };
        (self.1.status(), Json(body)).into_response()
    }
}

async fn licence(State(state): State<Arc<NodeState>>, body: axum::body::Bytes) -> Response {
    match state.handle(&body).await {
        Ok(r) => Json(r).into_response(),
        Err(refusal) => Refused(state.index, refusal).into_response(),
    }
}

async fn info(State(state): State<Arc<NodeState>>) -> Json<NodeInfo> {
    Json(state.info())
}

async fn health() -> &'static str {
    "ok"
}

/// The node's routes: `POST /v1/licence`, `GET /v1/info`, `GET /health`.
pub fn app(state: Arc<NodeState>) -> Router {
    Router::new()
        .route("/v1/licence", post(licence))
        .route("/v1/info", get(info))
        .route("/health", get(health))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// Serves the node on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<NodeState>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await
}

/// Binds `addr`, for [`serve`].
pub async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, NodeError> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(NodeError::Listen)
}

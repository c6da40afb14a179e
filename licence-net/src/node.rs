//! The licence node: an axum service that releases its decryption share only after checking,
//! on its own, everything `PROTOCOL.md` lists, and logs every decision.
//!
//! Build a [`NodeState`] from a [`NodeConfig`], then [`app`] gives the router (tests drive it
//! in-process) and [`serve`] runs it on a listener.
//!
//! The service is open to anyone, so the work it does for a request grows only with what the
//! request has proved, in this order:
//!
//! 1. per-peer then global token buckets, before the body is parsed: a request over either is
//!    refused (`peer_rate_limited`, `busy`) without parsing, signature work or an audit line (a
//!    line per throttled request would let a flood write the log). The peer is the TCP peer's IP
//!    (an IPv6 peer by its /64, since one host easily holds a whole /64);
//! 2. parsing and the cheap request checks, then the wallet signature, then the per-account
//!    bucket; only then is the nonce recorded ([`crate::replay`]), and only then are the chain
//!    and the key share touched;
//! 3. every decision taken from step 2 on is logged, with the refusal's stable code and a bounded
//!    detail ([`crate::audit::bounded_detail`]); attacker-chosen bytes are never logged or
//!    echoed back. A full audit queue answers `audit_busy` at once.
//!
//! Trade-off: a peer over its rate is dropped silently (counted in `/v1/info` as `throttled`),
//! so the log shows every decision about a parsed request but not every connection.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use contracts_bindings::{Chain, Deployment};
use licence_net_protocol::threshold_crypto::{DecryptionShare, SecretKeyShare};
use licence_net_protocol::{
    key_commitment, AccessKind, Address, GroupKey, LicenceAsk, LicencePolicy, LicenceResponse,
    PreparedCiphertext, ProtocolError, RequestFields, B256, MAX_CLOCK_SKEW, MAX_KEY_CIPHERTEXT,
    MAX_REQUEST_LIFETIME, U256,
};
use serde::{Deserialize, Serialize};

use crate::audit::{bounded_detail, now_secs, AuditError, AuditFacts, AuditLog, Decision};
use crate::replay::{ReplayStore, Seen};
use crate::rights::{ChainReadError, Rights, RightsReader};
use crate::KeyShareFile;
use licence_net_client::registry::{RegisteredNetwork, RegistryError};
use licence_net_protocol::RefusalBody;

/// Largest request body a node reads.
pub const MAX_BODY_BYTES: usize = 32 * 1024;
/// A licence must be renewed at least this often (seconds), even for perpetual access, so that
/// a revoked capsule or runtime stops playing within this time.
pub const RENEW_INTERVAL: u64 = 3600;
/// Default timeout of every chain call.
pub const DEFAULT_CHAIN_TIMEOUT: Duration = Duration::from_secs(3);
/// Most accounts whose request rate is tracked at once (see [`limits::TokenBuckets`]:
/// past it new accounts are refused until a bucket is idle, busy ones are never reset).
const MAX_TRACKED_ACCOUNTS: usize = 100_000;
/// Most peers (IPs, IPv6 /64s) whose request rate is tracked at once.
const MAX_TRACKED_PEERS: usize = 100_000;
/// Most live nonces remembered ([`crate::replay`]); about 150 bytes each, so at most ~40 MiB.
pub const MAX_REPLAY_ENTRIES: usize = 262_144;
/// Most granted responses kept for identical resends; a response is about 1 KiB in memory, so
/// at most ~16 MiB.
pub const MAX_KEPT_RESPONSES: usize = 16_384;
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

/// Default limit per peer (IP, or IPv6 /64), checked before a body is parsed.
pub const DEFAULT_PEER_RATE: RateLimit = RateLimit {
    per_second: 20.0,
    burst: 100.0,
};
/// Default limit over all peers, checked before a body is parsed: above the throughput one node
/// sustains, so it only caps a flood from many peers.
pub const DEFAULT_GLOBAL_RATE: RateLimit = RateLimit {
    per_second: 5000.0,
    burst: 5000.0,
};

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
    /// Per account, after the signature verified.
    pub rate_limit: RateLimit,
    pub registry: RegistryCheck,
    /// Refuse attestations by runtime keys that are not hardware-held (`file-secp256k1`).
    pub require_hardware_runtime: bool,
}

/// The limits checked before a request body is parsed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Admission {
    /// Per peer IP (IPv6: per /64).
    pub peer: RateLimit,
    /// All peers together.
    pub global: RateLimit,
}

impl Default for Admission {
    fn default() -> Self {
        Self {
            peer: DEFAULT_PEER_RATE,
            global: DEFAULT_GLOBAL_RATE,
        }
    }
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
/// No message carries bytes of the request other than typed, fixed-size values.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Refusal {
    #[error("too many requests from this peer")]
    PeerRateLimited,
    #[error("the node is busy")]
    Busy,
    #[error("malformed request: JSON {kind} error at line {line} column {column}")]
    Malformed {
        kind: &'static str,
        line: usize,
        column: usize,
    },
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
    #[error("content {content:#x}'s creator registered this key commitment under content {registered:#x}: one commitment, one content")]
    CommitmentElsewhere {
        content: licence_net_protocol::U256,
        registered: licence_net_protocol::U256,
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
    #[error("this node requires a hardware-held runtime key (tpm2-p256); runtime {0} attested with a file key")]
    RuntimeNotHardware(Address),
    #[error("the chain cannot be read, so nothing is released: {0}")]
    ChainUnavailable(String),
    #[error("the node cannot record its decision, so nothing is released")]
    AuditUnavailable,
    #[error("the node's audit log is busy, so nothing is released; retry later")]
    AuditBusy,
    #[error("the node failed to seal its share")]
    Internal,
}

impl Refusal {
    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::PeerRateLimited => "peer_rate_limited",
            Self::Busy => "busy",
            Self::Malformed { .. } => "malformed",
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
            Self::CommitmentElsewhere { .. } => "commitment_elsewhere",
            Self::NoAccess { .. } => "no_access",
            Self::CapsuleNotAllowed(_) => "capsule_not_allowed",
            Self::RuntimeNotApproved(_) => "runtime_not_approved",
            Self::RuntimeNotHardware(_) => "runtime_not_hardware",
            Self::ChainUnavailable(_) => "chain_unavailable",
            Self::AuditUnavailable => "audit_unavailable",
            Self::AuditBusy => "audit_busy",
            Self::Internal => "internal",
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Self::Malformed { .. } => StatusCode::BAD_REQUEST,
            Self::RateLimited(_) | Self::PeerRateLimited => StatusCode::TOO_MANY_REQUESTS,
            Self::ChainUnavailable(_) | Self::AuditUnavailable | Self::AuditBusy | Self::Busy => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::FORBIDDEN,
        }
    }
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
    /// Requests refused by the per-peer or global limit since start (not in the audit log).
    #[serde(default)]
    pub throttled: u64,
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
    /// Every live (account, nonce) whose signature verified, and the grants to resend.
    replay: ReplayStore<LicenceResponse>,
    buckets: limits::TokenBuckets<Address>,
    peers: limits::TokenBuckets<IpAddr>,
    global: limits::TokenBuckets<()>,
    throttled: AtomicU64,
    /// This node's decryption share of each verified key ciphertext, by key commitment: the
    /// validity check and the share are computed once per content.
    /// Decryption shares of ciphertexts whose label proof checked, by (commitment, creator).
    ciphertexts: Mutex<HashMap<(B256, Address), Arc<DecryptionShare>>>,
    registry_epoch: u64,
    require_hardware_runtime: bool,
}

impl std::fmt::Debug for NodeState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeState")
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

impl NodeState {
    /// [`Self::with_admission`] with the default [`Admission`] limits.
    pub async fn new(config: NodeConfig) -> Result<Arc<Self>, NodeError> {
        Self::with_admission(config, Admission::default()).await
    }

    /// Connects to the chain (checking its id against the deployment), opens and verifies the
    /// audit log, and rebuilds the replay store from it.
    pub async fn with_admission(
        config: NodeConfig,
        admission: Admission,
    ) -> Result<Arc<Self>, NodeError> {
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
        let now = now_secs();
        let replay = ReplayStore::new(MAX_REPLAY_ENTRIES, MAX_KEPT_RESPONSES);
        // Streams the log: only live nonces stay in memory.
        let (audit, _) = AuditLog::open(&config.audit_path, index, |e| {
            let f = &e.facts;
            if let (Some(a), Some(n), Some(h), Some(x)) =
                (f.account, f.nonce, f.request_hash, f.expiry)
            {
                if x.saturating_add(MAX_CLOCK_SKEW) >= now {
                    replay.restore(a, n, h, x, now);
                }
            }
        })?;
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
            replay,
            buckets: limits::TokenBuckets::new(
                config.rate_limit.per_second,
                config.rate_limit.burst,
                MAX_TRACKED_ACCOUNTS,
            ),
            peers: limits::TokenBuckets::new(
                admission.peer.per_second,
                admission.peer.burst,
                MAX_TRACKED_PEERS,
            ),
            global: limits::TokenBuckets::new(
                admission.global.per_second,
                admission.global.burst,
                1,
            ),
            throttled: AtomicU64::new(0),
            ciphertexts: Mutex::new(HashMap::new()),
            registry_epoch,
            require_hardware_runtime: config.require_hardware_runtime,
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
            throttled: self.throttled.load(Ordering::Relaxed),
        }
    }

    /// Sizes of the replay store (live nonces, kept responses, bucket sizes).
    pub fn replay_stats(&self) -> crate::replay::ReplayStats {
        self.replay.stats()
    }

    /// The node's chain reader (its call count and cache sizes).
    pub fn rights(&self) -> &RightsReader {
        &self.rights
    }

    fn take_token(&self, account: Address) -> bool {
        self.buckets.take(account, Instant::now()).is_ok()
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
    async fn decide(&self, ask: &LicenceAsk, facts: &mut AuditFacts) -> Result<Decided, Refusal> {
        let f = &ask.request.fields;
        let now = now_secs();
        facts.content_id = Some(f.content_id);
        facts.nonce = Some(f.nonce);
        facts.expiry = Some(f.expiry);
        facts.request_hash = Some(ask.request.request_hash());
        facts.measurement = Some(ask.attestation.measurement);
        facts.runtime = Some(ask.attestation.runtime);
        facts.runtime_kind = Some(ask.attestation.kind);

        self.check_request(f, now)?;
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
        let request_hash = ask.request.request_hash();
        match self
            .replay
            .check(account, f.nonce, request_hash, f.expiry, now)
        {
            Seen::Fresh => {}
            // The same signed request again (a retry, or a copy that a relay or another node
            // forwarded first): the answer it got, or a new decision (after a restart, or when
            // it was refused or its answer was not kept).
            Seen::Identical(Some(kept)) => return Ok(Decided::Resent(kept)),
            Seen::Identical(None) => {}
            Seen::Replayed => return Err(Refusal::Replayed(f.nonce)),
            Seen::Full => {
                facts.nonce = None;
                return Err(Refusal::Busy);
            }
        }
        self.check_attestation(ask, now)?;

        let att = &ask.attestation;
        let rights = self
            .rights
            .rights(account, f.content_id, att.measurement, att.runtime)
            .await
            .map_err(|e: ChainReadError| Refusal::ChainUnavailable(e.to_string()))?;
        facts.block = Some(rights.block);
        let on_chain = check_rights(&rights, ask, account)?;
        let decryption =
            self.content_share(f.content_id, on_chain, rights.creator, &ask.key_ciphertext)?;
        let policy = policy_for(account, f.content_id, &rights);
        facts.play_until = policy.play_until;
        LicenceResponse::issue_share(
            self.index,
            &decryption,
            &self.operator,
            request_hash,
            &f.capsule_key,
            policy,
        )
        .map(|r| Decided::Granted(Arc::new(r)))
        .map_err(|_| Refusal::Internal)
    }

    /// The request's own terms: unexpired, not too far ahead, for this chain and contract.
    fn check_request(&self, f: &RequestFields, now: u64) -> Result<(), Refusal> {
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
        Ok(())
    }

    /// What the wallet signed binds the key ciphertext and the attestation, and the
    /// attestation itself holds (and is hardware-backed where this node requires it).
    fn check_attestation(&self, ask: &LicenceAsk, now: u64) -> Result<(), Refusal> {
        let f = &ask.request.fields;
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
        if self.require_hardware_runtime && !att.kind.is_hardware() {
            return Err(Refusal::RuntimeNotHardware(att.runtime));
        }
        att.verify(now)
            .map_err(|e| Refusal::AttestationInvalid(e.to_string()))
    }

    /// Decides one request body from a loopback peer (see [`Self::handle_from`]).
    pub async fn handle(&self, body: &[u8]) -> Result<LicenceResponse, Refusal> {
        self.handle_from(IpAddr::from([127, 0, 0, 1]), body).await
    }

    /// Decides one request body sent by `peer` and records the decision. The share leaves only
    /// after the "granted" line is on disk.
    pub async fn handle_from(&self, peer: IpAddr, body: &[u8]) -> Result<LicenceResponse, Refusal> {
        let now = Instant::now();
        if self.peers.take(limits::ip_key(peer), now).is_err() {
            self.throttled.fetch_add(1, Ordering::Relaxed);
            return Err(Refusal::PeerRateLimited);
        }
        if self.global.take((), now).is_err() {
            self.throttled.fetch_add(1, Ordering::Relaxed);
            return Err(Refusal::Busy);
        }
        let mut facts = AuditFacts::default();
        let outcome = match serde_json::from_slice::<LicenceAsk>(body) {
            Ok(ask) => self.decide(&ask, &mut facts).await,
            Err(e) => Err(Refusal::Malformed {
                kind: match e.classify() {
                    serde_json::error::Category::Io => "read",
                    serde_json::error::Category::Syntax => "syntax",
                    serde_json::error::Category::Data => "data",
                    serde_json::error::Category::Eof => "truncated",
                },
                line: e.line(),
                column: e.column(),
            }),
        };
        let audit_failed = |e: AuditError| match e {
            AuditError::Busy => Refusal::AuditBusy,
            _ => Refusal::AuditUnavailable,
        };
        match outcome {
            Ok(Decided::Granted(response)) => {
                let (account, nonce, request_hash) =
                    (facts.account, facts.nonce, facts.request_hash);
                tracing::info!(
                    node = self.index,
                    account = ?account,
                    content = ?facts.content_id,
                    runtime_kind = facts.runtime_kind.map_or("", |k| k.as_str()),
                    "licence granted"
                );
                self.audit
                    .record(Decision::Granted, facts)
                    .await
                    .map_err(audit_failed)?;
                if let (Some(a), Some(n), Some(h)) = (account, nonce, request_hash) {
                    self.replay.keep_response(a, n, h, response.clone());
                }
                Ok(Arc::unwrap_or_clone(response))
            }
            // Already granted and logged; the same sealed bytes again release nothing new.
            Ok(Decided::Resent(kept)) => Ok(kept.as_ref().clone()),
            Err(refusal) => {
                // The code and typed facts only: never the request's bytes.
                tracing::info!(
                    node = self.index,
                    code = refusal.code(),
                    account = ?facts.account,
                    content = ?facts.content_id,
                    "licence refused"
                );
                facts.reason = Some(refusal.code().to_string());
                facts.detail = Some(bounded_detail(&refusal.to_string()));
                self.audit
                    .record(Decision::Refused, facts)
                    .await
                    .map_err(audit_failed)?;
                Err(refusal)
            }
        }
    }
}

/// A decision to release a share.
enum Decided {
    Granted(Arc<LicenceResponse>),
    /// The answer already given to this very request.
    Resent(Arc<LicenceResponse>),
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

async fn licence(
    State(state): State<Arc<NodeState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: axum::body::Bytes,
) -> Response {
    match state.handle_from(peer.ip(), &body).await {
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

/// The node's routes: `POST /v1/licence`, `GET /v1/info`, `GET /health`. Serve it with
/// `into_make_service_with_connect_info::<SocketAddr>()` (as [`serve`] does): the licence route
/// rate-limits by peer address.
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
    axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// Binds `addr`, for [`serve`].
pub async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, NodeError> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(NodeError::Listen)
}

/// The chain's answer allows this grant: the content is registered under the signed key
/// commitment (and that commitment maps back to it), the capsule and the runtime are allowed,
/// and the account has access. Returns the commitment on chain.
fn check_rights(rights: &Rights, ask: &LicenceAsk, account: Address) -> Result<B256, Refusal> {
    let f = &ask.request.fields;
    let att = &ask.attestation;
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
    if rights.commitment_content != f.content_id {
        return Err(Refusal::CommitmentElsewhere {
            content: f.content_id,
            registered: rights.commitment_content,
        });
    }
    if !rights.renderer_allowed {
        return Err(Refusal::CapsuleNotAllowed(att.measurement));
    }
    if !rights.runtime_approved {
        return Err(Refusal::RuntimeNotApproved(att.runtime));
    }
    if !rights.has_access {
        return Err(Refusal::NoAccess {
            account,
            content: f.content_id,
            block: rights.block,
        });
    }
    Ok(on_chain)
}

/// The policy a grant carries: timed access plays until it ends, and every licence is to be
/// renewed within [`RENEW_INTERVAL`] of the block its rights were read at.
fn policy_for(account: Address, content_id: U256, rights: &Rights) -> LicencePolicy {
    let timed = rights.expires_at > rights.timestamp;
    let play_until = timed.then_some(rights.expires_at);
    LicencePolicy {
        account,
        content_id,
        access: if timed {
            AccessKind::Timed
        } else {
            AccessKind::Perpetual
        },
        play_until,
        renew_after: play_until
            .unwrap_or(u64::MAX)
            .min(rights.timestamp + RENEW_INTERVAL),
        issued_at: rights.timestamp,
        block_number: rights.block,
    }
}

//! `licence-net-client`: what a player host needs of the licence network, without the node
//! (a crate of its own so that the player does not compile the node's server, audit log or
//! dealer). The licence client asks every node in parallel and checks each answer before using
//! it; [`registry`] reads (and registers) the network in `LicenceNetworkRegistry`.
//!
//! - [`LicenceClient::gather`]: for a host that carries sealed shares to a capsule and does not
//!   hold the capsule's secret. Returns the first `threshold` responses that pass every check
//!   possible without that secret ([`check_envelope`]), the failures so far, and
//!   [`Gathered::rest`] to wait for the other nodes when the capsule finds a bad share.
//!
//! The host never opens a share: the capsule does ([`licence_net_protocol::recover_content_key`]).
//! Combining shares outside the capsule (`LicenceClient::request`, `Licence::content_key`) exists
//! only behind the test-only feature `host-combine` (module `host_combine`), which no shipping
//! crate enables; `licence-net/tests/it/surface.rs` checks that.

use std::collections::HashMap;
use std::time::Duration;

use futures::stream::{FuturesUnordered, StreamExt};
use licence_net_protocol::{
    check_envelope, Expected, GroupKey, LicenceAsk, LicenceResponse, ProtocolError, RefusalBody,
    ResponseFault, ShareFault,
};

#[cfg(feature = "host-combine")]
pub mod host_combine;
pub mod registry;

use crate::registry::{RegisteredNetwork, RegistryError};

/// Default time allowed to each node.
pub const DEFAULT_NODE_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest response body read from a node.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// What went wrong with one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeProblem {
    /// The node answered with a refusal.
    Refused { code: String, message: String },
    /// No answer (connection failed or timed out).
    Unreachable(String),
    /// An answer that is not a licence response.
    BadReply(String),
    /// A licence response that failed verification: this node sent a bad share or signature.
    Invalid(ResponseFault),
    /// A second answer for a node index already answered by another endpoint.
    Duplicate(u32),
}

impl std::fmt::Display for NodeProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Refused { code, message } => write!(f, "refused ({code}): {message}"),
            Self::Unreachable(why) => write!(f, "unreachable: {why}"),
            Self::BadReply(why) => write!(f, "unreadable reply: {why}"),
            Self::Invalid(fault) => write!(f, "invalid response: {fault}"),
            Self::Duplicate(i) => write!(f, "duplicate answer for node index {i}"),
        }
    }
}

/// One node's failure, named by its endpoint (and index when it gave one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeFailure {
    pub endpoint: String,
    pub node_index: Option<u32>,
    pub problem: NodeProblem,
}

impl std::fmt::Display for NodeFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.node_index {
            Some(i) => write!(f, "node {i} ({}): {}", self.endpoint, self.problem),
            None => write!(f, "{}: {}", self.endpoint, self.problem),
        }
    }
}

fn list(failures: &[NodeFailure]) -> String {
    failures
        .iter()
        .map(|f| format!("\n  - {f}"))
        .collect::<String>()
}

/// Why no licence was obtained.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("licence refused: {valid} valid shares of {needed} needed; {answered} of {asked} nodes answered{}", list(.failures))]
    NotEnough {
        needed: usize,
        valid: usize,
        answered: usize,
        asked: usize,
        failures: Vec<NodeFailure>,
    },
    #[error("the key ciphertext is not usable: {0}")]
    Ciphertext(ProtocolError),
    #[error("cannot build the HTTP client: {0}")]
    Http(String),
    #[error(transparent)]
    Registry(#[from] RegistryError),
}

/// Talks to the licence nodes.
#[derive(Debug, Clone)]
pub struct LicenceClient {
    endpoints: Vec<String>,
    group: GroupKey,
    http: reqwest::Client,
    #[cfg(feature = "host-combine")]
    pub(crate) ciphertexts: crate::host_combine::CiphertextCache,
}

enum Outcome {
    Response(String, Box<LicenceResponse>),
    Failure(NodeFailure),
}

/// Responses gathered for one request, checked as far as a host can without the capsule's
/// secret: each answers this request, is signed by the operator of the node it names, carries a
/// policy for this account and content, and is the only one for its node index. What is sealed
/// inside is for the capsule to check ([`recover_content_key`]).
///
/// Nodes not heard from yet keep running in the background until [`Gathered::rest`] collects
/// them or this value is dropped (which abandons them).
pub struct Gathered {
    /// Accepted responses, in arrival order; at least `needed` when returned by `gather`.
    pub responses: Vec<LicenceResponse>,
    /// Nodes that refused, could not be reached, sent something unusable, or (after
    /// [`Gathered::report`]) whose share the capsule found bad.
    pub failures: Vec<NodeFailure>,
    /// Shares needed to recover the key (the group's threshold).
    pub needed: usize,
    /// Nodes asked.
    pub asked: usize,
    answered: usize,
    endpoints: HashMap<u32, String>,
    pending: FuturesUnordered<tokio::task::JoinHandle<Outcome>>,
    group: GroupKey,
    pub(crate) expected: Expected,
}

impl std::fmt::Debug for Gathered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gathered")
            .field(
                "nodes",
                &self
                    .responses
                    .iter()
                    .map(|r| r.node_index)
                    .collect::<Vec<_>>(),
            )
            .field("failures", &self.failures)
            .field("outstanding", &self.pending.len())
            .finish_non_exhaustive()
    }
}

impl Drop for Gathered {
    fn drop(&mut self) {
        for task in self.pending.iter() {
            task.abort();
        }
    }
}

impl Gathered {
    /// Nodes that answered (with a response, refusal or bad reply) so far.
    pub fn answered(&self) -> usize {
        self.answered
    }

    /// Nodes not heard from yet.
    pub fn outstanding(&self) -> usize {
        self.pending.len()
    }

    /// The endpoint a node index answered from.
    pub fn endpoint_of(&self, node_index: u32) -> Option<&str> {
        self.endpoints.get(&node_index).map(String::as_str)
    }

    /// Waits for every node not heard from yet (each bounded by the client's node timeout) and
    /// returns how many responses were added to `responses`.
    pub async fn rest(&mut self) -> usize {
        let before = self.responses.len();
        while let Some(joined) = self.pending.next().await {
            self.accept(joined);
        }
        self.responses.len() - before
    }

    /// Records faults the capsule found in sealed shares: each becomes a named failure and its
    /// response is dropped from `responses`.
    pub fn report(&mut self, faults: &[ShareFault]) {
        for fault in faults {
            self.responses.retain(|r| r.node_index != fault.node_index);
            let failure = NodeFailure {
                endpoint: self
                    .endpoint_of(fault.node_index)
                    .unwrap_or_default()
                    .to_string(),
                node_index: Some(fault.node_index),
                problem: NodeProblem::Invalid(fault.fault.clone()),
            };
            if !self.failures.contains(&failure) {
                self.failures.push(failure);
            }
        }
    }

    pub(crate) fn not_enough(&mut self, valid: usize) -> ClientError {
        ClientError::NotEnough {
            needed: self.needed,
            valid,
            answered: self.answered,
            asked: self.asked,
            failures: std::mem::take(&mut self.failures),
        }
    }

    fn accept(&mut self, joined: Result<Outcome, tokio::task::JoinError>) {
        let (endpoint, response) = match joined {
            Ok(Outcome::Response(endpoint, r)) => (endpoint, r),
            Ok(Outcome::Failure(f)) => {
                if !matches!(f.problem, NodeProblem::Unreachable(_)) {
                    self.answered += 1;
                }
                self.failures.push(f);
                return;
            }
            Err(e) => {
                self.failures.push(NodeFailure {
                    endpoint: String::new(),
                    node_index: None,
                    problem: NodeProblem::Unreachable(format!("request task failed: {e}")),
                });
                return;
            }
        };
        self.answered += 1;
        let index = response.node_index;
        let problem = if self.endpoints.contains_key(&index) {
            Some(NodeProblem::Duplicate(index))
        } else {
            check_envelope(&self.group, &self.expected, &response)
                .err()
                .map(NodeProblem::Invalid)
        };
        match problem {
            Some(problem) => self.failures.push(NodeFailure {
                endpoint,
                node_index: Some(index),
                problem,
            }),
            None => {
                self.endpoints.insert(index, endpoint);
                self.responses.push(*response);
            }
        }
    }
}

impl LicenceClient {
    /// `endpoints`: base URLs of the nodes (`http://127.0.0.1:7400`).
    pub fn new(
        endpoints: Vec<String>,
        group: GroupKey,
        node_timeout: Duration,
    ) -> Result<Self, ClientError> {
        let http = reqwest::Client::builder()
            .timeout(node_timeout)
            .connect_timeout(node_timeout)
            .build()
            .map_err(|e| ClientError::Http(e.to_string()))?;
        Ok(Self {
            endpoints: endpoints
                .into_iter()
                .map(|e| e.trim_end_matches('/').to_string())
                .collect(),
            group,
            http,
            #[cfg(feature = "host-combine")]
            ciphertexts: Default::default(),
        })
    }

    /// A client for the network registered in `LicenceNetworkRegistry` of `deployment`: its
    /// endpoints and group key (public key set, threshold, operators) come from the chain, each
    /// read bounded by `node_timeout`.
    pub async fn from_registry<P: alloy::providers::Provider>(
        provider: &P,
        deployment: &contracts_bindings::Deployment,
        node_timeout: Duration,
    ) -> Result<Self, ClientError> {
        let network = RegisteredNetwork::read(provider, deployment, node_timeout).await?;
        let group = network.group_key()?;
        Self::new(network.endpoints(), group, node_timeout)
    }

    pub fn group(&self) -> &GroupKey {
        &self.group
    }

    pub fn endpoints(&self) -> &[String] {
        &self.endpoints
    }

    async fn ask_one(http: reqwest::Client, endpoint: String, body: bytes::Bytes) -> Outcome {
        let fail = |node_index, problem| {
            Outcome::Failure(NodeFailure {
                endpoint: endpoint.clone(),
                node_index,
                problem,
            })
        };
        let reply = match http
            .post(format!("{endpoint}/v1/licence"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
        {
            Ok(r) => r,
            Err(e) => return fail(None, NodeProblem::Unreachable(e.to_string())),
        };
        let status = reply.status();
        let bytes = match read_bounded(reply, MAX_RESPONSE_BYTES).await {
            Ok(b) => b,
            Err(BodyError::TooLarge) => {
                return fail(None, NodeProblem::BadReply("reply too large".into()))
            }
            Err(BodyError::Read(e)) => return fail(None, NodeProblem::Unreachable(e)),
        };
        if status.is_success() {
            match serde_json::from_slice::<LicenceResponse>(&bytes) {
                Ok(r) => Outcome::Response(endpoint.clone(), Box::new(r)),
                Err(e) => fail(None, NodeProblem::BadReply(e.to_string())),
            }
        } else {
            match serde_json::from_slice::<RefusalBody>(&bytes) {
                Ok(r) => fail(
                    Some(r.node_index),
                    NodeProblem::Refused {
                        code: r.code,
                        message: r.message,
                    },
                ),
                Err(_) => fail(None, NodeProblem::BadReply(format!("HTTP {status}"))),
            }
        }
    }

    /// Sends `ask` to every node at once and returns when `threshold` responses passed the
    /// checks a host can make without the capsule's secret ([`Gathered`]); fails closed, naming
    /// every node's problem, when every node answered or failed and fewer passed.
    pub async fn gather(&self, ask: &LicenceAsk) -> Result<Gathered, ClientError> {
        let body = bytes::Bytes::from(serde_json::to_vec(ask).expect("ask serializes"));
        let pending: FuturesUnordered<_> = self
            .endpoints
            .iter()
            .map(|e| tokio::spawn(Self::ask_one(self.http.clone(), e.clone(), body.clone())))
            .collect();
        let needed = self.group.threshold();
        let mut gathered = Gathered {
            responses: Vec::with_capacity(self.endpoints.len()),
            failures: Vec::new(),
            needed,
            asked: self.endpoints.len(),
            answered: 0,
            endpoints: HashMap::new(),
            pending,
            group: self.group.clone(),
            expected: Expected::of(ask),
        };
        while gathered.responses.len() < needed {
            match gathered.pending.next().await {
                Some(joined) => gathered.accept(joined),
                None => {
                    let valid = gathered.responses.len();
                    return Err(gathered.not_enough(valid));
                }
            }
        }
        Ok(gathered)
    }
}

/// How long a request made by [`sign_ask`] stays valid.
pub const REQUEST_LIFETIME_SECS: u64 = 120;

/// Builds a licence request as a player runtime does: a fresh capsule key, the runtime key's
/// attestation of `measurement` for it, and the wallet's EIP-712 signature over the request for
/// `content_id` and its key ciphertext on the deployment's chain and Access contract.
pub fn sign_ask(
    wallet: &k256::ecdsa::SigningKey,
    runtime: &k256::ecdsa::SigningKey,
    measurement: licence_net_protocol::B256,
    deployment: &contracts_bindings::Deployment,
    content_id: licence_net_protocol::U256,
    key_ciphertext: Vec<u8>,
) -> Result<(LicenceAsk, licence_net_protocol::CapsuleSecret), ProtocolError> {
    use licence_net_protocol::{
        key_commitment, Attestation, CapsuleSecret, OpenShare, RequestFields, B256,
    };
    let capsule = CapsuleSecret::generate();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let attestation = Attestation::sign(runtime, measurement, capsule.public_key(), now)?;
    let mut nonce = [0u8; 32];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut nonce);
    let fields = RequestFields {
        chain_id: deployment.chain_id,
        access_contract: deployment.contracts.access,
        content_id,
        key_commitment: key_commitment(&key_ciphertext),
        capsule_key: capsule.public_key(),
        attestation_hash: attestation.hash(),
        nonce: B256::from(nonce),
        expiry: now + REQUEST_LIFETIME_SECS,
    };
    let ask = LicenceAsk {
        request: fields.sign(wallet)?,
        attestation,
        key_ciphertext: key_ciphertext.into(),
    };
    Ok((ask, capsule))
}

enum BodyError {
    TooLarge,
    Read(String),
}

/// Reads a reply body chunk by chunk and gives up as soon as it passes `limit` bytes, whether
/// or not the reply announced its length (a chunked reply has none), so that a node cannot make
/// the client buffer more than `limit` bytes.
async fn read_bounded(mut reply: reqwest::Response, limit: usize) -> Result<Vec<u8>, BodyError> {
    if reply.content_length().is_some_and(|n| n > limit as u64) {
        return Err(BodyError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = reply
        .chunk()
        .await
        .map_err(|e| BodyError::Read(e.to_string()))?
    {
        if body.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// A server on 127.0.0.1:0 whose reply is chunked (no content length) and would go on for
    /// 256 MiB; returns its URL and the number of bytes it has produced so far.
    async fn streaming_server() -> (String, Arc<AtomicUsize>) {
        const CHUNK: usize = 16 * 1024;
        const TOTAL: usize = 256 * 1024 * 1024;
        let produced = Arc::new(AtomicUsize::new(0));
        let counter = produced.clone();
        let app = axum::Router::new().route(
            "/big",
            axum::routing::get(move || {
                let counter = counter.clone();
                async move {
                    let chunks = futures::stream::iter(0..TOTAL / CHUNK).map(move |_| {
                        counter.fetch_add(CHUNK, Ordering::Relaxed);
                        Ok::<_, std::convert::Infallible>(bytes::Bytes::from(vec![b'x'; CHUNK]))
                    });
                    axum::body::Body::from_stream(chunks)
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/big", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (url, produced)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_chunked_reply_is_cut_off_at_the_limit_while_streaming() {
        let (url, produced) = streaming_server().await;
        let reply = reqwest::Client::new().get(&url).send().await.unwrap();
        assert_eq!(reply.content_length(), None, "the reply must be chunked");
        let outcome = read_bounded(reply, MAX_RESPONSE_BYTES).await;
        assert!(matches!(outcome, Err(BodyError::TooLarge)));
        // The client stopped reading: the server produced only what fits in the socket
        // buffers past the limit, far from the 256 MiB it would send to a reader that waits
        // for the end.
        let sent = produced.load(Ordering::Relaxed);
        assert!(sent < 32 * 1024 * 1024, "{sent} bytes produced");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_reply_within_the_limit_is_read_whole() {
        let app = axum::Router::new().route("/small", axum::routing::get(|| async { "{\"a\":1}" }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/small", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let reply = reqwest::Client::new().get(&url).send().await.unwrap();
        let body = read_bounded(reply, MAX_RESPONSE_BYTES).await.ok().unwrap();
        assert_eq!(body, b"{\"a\":1}");
    }
}

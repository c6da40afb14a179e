//! The licence client (used by the player host): asks every node in parallel, verifies each
//! answer before using it, and returns as soon as the group's threshold of valid shares arrived.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use futures::stream::{FuturesUnordered, StreamExt};
use licence_net_protocol::threshold_crypto::{Ciphertext, DecryptionShare};
use licence_net_protocol::{
    combine_shares, decode_ciphertext, GroupKey, LicenceAsk, LicencePolicy, LicenceResponse,
    OpenShare, ProtocolError, ResponseFault,
};
use zeroize::Zeroizing;

use crate::node::RefusalBody;

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
}

/// A licence: enough verified shares to recover the content key, the most restrictive policy
/// among them, and what went wrong with the other nodes heard from so far.
pub struct Licence {
    pub shares: Vec<(usize, DecryptionShare)>,
    pub responses: Vec<LicenceResponse>,
    pub policy: LicencePolicy,
    pub failures: Vec<NodeFailure>,
    ciphertext: Arc<Ciphertext>,
}

impl std::fmt::Debug for Licence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Licence")
            .field(
                "nodes",
                &self.shares.iter().map(|s| s.0).collect::<Vec<_>>(),
            )
            .field("policy", &self.policy)
            .field("failures", &self.failures)
            .finish_non_exhaustive()
    }
}

impl Licence {
    /// Combines the shares into the content key (inside the capsule).
    pub fn content_key(&self, group: &GroupKey) -> Result<Zeroizing<Vec<u8>>, ProtocolError> {
        combine_shares(group, &self.ciphertext, &self.shares)
    }
}

/// Talks to the licence nodes.
#[derive(Debug, Clone)]
pub struct LicenceClient {
    endpoints: Vec<String>,
    group: GroupKey,
    http: reqwest::Client,
}

enum Outcome {
    Response(String, Box<LicenceResponse>),
    Failure(NodeFailure),
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
        })
    }

    pub fn group(&self) -> &GroupKey {
        &self.group
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
        if reply
            .content_length()
            .is_some_and(|n| n as usize > MAX_RESPONSE_BYTES)
        {
            return fail(None, NodeProblem::BadReply("reply too large".into()));
        }
        let bytes = match reply.bytes().await {
            Ok(b) if b.len() <= MAX_RESPONSE_BYTES => b,
            Ok(_) => return fail(None, NodeProblem::BadReply("reply too large".into())),
            Err(e) => return fail(None, NodeProblem::Unreachable(e.to_string())),
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

    /// Sends `ask` to every node at once and returns when `threshold` verified shares arrived.
    /// `opener` holds the capsule key the shares are sealed to.
    pub async fn request(
        &self,
        ask: &LicenceAsk,
        opener: &(dyn OpenShare + Sync),
    ) -> Result<Licence, ClientError> {
        self.collect(ask, opener, true).await
    }

    /// Like [`LicenceClient::request`] but waits for every node (each bounded by the node
    /// timeout), so that `failures` names every node that refused, sent a bad share or did not
    /// answer: for diagnostics and monitoring. The licence uses the first `threshold` valid
    /// shares.
    pub async fn request_all(
        &self,
        ask: &LicenceAsk,
        opener: &(dyn OpenShare + Sync),
    ) -> Result<Licence, ClientError> {
        self.collect(ask, opener, false).await
    }

    async fn collect(
        &self,
        ask: &LicenceAsk,
        opener: &(dyn OpenShare + Sync),
        stop_early: bool,
    ) -> Result<Licence, ClientError> {
        let ciphertext = decode_ciphertext(&ask.key_ciphertext).map_err(ClientError::Ciphertext)?;
        let fields = &ask.request.fields;
        let request_hash = ask.request.request_hash();
        let body = bytes::Bytes::from(serde_json::to_vec(ask).expect("ask serializes"));
        let needed = self.group.threshold();
        let mut pending: FuturesUnordered<_> = self
            .endpoints
            .iter()
            .map(|e| Self::ask_one(self.http.clone(), e.clone(), body.clone()))
            .collect();
        let mut shares: Vec<(usize, DecryptionShare)> = Vec::with_capacity(needed);
        let mut responses = Vec::with_capacity(needed);
        let mut failures = Vec::new();
        let mut answered = 0;
        let ciphertext = Arc::new(ciphertext);
        let group = Arc::new(self.group.clone());
        // The pairing checks (signature and decryption share, ~16 ms per response) run on
        // blocking threads, in parallel, while other answers keep arriving.
        let mut checks = FuturesUnordered::new();
        let mut seen: HashSet<u32> = HashSet::new();
        let mut queued = VecDeque::new();
        loop {
            if stop_early && shares.len() >= needed {
                break;
            }
            // Only as many checks run as shares are still missing: on two cores, checking
            // surplus answers would only slow down the ones needed.
            while shares.len() + checks.len() < needed || !stop_early {
                let Some((endpoint, response, share)) = queued.pop_front() else {
                    break;
                };
                checks.push(spawn_check(&group, &ciphertext, endpoint, response, share));
            }
            tokio::select! {
                Some(outcome) = pending.next(), if !pending.is_empty() => {
                    let (endpoint, response) = match outcome {
                        Outcome::Failure(f) => {
                            if !matches!(f.problem, NodeProblem::Unreachable(_)) {
                                answered += 1;
                            }
                            failures.push(f);
                            continue;
                        }
                        Outcome::Response(endpoint, r) => (endpoint, r),
                    };
                    answered += 1;
                    let index = response.node_index;
                    let fail = |endpoint, problem| NodeFailure {
                        endpoint,
                        node_index: Some(index),
                        problem,
                    };
                    if !seen.insert(index) {
                        failures.push(fail(endpoint, NodeProblem::Duplicate(index)));
                        continue;
                    }
                    // Cheap checks here; what needs the capsule's key (opening) too.
                    let opened = if response.request_hash != request_hash {
                        Err(ResponseFault::WrongRequest)
                    } else if index as usize >= group.nodes() {
                        Err(ResponseFault::UnknownNode)
                    } else if response.policy.account != ask.request.account
                        || response.policy.content_id != fields.content_id
                    {
                        Err(ResponseFault::WrongPolicy)
                    } else {
                        opener.open(&response)
                    };
                    let share = match opened {
                        Ok(share) => share,
                        Err(fault) => {
                            failures.push(fail(endpoint, NodeProblem::Invalid(fault)));
                            continue;
                        }
                    };
                    queued.push_back((endpoint, response, share));
                }
                Some(done) = checks.next(), if !checks.is_empty() => match done {
                    Ok(Ok((response, share))) => {
                        if shares.len() < needed {
                            shares.push((response.node_index as usize, share));
                            responses.push(*response);
                        }
                    }
                    Ok(Err(failure)) => failures.push(failure),
                    Err(e) => failures.push(NodeFailure {
                        endpoint: String::new(),
                        node_index: None,
                        problem: NodeProblem::BadReply(format!("verification task failed: {e}")),
                    }),
                },
                else => {
                    if queued.is_empty() {
                        break;
                    }
                }
            }
        }
        if shares.len() < needed {
            return Err(ClientError::NotEnough {
                needed,
                valid: shares.len(),
                answered,
                asked: self.endpoints.len(),
                failures,
            });
        }
        let policy = most_restrictive(&responses);
        Ok(Licence {
            shares,
            responses,
            policy,
            failures,
            ciphertext,
        })
    }
}

type Checked = Result<(Box<LicenceResponse>, DecryptionShare), NodeFailure>;

/// Checks a response's signature and decryption share (pairings) on a blocking thread.
fn spawn_check(
    group: &Arc<GroupKey>,
    ciphertext: &Arc<Ciphertext>,
    endpoint: String,
    response: Box<LicenceResponse>,
    share: DecryptionShare,
) -> tokio::task::JoinHandle<Checked> {
    let (g, ct) = (group.clone(), ciphertext.clone());
    tokio::task::spawn_blocking(move || {
        let index = response.node_index;
        // The node's BLS signature is not checked here: the share check ties the share to the
        // node's key, and the policy is bound by the sealing AEAD (PROTOCOL.md). The signature
        // stays in the response for anyone who needs the node's statement later.
        let fault = (!g
            .public_key_set()
            .public_key_share(index as usize)
            .verify_decryption_share(&share, &ct))
        .then_some(ResponseFault::InvalidShare);
        match fault {
            None => Ok((response, share)),
            Some(f) => Err(NodeFailure {
                endpoint,
                node_index: Some(index),
                problem: NodeProblem::Invalid(f),
            }),
        }
    })
}

/// The policy that ends first among the responses used.
fn most_restrictive(responses: &[LicenceResponse]) -> LicencePolicy {
    let mut policy = responses[0].policy.clone();
    for r in &responses[1..] {
        let p = &r.policy;
        policy.renew_after = policy.renew_after.min(p.renew_after);
        policy.play_until = match (policy.play_until, p.play_until) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if p.play_until.is_some() {
            policy.access = p.access;
        }
        policy.issued_at = policy.issued_at.min(p.issued_at);
        policy.block_number = policy.block_number.min(p.block_number);
    }
    policy
}

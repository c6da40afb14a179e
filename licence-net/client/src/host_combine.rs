//! TEST-ONLY: combining licence shares outside the capsule (feature `host-combine`).
//!
//! A shipping build has no code path that opens a share or holds a content key outside the
//! player capsule: the host relays sealed responses ([`LicenceClient::gather`]) and the capsule
//! opens, verifies and combines them. Tests and benchmarks of the licence network itself need to
//! check that the shares they get really decrypt the content key without loading a capsule; this
//! module gives them that, and only crates' `[dev-dependencies]` may enable it (a test over
//! `cargo metadata` fails if a normal dependency does).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use licence_net_protocol::threshold_crypto::DecryptionShare;
use licence_net_protocol::{
    combine_checked, combine_shares, open_unverified, verify_share, Address, GroupKey, LicenceAsk,
    LicencePolicy, LicenceResponse, OpenShare, PreparedCiphertext, ProtocolError, Recovered,
    RecoveryError, ShareFault,
};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::{ClientError, Gathered, LicenceClient, NodeFailure};

/// Verified and prepared key ciphertexts kept by a client (preparing one costs pairings).
const CIPHERTEXT_CACHE: usize = 256;

/// Prepared ciphertexts by SHA-256 of (label, bytes).
pub(crate) type CiphertextCache = Arc<Mutex<HashMap<[u8; 32], Arc<PreparedCiphertext>>>>;

/// A licence: enough verified shares to recover the content key, the most restrictive policy
/// among them, and what went wrong with the other nodes heard from so far.
pub struct Licence {
    pub shares: Vec<(usize, DecryptionShare)>,
    pub responses: Vec<LicenceResponse>,
    pub policy: LicencePolicy,
    pub failures: Vec<NodeFailure>,
    ciphertext: Arc<PreparedCiphertext>,
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
    /// Combines the shares into the content key: outside any capsule, so for tests only.
    pub fn content_key(&self, group: &GroupKey) -> Result<Zeroizing<Vec<u8>>, ProtocolError> {
        combine_shares(group, self.ciphertext.ciphertext(), &self.shares)
    }
}

impl LicenceClient {
    /// Gathers responses and recovers the content key with the capsule's key (`opener`): opens
    /// and verifies the first `threshold` shares and combines them; when one is bad, it is named
    /// and the other nodes' responses are awaited and used instead.
    pub async fn request(
        &self,
        ask: &LicenceAsk,
        creator: &Address,
        opener: &(dyn OpenShare + Sync),
    ) -> Result<Licence, ClientError> {
        self.gather_and_recover(ask, creator, opener, false).await
    }

    /// Like [`LicenceClient::request`] but waits for every node (each bounded by the node
    /// timeout) and checks every share, so that `failures` names every node that refused, sent a
    /// bad share or did not answer: for diagnostics and monitoring. The licence uses the first
    /// `threshold` valid shares.
    pub async fn request_all(
        &self,
        ask: &LicenceAsk,
        creator: &Address,
        opener: &(dyn OpenShare + Sync),
    ) -> Result<Licence, ClientError> {
        self.gather_and_recover(ask, creator, opener, true).await
    }

    async fn gather_and_recover(
        &self,
        ask: &LicenceAsk,
        creator: &Address,
        opener: &(dyn OpenShare + Sync),
        every_node: bool,
    ) -> Result<Licence, ClientError> {
        let ciphertext = self.ciphertext(&ask.key_ciphertext, creator)?;
        let mut gathered = self.gather(ask).await?;
        if every_node {
            gathered.rest().await;
        }
        self.recover(&mut gathered, &ciphertext, opener, every_node)
            .await
    }

    /// The decoded key ciphertext, its validity checked for `creator` once per ciphertext.
    fn ciphertext(
        &self,
        bytes: &[u8],
        creator: &Address,
    ) -> Result<Arc<PreparedCiphertext>, ClientError> {
        let id: [u8; 32] = Sha256::new()
            .chain_update(creator)
            .chain_update(bytes)
            .finalize()
            .into();
        let mut cache = self.ciphertexts.lock().expect("cache lock");
        if let Some(ct) = cache.get(&id) {
            return Ok(ct.clone());
        }
        let ct =
            Arc::new(PreparedCiphertext::decode(bytes, creator).map_err(ClientError::Ciphertext)?);
        if cache.len() >= CIPHERTEXT_CACHE {
            cache.clear();
        }
        cache.insert(id, ct.clone());
        Ok(ct)
    }

    async fn recover(
        &self,
        gathered: &mut Gathered,
        ciphertext: &Arc<PreparedCiphertext>,
        opener: &(dyn OpenShare + Sync),
        check_all: bool,
    ) -> Result<Licence, ClientError> {
        let mut tried_rest = false;
        loop {
            // Opening is cheap (X25519 + AES-GCM) and needs the capsule's key; the pairing
            // checks and the combination run on a blocking thread.
            let mut opened = Vec::with_capacity(gathered.responses.len());
            let mut faults = Vec::new();
            for r in &gathered.responses {
                match open_unverified(self.group(), &gathered.expected, r, opener) {
                    Ok(share) => opened.push((r.node_index, share)),
                    Err(fault) => faults.push(ShareFault {
                        node_index: r.node_index,
                        fault,
                    }),
                }
            }
            let (group, ct) = (self.group().clone(), ciphertext.clone());
            let checked = tokio::task::spawn_blocking(move || {
                if check_all {
                    check_each(&group, &ct, opened)
                } else {
                    combine_checked(&group, &ct, &opened)
                }
            })
            .await
            .map_err(|e| ClientError::Http(format!("share verification task failed: {e}")))?;
            gathered.report(&faults);
            match checked {
                Ok(recovered) => {
                    gathered.report(&recovered.faults);
                    let responses: Vec<LicenceResponse> = recovered
                        .shares
                        .iter()
                        .filter_map(|(i, _)| {
                            gathered
                                .responses
                                .iter()
                                .find(|r| r.node_index as usize == *i)
                                .cloned()
                        })
                        .collect();
                    return Ok(Licence {
                        policy: most_restrictive(&responses),
                        shares: recovered.shares,
                        responses,
                        failures: std::mem::take(&mut gathered.failures),
                        ciphertext: ciphertext.clone(),
                    });
                }
                Err(e) => {
                    gathered.report(&e.faults);
                    if tried_rest || gathered.outstanding() == 0 {
                        return Err(gathered.not_enough(e.valid));
                    }
                    tried_rest = true;
                    gathered.rest().await;
                }
            }
        }
    }
}

/// Verifies every opened share (naming each bad one), then combines the first valid ones.
fn check_each(
    group: &GroupKey,
    ciphertext: &PreparedCiphertext,
    opened: Vec<(u32, DecryptionShare)>,
) -> Result<Recovered, RecoveryError> {
    let mut faults = Vec::new();
    let mut valid = Vec::with_capacity(opened.len());
    for (index, share) in opened {
        match verify_share(group, ciphertext, index, &share) {
            Ok(()) => valid.push((index, share)),
            Err(fault) => faults.push(ShareFault {
                node_index: index,
                fault,
            }),
        }
    }
    let mut rec = combine_checked(group, ciphertext, &valid)?;
    faults.append(&mut rec.faults);
    rec.faults = faults;
    Ok(rec)
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

//! Turning checked shares into the content key, inside the capsule: combine, verify the
//! combination against the group's master key (or each share against its node's key), and name
//! any node whose share was bad.

use super::*;

/// One response the capsule could not use, by node index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareFault {
    pub node_index: u32,
    pub fault: ResponseFault,
}

impl std::fmt::Display for ShareFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "node {}: {}", self.node_index, self.fault)
    }
}

/// The content key recovered from responses, the shares used and the faulty responses met.
pub struct Recovered {
    pub key: Zeroizing<Vec<u8>>,
    pub shares: Vec<(usize, DecryptionShare)>,
    pub faults: Vec<ShareFault>,
}

impl std::fmt::Debug for Recovered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recovered")
            .field(
                "nodes",
                &self.shares.iter().map(|s| s.0).collect::<Vec<_>>(),
            )
            .field("faults", &self.faults)
            .finish_non_exhaustive()
    }
}

/// Too few usable responses; `faults` names each node whose response was bad.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{valid} valid shares of {needed} needed{}", faults.iter().map(|f| format!("; {f}")).collect::<String>())]
pub struct RecoveryError {
    pub valid: usize,
    pub needed: usize,
    pub faults: Vec<ShareFault>,
}

/// Capsule side: opens, verifies and combines shares from `responses` (one per node index; any
/// extra responses are spares) into the content key. A bad share is named in `faults` and
/// skipped; no unverified share ever contributes to the key.
pub fn recover_content_key(
    group: &GroupKey,
    ciphertext: &PreparedCiphertext,
    expected: &Expected,
    responses: &[LicenceResponse],
    opener: &dyn OpenShare,
) -> Result<Recovered, RecoveryError> {
    let mut opened = Vec::with_capacity(responses.len());
    let mut faults = Vec::new();
    for r in responses {
        if opened.iter().any(|(i, _)| *i == r.node_index) {
            continue;
        }
        match open_unverified(group, expected, r, opener) {
            Ok(share) => opened.push((r.node_index, share)),
            Err(fault) => faults.push(ShareFault {
                node_index: r.node_index,
                fault,
            }),
        }
    }
    match combine_checked(group, ciphertext, &opened) {
        Ok(mut rec) => {
            faults.append(&mut rec.faults);
            rec.faults = faults;
            Ok(rec)
        }
        Err(mut e) => {
            faults.append(&mut e.faults);
            e.faults = faults;
            Err(e)
        }
    }
}

/// Combines opened shares (by node index, distinct) into the content key. The first `threshold`
/// are combined and the result is checked against the group's master key (one pairing check);
/// only when that fails is each share checked on its own, the bad ones named and the first
/// `threshold` valid ones combined. No key is returned that did not pass a check. Needs no
/// secret, so it can run anywhere (a blocking thread).
pub fn combine_checked(
    group: &GroupKey,
    ciphertext: &PreparedCiphertext,
    opened: &[(u32, DecryptionShare)],
) -> Result<Recovered, RecoveryError> {
    let needed = group.threshold();
    let first: Vec<(usize, DecryptionShare)> = opened
        .iter()
        .take(needed)
        .map(|(i, s)| (*i as usize, s.clone()))
        .collect();
    if first.len() == needed
        && ciphertext.verify_combined(&group.public_key_set().public_key(), &first)
    {
        if let Ok(key) = combine_shares(group, ciphertext.ciphertext(), &first) {
            return Ok(Recovered {
                key,
                shares: first,
                faults: Vec::new(),
            });
        }
    }
    let mut shares = Vec::with_capacity(needed);
    let mut faults = Vec::new();
    for (index, share) in opened {
        if shares.len() == needed {
            break;
        }
        match verify_share(group, ciphertext, *index, share) {
            Ok(()) => shares.push((*index as usize, share.clone())),
            Err(fault) => faults.push(ShareFault {
                node_index: *index,
                fault,
            }),
        }
    }
    if shares.len() < needed {
        return Err(RecoveryError {
            valid: shares.len(),
            needed,
            faults,
        });
    }
    match combine_shares(group, ciphertext.ciphertext(), &shares) {
        Ok(key) => Ok(Recovered {
            key,
            shares,
            faults,
        }),
        Err(_) => Err(RecoveryError {
            valid: 0,
            needed,
            faults,
        }),
    }
}

/// Combines verified decryption shares (at least the group's threshold, by node index) into the
/// plaintext: the content key.
pub fn combine_shares(
    group: &GroupKey,
    ciphertext: &Ciphertext,
    shares: &[(usize, DecryptionShare)],
) -> Result<Zeroizing<Vec<u8>>, ProtocolError> {
    if shares.len() < group.threshold() {
        return Err(ProtocolError::NotEnoughShares {
            have: shares.len(),
            need: group.threshold(),
        });
    }
    group
        .public_key_set()
        .decrypt(shares.iter().map(|(i, s)| (*i, s)), ciphertext)
        .map(Zeroizing::new)
        .map_err(|_| ProtocolError::Combine)
}

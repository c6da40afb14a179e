//! Replay protection: which `(account, nonce)` pairs a node has seen, for as long as a request
//! carrying them could still be accepted, and the answer it gave to each.
//!
//! A request is accepted only while `now < expiry ≤ now + MAX_REQUEST_LIFETIME`, so a nonce has
//! to be remembered until `expiry + MAX_CLOCK_SKEW` and never longer. Entries are grouped in
//! buckets of [`BUCKET_SECONDS`] by that deadline: expiring is dropping whole buckets from the
//! front (no scan of live entries, whatever their number), and a lookup visits at most
//! [`MAX_BUCKETS`] hash maps. Memory is bounded by [`ReplayStore::new`]'s `max_entries`: when the
//! store is full a *new* nonce is refused ([`Seen::Full`]) until the oldest bucket expires. It
//! never forgets a live nonce, since that would open a replay window; the per-peer, global and
//! per-account rate limits in front of it are what keep honest traffic from filling it
//! (entries ≤ accepted requests per second × `MAX_REQUEST_LIFETIME + MAX_CLOCK_SKEW`).
//!
//! An identical resend (same request hash) is not a replay: it is the same signed request, its
//! answer is sealed to the same capsule key and useless to anyone else. So that a relay or a
//! node that forwards a request first cannot burn its nonce, the store keeps the granted
//! response of each live request (at most `max_responses` of them) and hands it back on an
//! identical resend; only a *different* request under a used nonce is a replay.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use licence_net_protocol::{Address, B256, MAX_CLOCK_SKEW, MAX_REQUEST_LIFETIME};

/// Width of a bucket, in seconds.
pub const BUCKET_SECONDS: u64 = 30;
/// Most buckets alive at once: deadlines lie in `(now, now + lifetime + skew]`.
pub const MAX_BUCKETS: usize =
    ((MAX_REQUEST_LIFETIME + MAX_CLOCK_SKEW) / BUCKET_SECONDS) as usize + 2;

/// What the store knows of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen<R> {
    /// A nonce never seen: it is now recorded.
    Fresh,
    /// The same request again; with the answer it got, if it was granted and kept.
    Identical(Option<Arc<R>>),
    /// Another request under a nonce already used.
    Replayed,
    /// A new nonce, but the store is full: refused without recording it.
    Full,
}

#[derive(Debug)]
struct Entry<R> {
    request_hash: B256,
    response: Option<Arc<R>>,
}

#[derive(Debug)]
struct Bucket<R> {
    entries: HashMap<(Address, B256), Entry<R>>,
    responses: usize,
}

#[derive(Debug)]
struct Ring<R> {
    /// By bucket number (deadline / BUCKET_SECONDS).
    buckets: BTreeMap<u64, Bucket<R>>,
    entries: usize,
    responses: usize,
}

impl<R> Default for Bucket<R> {
    fn default() -> Self {
        Self {
            entries: HashMap::new(),
            responses: 0,
        }
    }
}

impl<R> Ring<R> {
    /// Drops every bucket whose deadlines have all passed; returns them so that they are freed
    /// outside the lock.
    fn expire(&mut self, now: u64) -> Vec<Bucket<R>> {
        let mut dropped = Vec::new();
        while let Some(entry) = self.buckets.first_entry() {
            if (entry.key() + 1) * BUCKET_SECONDS > now {
                break;
            }
            let bucket = entry.remove();
            self.entries -= bucket.entries.len();
            self.responses -= bucket.responses;
            dropped.push(bucket);
        }
        dropped
    }

    fn find_mut(&mut self, key: &(Address, B256)) -> Option<(&mut Entry<R>, &mut usize)> {
        self.buckets.values_mut().find_map(|b| {
            let Bucket { entries, responses } = b;
            entries.get_mut(key).map(|e| (e, responses))
        })
    }
}

/// Sizes, for tests and monitoring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayStats {
    pub entries: usize,
    pub responses: usize,
    /// Entries in each live bucket, oldest first.
    pub bucket_sizes: Vec<usize>,
}

/// The nonces of live requests, in time buckets.
#[derive(Debug)]
pub struct ReplayStore<R> {
    ring: Mutex<Ring<R>>,
    max_entries: usize,
    max_responses: usize,
}

fn bucket_of(expiry: u64) -> u64 {
    expiry.saturating_add(MAX_CLOCK_SKEW) / BUCKET_SECONDS
}

impl<R> ReplayStore<R> {
    /// At most `max_entries` nonces and `max_responses` kept responses.
    pub fn new(max_entries: usize, max_responses: usize) -> Self {
        Self {
            ring: Mutex::new(Ring {
                buckets: BTreeMap::new(),
                entries: 0,
                responses: 0,
            }),
            max_entries,
            max_responses,
        }
    }

    /// Looks `(account, nonce)` up at `now` and records it when fresh.
    pub fn check(
        &self,
        account: Address,
        nonce: B256,
        request_hash: B256,
        expiry: u64,
        now: u64,
    ) -> Seen<R> {
        let dropped;
        let seen = {
            let mut ring = self.ring.lock().unwrap_or_else(|p| p.into_inner());
            dropped = ring.expire(now);
            let key = (account, nonce);
            let known = ring
                .buckets
                .values()
                .find_map(|b| b.entries.get(&key))
                .map(|e| (e.request_hash == request_hash, e.response.clone()));
            match known {
                Some((true, response)) => Seen::Identical(response),
                Some((false, _)) => Seen::Replayed,
                None if ring.entries >= self.max_entries => Seen::Full,
                None => {
                    ring.buckets
                        .entry(bucket_of(expiry))
                        .or_default()
                        .entries
                        .insert(
                            key,
                            Entry {
                                request_hash,
                                response: None,
                            },
                        );
                    ring.entries += 1;
                    Seen::Fresh
                }
            }
        };
        drop(dropped);
        seen
    }

    /// Records a nonce read back from the audit log at start (the first record of a pair wins).
    pub fn restore(
        &self,
        account: Address,
        nonce: B256,
        request_hash: B256,
        expiry: u64,
        now: u64,
    ) {
        if expiry.saturating_add(MAX_CLOCK_SKEW) < now {
            return;
        }
        // A full store while restoring keeps the older entries; start-up never fails on it.
        let _ = self.check(account, nonce, request_hash, expiry, now);
    }

    /// Keeps the granted answer to a recorded request, for identical resends (not past
    /// `max_responses`).
    pub fn keep_response(
        &self,
        account: Address,
        nonce: B256,
        request_hash: B256,
        response: Arc<R>,
    ) {
        let mut ring = self.ring.lock().unwrap_or_else(|p| p.into_inner());
        if ring.responses >= self.max_responses {
            return;
        }
        let mut added = false;
        if let Some((e, bucket_responses)) = ring.find_mut(&(account, nonce)) {
            if e.request_hash == request_hash && e.response.is_none() {
                e.response = Some(response);
                *bucket_responses += 1;
                added = true;
            }
        }
        if added {
            ring.responses += 1;
        }
    }

    pub fn stats(&self) -> ReplayStats {
        let ring = self.ring.lock().unwrap_or_else(|p| p.into_inner());
        ReplayStats {
            entries: ring.entries,
            responses: ring.responses,
            bucket_sizes: ring.buckets.values().map(|b| b.entries.len()).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(i: u64) -> Address {
        let mut b = [0u8; 20];
        b[12..].copy_from_slice(&i.to_be_bytes());
        Address::from(b)
    }

    fn word(i: u64) -> B256 {
        B256::from(licence_net_protocol::U256::from(i))
    }

    #[test]
    fn a_flood_of_fresh_accounts_stays_in_bounded_buckets_that_expire_whole() {
        let store = ReplayStore::<String>::new(150_000, 10);
        let t0 = 1_000_000u64;
        // 100,000 fresh wallets, one request each within a minute, expiries spread over the
        // whole lifetime: none has expired by the end.
        for i in 0..100_000u64 {
            let now = t0 + i * 60 / 100_000;
            let expiry = now + 1 + (i * 7919) % MAX_REQUEST_LIFETIME;
            assert_eq!(
                store.check(addr(i), word(i), word(i), expiry, now),
                Seen::Fresh
            );
        }
        let stats = store.stats();
        assert_eq!(stats.entries, 100_000);
        assert!(
            stats.bucket_sizes.len() <= MAX_BUCKETS,
            "{:?}",
            stats.bucket_sizes
        );
        assert_eq!(stats.bucket_sizes.iter().sum::<usize>(), 100_000);
        // Every nonce is still refused under another request, and an identical resend is known.
        let expiry7 = t0 + 1 + 7 * 7919 % MAX_REQUEST_LIFETIME;
        assert_eq!(
            store.check(addr(7), word(7), word(1), expiry7, t0 + 60),
            Seen::Replayed
        );
        assert_eq!(
            store.check(addr(7), word(7), word(7), expiry7, t0 + 60),
            Seen::Identical(None)
        );
        // Half-way through, the buckets whose deadlines passed are gone, whole.
        let mid = t0 + 200;
        store.check(addr(0), word(0), word(0), t0 + 1, mid);
        let stats = store.stats();
        assert!(stats.entries < 100_000 && stats.entries > 0, "{stats:?}");
        assert!(stats.bucket_sizes.len() < MAX_BUCKETS);
        // Once every deadline has passed, all buckets are gone.
        let later = t0 + 60 + MAX_REQUEST_LIFETIME + MAX_CLOCK_SKEW + BUCKET_SECONDS + 1;
        assert_eq!(
            store.check(addr(1), word(1), word(1), later + 10, later),
            Seen::Fresh
        );
        assert_eq!(store.stats().entries, 1);
        assert_eq!(store.stats().bucket_sizes.len(), 1);
    }

    #[test]
    fn a_full_store_refuses_new_nonces_and_keeps_live_ones() {
        let store = ReplayStore::<String>::new(3, 10);
        let now = 5_000u64;
        for i in 0..3 {
            assert_eq!(
                store.check(addr(i), word(i), word(i), now + 100, now),
                Seen::Fresh
            );
        }
        assert_eq!(
            store.check(addr(9), word(9), word(9), now + 100, now),
            Seen::Full
        );
        assert_eq!(
            store.check(addr(0), word(0), word(5), now + 100, now),
            Seen::Replayed
        );
        assert_eq!(store.stats().entries, 3);
        // Not recorded: once the store has room, the same request is fresh.
        let later = now + 100 + MAX_CLOCK_SKEW + BUCKET_SECONDS;
        assert_eq!(
            store.check(addr(9), word(9), word(9), later + 100, later),
            Seen::Fresh
        );
    }

    #[test]
    fn kept_responses_are_bounded_and_only_for_the_same_request() {
        let store = ReplayStore::<String>::new(10, 1);
        let now = 5_000u64;
        let response = Arc::new("sealed answer".to_string());
        for i in 0..2 {
            assert_eq!(
                store.check(addr(i), word(i), word(i), now + 100, now),
                Seen::Fresh
            );
        }
        // Not for another request hash.
        store.keep_response(addr(0), word(0), word(9), response.clone());
        assert_eq!(store.stats().responses, 0);
        store.keep_response(addr(0), word(0), word(0), response.clone());
        store.keep_response(addr(1), word(1), word(1), response.clone());
        assert_eq!(store.stats().responses, 1, "bounded by max_responses");
        assert_eq!(
            store.check(addr(0), word(0), word(0), now + 100, now),
            Seen::Identical(Some(response))
        );
        assert_eq!(
            store.check(addr(1), word(1), word(1), now + 100, now),
            Seen::Identical(None)
        );
    }
}

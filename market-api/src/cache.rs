//! A small bounded cache of answers computed from the index, keyed by the indexed head.
//!
//! Why an entry can be trusted: the indexer commits every block range in one transaction
//! together with its checkpoint, and a block hash names the whole chain below it, so the
//! chain-derived state of the index is a function of its head `(number, hash)` (a reorganisation
//! changes the head's hash or number). An answer computed inside one read snapshot
//! ([`indexer::Db::begin_snapshot`]) whose head was `H` is therefore exactly what any later
//! read at head `H` computes. The cache serves an entry only to a request that has itself just
//! read the head and found `H`, so a cached page is never older than the block it claims
//! (`as_of_block`), and never older than a direct read would be.
//!
//! What is not chain data: the catalogue facts joined into pages (`api_content_meta`,
//! [`crate::facts`]). A row is only ever inserted, never changed, and each insert this instance
//! makes — an upload's or the header backfill's — is followed, once committed, by
//! [`PageCache::clear`], which also stops any answer being computed at that moment from being
//! stored: every page stored afterwards was read after the row existed. Another instance's
//! inserts appear within the entry lifetime ([`PageCache::new`]'s `ttl`). An upload's facts
//! usually arrive before its content is registered, so before the head that shows it; the
//! backfill's arrive after, which is when the clear (or the lifetime) matters.
//!
//! Bounds: at most `capacity` entries, all of one head; a new head empties the cache, and a
//! full cache drops its expired entries, then everything.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;
use indexer::db::BlockRef;

/// Answers (serialised bodies) by request key, all computed at one indexed head.
#[derive(Debug)]
pub struct PageCache<K> {
    capacity: usize,
    ttl: Duration,
    inner: Mutex<Pages<K>>,
}

#[derive(Debug)]
struct Pages<K> {
    /// The head every entry was computed at.
    head: Option<BlockRef>,
    /// Bumped by [`PageCache::clear`]: an answer computed across a clear is not stored.
    generation: u64,
    entries: HashMap<K, (Instant, Bytes)>,
}

impl<K: Hash + Eq> PageCache<K> {
    /// At most `capacity` entries, each served for at most `ttl`.
    pub fn new(capacity: usize, ttl: Duration) -> Self {
        Self {
            capacity,
            ttl,
            inner: Mutex::new(Pages {
                head: None,
                generation: 0,
                entries: HashMap::new(),
            }),
        }
    }

    /// Whether anything is ever stored (a capacity of 0 disables the cache).
    pub fn enabled(&self) -> bool {
        self.capacity > 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Pages<K>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The answer to `key` computed at `head` (the head the caller has just read), if any and
    /// not expired.
    pub fn get(&self, head: &Option<BlockRef>, key: &K, now: Instant) -> Option<Bytes> {
        let pages = self.lock();
        if pages.head != *head {
            return None;
        }
        match pages.entries.get(key) {
            Some((at, body)) if now.saturating_duration_since(*at) < self.ttl => Some(body.clone()),
            _ => None,
        }
    }

    /// The generation to pass to [`PageCache::insert`]: read it before computing the answer.
    pub fn generation(&self) -> u64 {
        self.lock().generation
    }

    /// Stores the answer to `key` computed in a snapshot whose head was `head`, unless the
    /// cache was cleared since `generation` was read.
    pub fn insert(
        &self,
        head: Option<BlockRef>,
        key: K,
        body: Bytes,
        generation: u64,
        now: Instant,
    ) {
        if self.capacity == 0 {
            return;
        }
        let mut pages = self.lock();
        if pages.generation != generation {
            return;
        }
        if pages.head != head {
            pages.entries.clear();
            pages.head = head;
        }
        if pages.entries.len() >= self.capacity && !pages.entries.contains_key(&key) {
            let ttl = self.ttl;
            pages
                .entries
                .retain(|_, (at, _)| now.saturating_duration_since(*at) < ttl);
            if pages.entries.len() >= self.capacity {
                pages.entries.clear();
            }
        }
        pages.entries.insert(key, (now, body));
    }

    /// Drops every entry, and every answer being computed now.
    pub fn clear(&self) {
        let mut pages = self.lock();
        pages.generation = pages.generation.wrapping_add(1);
        pages.entries.clear();
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(n: u64, h: &str) -> Option<BlockRef> {
        Some(BlockRef {
            number: n,
            hash: h.into(),
        })
    }

    #[test]
    fn an_entry_is_served_only_at_its_own_head() {
        let c = PageCache::new(4, Duration::from_secs(1));
        let t = Instant::now();
        let g = c.generation();
        c.insert(head(5, "0xa"), "p", Bytes::from_static(b"five"), g, t);
        assert_eq!(
            c.get(&head(5, "0xa"), &"p", t).as_deref(),
            Some(&b"five"[..])
        );
        // Same number, another hash (a reorganisation), or a newer head: not served.
        assert_eq!(c.get(&head(5, "0xb"), &"p", t), None);
        assert_eq!(c.get(&head(6, "0xc"), &"p", t), None);
        assert_eq!(c.get(&None, &"p", t), None);
        assert_eq!(c.get(&head(5, "0xa"), &"q", t), None);
        // A page of a new head replaces every page of the old one.
        c.insert(head(6, "0xc"), "q", Bytes::from_static(b"six"), g, t);
        assert_eq!(c.len(), 1);
        assert_eq!(c.get(&head(5, "0xa"), &"p", t), None);
    }

    #[test]
    fn entries_expire_and_the_cache_stays_bounded() {
        let c = PageCache::new(2, Duration::from_millis(100));
        let t = Instant::now();
        let g = c.generation();
        let h = head(1, "0x1");
        c.insert(h.clone(), 1, Bytes::new(), g, t);
        assert!(c.get(&h, &1, t + Duration::from_millis(99)).is_some());
        assert!(c.get(&h, &1, t + Duration::from_millis(100)).is_none());
        c.insert(h.clone(), 2, Bytes::new(), g, t);
        c.insert(h.clone(), 3, Bytes::new(), g, t);
        assert!(c.len() <= 2);
        assert!(c.get(&h, &3, t).is_some());
    }

    #[test]
    fn an_answer_computed_across_a_clear_is_not_stored() {
        let c = PageCache::new(4, Duration::from_secs(1));
        let t = Instant::now();
        let h = head(1, "0x1");
        let before = c.generation();
        c.insert(h.clone(), "p", Bytes::new(), before, t);
        c.clear();
        assert!(c.is_empty());
        c.insert(h.clone(), "p", Bytes::new(), before, t);
        assert!(c.get(&h, &"p", t).is_none());
        c.insert(h.clone(), "p", Bytes::new(), c.generation(), t);
        assert!(c.get(&h, &"p", t).is_some());
    }
}

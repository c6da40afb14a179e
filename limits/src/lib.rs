//! Request rate limiting shared by the services (the market API per client IP, licence nodes
//! per account): a token bucket per key, in a table of bounded size.
//!
//! Each key's bucket holds at most `burst` tokens and refills at `per_second`; a request takes
//! one token or is refused with the whole seconds until one is available. The table tracks at
//! most `max_tracked` keys: when a new key would exceed it, buckets that have refilled
//! completely (idle keys, indistinguishable from new ones) are dropped first, and if every
//! bucket is busy the table is cleared — failing open for new keys beats unbounded memory.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Token buckets by key.
#[derive(Debug)]
pub struct TokenBuckets<K> {
    per_second: f64,
    burst: f64,
    max_tracked: usize,
    buckets: Mutex<HashMap<K, Bucket>>,
}

impl<K: Hash + Eq> TokenBuckets<K> {
    /// `per_second` tokens added per second up to `burst`; at most `max_tracked` keys (≥ 1).
    pub fn new(per_second: f64, burst: f64, max_tracked: usize) -> Self {
        Self {
            per_second,
            burst,
            max_tracked: max_tracked.max(1),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token of `key`'s bucket at `now`; `Err(seconds until one is available, ≥ 1)`
    /// when it is empty.
    pub fn take(&self, key: K, now: Instant) -> Result<(), u64> {
        let per_second = self.per_second.max(1e-9);
        let mut map = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= self.max_tracked && !map.contains_key(&key) {
            let full_after = Duration::from_secs_f64((self.burst / per_second).min(1e9));
            map.retain(|_, b| now.saturating_duration_since(b.at) < full_after);
            if map.len() >= self.max_tracked {
                map.clear();
            }
        }
        let b = map.entry(key).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        let refill = now.saturating_duration_since(b.at).as_secs_f64() * per_second;
        b.tokens = (b.tokens + refill).min(self.burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - b.tokens) / per_second;
            Err(wait.ceil().max(1.0) as u64)
        }
    }

    /// Keys tracked now.
    pub fn tracked(&self) -> usize {
        self.buckets.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_empties_then_refills_per_key() {
        let rl = TokenBuckets::new(2.0, 3.0, 16);
        let t0 = Instant::now();
        for _ in 0..3 {
            rl.take("a", t0).unwrap();
        }
        assert_eq!(rl.take("a", t0), Err(1));
        rl.take("b", t0).unwrap();
        rl.take("a", t0 + Duration::from_millis(600)).unwrap();
        assert_eq!(rl.take("a", t0 + Duration::from_millis(600)), Err(1));
    }

    #[test]
    fn the_table_stays_bounded() {
        let rl = TokenBuckets::new(1.0, 2.0, 4);
        let t0 = Instant::now();
        for k in 0..4 {
            rl.take(k, t0).unwrap();
        }
        // Every bucket busy: a fifth key clears the table rather than growing it.
        rl.take(4, t0).unwrap();
        assert!(rl.tracked() <= 4);
        assert_eq!(rl.tracked(), 1);
        // Later, idle (refilled) buckets are dropped first and busy ones kept: key 4 has been
        // idle since t0, keys 10 to 12 have just taken a token each.
        let t1 = t0 + Duration::from_secs(10);
        for k in 10..13 {
            rl.take(k, t1).unwrap();
        }
        assert_eq!(rl.tracked(), 4);
        rl.take(20, t1).unwrap();
        assert_eq!(rl.tracked(), 4);
        rl.take(12, t1).unwrap();
        assert_eq!(rl.take(12, t1), Err(1), "a busy bucket was dropped");
    }
}

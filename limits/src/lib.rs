//! Request rate limiting shared by the services (the market API per client IP, licence nodes
//! per IP, per account and globally): a token bucket per key, in a table of bounded size.
//!
//! Each key's bucket holds at most `burst` tokens and refills at `per_second`; a request takes
//! one token or is refused with the whole seconds until one is available. The table tracks at
//! most `max_tracked` keys. When a new key would exceed it, buckets that have refilled
//! completely are dropped: an idle key's full bucket is exactly what a new key gets, so forgetting
//! it changes nothing. If every bucket is busy, the new key is **refused** until one of them has
//! refilled.
//!
//! Trade-off: the table never resets a busy bucket, so a flood of new keys (free accounts, spoofed
//! or rented addresses) cannot hand a real user a fresh burst, and memory stays bounded. The price
//! is that while `max_tracked` keys are all busy, a genuinely new key is turned away (fails
//! closed) for at most `burst / per_second` seconds. Size `max_tracked` above the number of keys
//! you expect to be busy at once. Once the table was found full, new keys are refused without
//! scanning the table again until the earliest moment a bucket can have refilled, so a flood costs
//! one scan per refill period, not one per request.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The key a client address is counted under: an IPv4 address (IPv4-mapped IPv6 included) as
/// itself, any other IPv6 address by its /64, the smallest block one host is usually given, so
/// rotating addresses inside it buys no extra requests.
pub fn ip_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

#[derive(Debug)]
struct Table<K> {
    buckets: HashMap<K, Bucket>,
    /// After a scan found every bucket busy: no bucket can be idle before this instant.
    full_until: Option<Instant>,
}

/// Token buckets by key.
#[derive(Debug)]
pub struct TokenBuckets<K> {
    per_second: f64,
    burst: f64,
    max_tracked: usize,
    table: Mutex<Table<K>>,
}

fn whole_seconds(d: Duration) -> u64 {
    (d.as_secs_f64().ceil() as u64).max(1)
}

impl<K: Hash + Eq> TokenBuckets<K> {
    /// `per_second` tokens added per second up to `burst`; at most `max_tracked` keys (≥ 1).
    pub fn new(per_second: f64, burst: f64, max_tracked: usize) -> Self {
        Self {
            per_second,
            burst,
            max_tracked: max_tracked.max(1),
            table: Mutex::new(Table {
                buckets: HashMap::new(),
                full_until: None,
            }),
        }
    }

    /// Takes one token of `key`'s bucket at `now`; `Err(whole seconds until a retry can
    /// succeed, ≥ 1)` when its bucket is empty, or when `key` is new and the table is full of
    /// busy buckets.
    pub fn take(&self, key: K, now: Instant) -> Result<(), u64> {
        let per_second = self.per_second.max(1e-9);
        let full_after = Duration::from_secs_f64((self.burst / per_second).min(1e9));
        let mut table = self.table.lock().unwrap_or_else(|p| p.into_inner());
        if table.buckets.len() >= self.max_tracked && !table.buckets.contains_key(&key) {
            if let Some(until) = table.full_until.filter(|u| now < *u) {
                return Err(whole_seconds(until - now));
            }
            table
                .buckets
                .retain(|_, b| now.saturating_duration_since(b.at) < full_after);
            if table.buckets.len() >= self.max_tracked {
                let oldest = table.buckets.values().map(|b| b.at).min().unwrap_or(now);
                let until = oldest + full_after;
                table.full_until = Some(until);
                return Err(whole_seconds(until.saturating_duration_since(now)));
            }
            table.full_until = None;
        }
        let b = table.buckets.entry(key).or_insert(Bucket {
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
        self.table
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .buckets
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_host_is_one_key_per_64_and_mapped_ipv4_is_ipv4() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(
            ip_key(ip("2001:db8:1:2::1")),
            ip_key(ip("2001:db8:1:2:ffff::9"))
        );
        assert_ne!(ip_key(ip("2001:db8:1:2::1")), ip_key(ip("2001:db8:1:3::1")));
        assert_eq!(ip_key(ip("::ffff:192.0.2.1")), ip("192.0.2.1"));
        assert_eq!(ip_key(ip("192.0.2.1")), ip("192.0.2.1"));
    }

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
    fn a_full_table_refuses_new_keys_and_never_resets_a_busy_one() {
        let rl = TokenBuckets::new(1.0, 2.0, 4);
        let t0 = Instant::now();
        for k in 0..4 {
            rl.take(k, t0).unwrap();
        }
        // Key 0 is a real user who spent its burst.
        assert_eq!(rl.take(0, t0), Ok(()));
        assert_eq!(rl.take(0, t0), Err(1));
        // Every bucket busy: new keys are refused, however many; the table does not grow and
        // key 0 does not get a fresh burst.
        for k in 100..10_000 {
            assert!(rl.take(k, t0).is_err(), "key {k}");
            assert_eq!(rl.tracked(), 4);
        }
        assert_eq!(rl.tracked(), 4);
        assert_eq!(rl.take(0, t0), Err(1), "a busy bucket was reset");
        // Refusals say when to come back: keys 1 to 3 refill 2 s after t0.
        assert_eq!(rl.take(200, t0), Err(2));
        // Once buckets have refilled (idle), a new key evicts them and is served; key 0, busy
        // again, is kept.
        let t1 = t0 + Duration::from_secs(10);
        rl.take(0, t1).unwrap();
        rl.take(0, t1).unwrap();
        rl.take(20, t1).unwrap();
        assert_eq!(rl.tracked(), 2);
        assert_eq!(rl.take(0, t1), Err(1), "a busy bucket was dropped");
    }
}

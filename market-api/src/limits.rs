//! Per-client rate limiting (token buckets in a bounded table, from `limits`), the client
//! key it is counted under, and the request deadline.
//!
//! The client key is the TCP peer's address, unless the peer is a proxy the operator named as
//! trusted (`ApiConfig::trusted_proxies`): then it is the right-most `X-Forwarded-For` entry that
//! is not itself a trusted proxy (entries to its left are whatever the client wrote, so they are
//! never believed). IPv6 clients are keyed by their /64, the smallest block a host is usually
//! given, so rotating addresses inside it buys no extra requests. The trade-off: clients behind
//! one untrusted NAT share a bucket, and an operator who forgets to name its proxy gets one
//! bucket for everyone (fail closed: the limit binds harder, never looser).

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::AppState;

/// Request rate allowed per client IP.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Sustained requests per second.
    pub per_second: f64,
    /// Bucket size: requests allowed at once after a quiet period.
    pub burst: f64,
}

impl Default for RateLimit {
    fn default() -> Self {
        Self {
            per_second: 50.0,
            burst: 100.0,
        }
    }
}

/// Most client IPs tracked at once (see [`limits::TokenBuckets`] for what happens past it).
const MAX_TRACKED_IPS: usize = 65_536;

/// Token buckets per client IP.
pub type RateLimiter = limits::TokenBuckets<IpAddr>;

/// The per-IP limiter of `limit`.
pub fn rate_limiter(limit: RateLimit) -> RateLimiter {
    RateLimiter::new(limit.per_second, limit.burst, MAX_TRACKED_IPS)
}

/// Longest `X-Forwarded-For` value read; a longer one is ignored (the peer is used).
const MAX_FORWARDED_LEN: usize = 1024;

/// The key a request is counted under (module doc): the peer, or behind a trusted proxy the
/// right-most forwarded address that is not a trusted proxy; IPv6 by its /64.
pub fn client_key(peer: IpAddr, headers: &HeaderMap, trusted_proxies: &[IpAddr]) -> IpAddr {
    let mut client = peer;
    if trusted_proxies.contains(&peer) {
        let forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join(",");
        if forwarded.len() <= MAX_FORWARDED_LEN {
            for hop in forwarded.rsplit(',') {
                match hop.trim().parse::<IpAddr>() {
                    Ok(ip) if trusted_proxies.contains(&ip) => continue,
                    Ok(ip) => {
                        client = ip;
                        break;
                    }
                    // A malformed hop: nothing to its left can be believed either.
                    Err(_) => break,
                }
            }
        }
    }
    limits::ip_key(client)
}

/// Middleware: 429 with `Retry-After` when the caller's client key is over its rate.
pub async fn rate_limit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
    next: Next,
) -> Response {
    let key = client_key(peer.ip(), req.headers(), &state.config().trusted_proxies);
    match state.inner.rate.take(key, Instant::now()) {
        Ok(()) => next.run(req).await,
        Err(retry_after_secs) => ApiError::RateLimited { retry_after_secs }.into_response(),
    }
}

/// Middleware: a request that takes longer than the configured deadline is answered 503
/// `timeout` (streams — uploads and server-sent events — are routed around it).
pub async fn deadline(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let limit = state.inner.config.request_timeout;
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => ApiError::Timeout(limit.as_millis() as u64).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in xff {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// Security review (ac16717) finding 12: behind a load balancer every client was one bucket,
    /// and one IPv6 host could rotate through its /64.
    #[test]
    fn clients_behind_a_trusted_proxy_get_their_own_keys() {
        let proxy = ip("10.0.0.2");
        let trusted = [proxy];
        assert_eq!(
            client_key(proxy, &headers(&["198.51.100.7"]), &trusted),
            ip("198.51.100.7")
        );
        assert_eq!(
            client_key(proxy, &headers(&["198.51.100.8"]), &trusted),
            ip("198.51.100.8")
        );
        // What the client wrote to the left of the address the proxy saw is not believed.
        assert_eq!(
            client_key(proxy, &headers(&["1.2.3.4, 198.51.100.7"]), &trusted),
            ip("198.51.100.7")
        );
        // Two trusted hops, split across header lines.
        let trusted2 = [proxy, ip("10.0.0.3")];
        assert_eq!(
            client_key(proxy, &headers(&["198.51.100.9", "10.0.0.3"]), &trusted2),
            ip("198.51.100.9")
        );
        // An untrusted peer's header is ignored: it is counted as itself.
        assert_eq!(
            client_key(ip("203.0.113.5"), &headers(&["198.51.100.7"]), &trusted),
            ip("203.0.113.5")
        );
        // Garbage or an over-long header: the proxy itself (one bucket, fail closed).
        assert_eq!(client_key(proxy, &headers(&["not-an-ip"]), &trusted), proxy);
        let long = vec!["198.51.100.7"; 200].join(",");
        assert_eq!(client_key(proxy, &headers(&[&long]), &trusted), proxy);
    }

    #[test]
    fn a_client_key_is_the_client_s_ip_key() {
        let a = client_key(ip("2001:db8:1:2::1"), &HeaderMap::new(), &[]);
        assert_eq!(a, limits::ip_key(ip("2001:db8:1:2:ffff::9")));
    }
}

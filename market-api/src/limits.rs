//! Per-IP rate limiting (token buckets in a bounded table, from `ddrm-limits`) and the request
//! deadline.

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
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

/// Most client IPs tracked at once (see [`ddrm_limits::TokenBuckets`] for what happens past it).
const MAX_TRACKED_IPS: usize = 65_536;

/// Token buckets per client IP.
pub type RateLimiter = ddrm_limits::TokenBuckets<IpAddr>;

/// The per-IP limiter of `limit`.
pub fn rate_limiter(limit: RateLimit) -> RateLimiter {
    RateLimiter::new(limit.per_second, limit.burst, MAX_TRACKED_IPS)
}

/// Middleware: 429 with `Retry-After` when the caller's IP is over its rate.
pub async fn rate_limit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
    next: Next,
) -> Response {
    match state.inner.rate.take(peer.ip(), Instant::now()) {
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

//! SIWE sign-in endpoints and the session extractor that guards creator-only endpoints.
//!
//! Nonces and sessions live in the database (tables `api_siwe_nonces`, `api_sessions`), so
//! every API instance shares them. A nonce is consumed by an atomic delete: a replayed message
//! finds no row. Only the SHA-256 of a session token is stored; the token itself is 32 random
//! bytes shown once to the client.

use alloy::primitives::Address;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::Json;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::error::{ApiError, ErrorBody};
use crate::siwe::{self, SiweMessage};
use crate::{now_secs, AppState};

/// How long an issued nonce may wait for its signed message.
pub const NONCE_TTL_SECS: i64 = 600;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NonceResponse {
    /// Put this in the SIWE message's `Nonce` field; it is valid once, for `expires_at`.
    pub nonce: String,
    /// Unix seconds.
    pub expires_at: i64,
    /// The domain the SIWE message must name.
    pub domain: String,
    pub chain_id: u64,
}

/// Issues a fresh single-use nonce.
#[utoipa::path(post, path = "/v1/auth/nonce", tag = "auth",
    responses((status = 200, body = NonceResponse), (status = 429, body = ErrorBody)))]
pub async fn nonce(State(state): State<AppState>) -> Result<Json<NonceResponse>, ApiError> {
    let mut raw = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut raw);
    let nonce = hex::encode(raw);
    let now = now_secs();
    let expires_at = now + NONCE_TTL_SECS;
    sqlx::query("DELETE FROM api_siwe_nonces WHERE expires_at <= $1")
        .bind(now)
        .execute(state.pool())
        .await?;
    sqlx::query("INSERT INTO api_siwe_nonces (nonce, expires_at) VALUES ($1, $2)")
        .bind(&nonce)
        .bind(expires_at)
        .execute(state.pool())
        .await?;
    Ok(Json(NonceResponse {
        nonce,
        expires_at,
        domain: state.config().siwe_domain.clone(),
        chain_id: state.config().deployment.chain_id,
    }))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    /// The EIP-4361 message, exactly as signed.
    pub message: String,
    /// The EIP-191 signature: 0x + 130 hex digits.
    pub signature: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SessionResponse {
    /// Send as `Authorization: Bearer <token>`. Shown once; the server keeps only its hash.
    pub token: String,
    /// The signed-in account (checksummed).
    pub address: String,
    /// Unix seconds.
    pub expires_at: i64,
}

/// Verifies a signed SIWE message and opens a session.
#[utoipa::path(post, path = "/v1/auth/verify", tag = "auth", request_body = VerifyRequest,
    responses((status = 200, body = SessionResponse), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody)))]
pub async fn verify(
    State(state): State<AppState>,
    body: Result<Json<VerifyRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<SessionResponse>, ApiError> {
    let Json(req) = body?;
    let msg = SiweMessage::parse(&req.message).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    siwe::parse_signature(&req.signature).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let now = now_secs();
    let cfg = state.config();
    msg.check(&cfg.siwe_domain, cfg.deployment.chain_id, now)
        .map_err(|e| ApiError::Unauthorized(e.to_string()))?;
    siwe::verify_signature(&req.message, &req.signature, msg.address).map_err(|e| match e {
        siwe::SiweError::BadSignature => ApiError::BadRequest(e.to_string()),
        other => ApiError::Unauthorized(other.to_string()),
    })?;
    let consumed = sqlx::query("DELETE FROM api_siwe_nonces WHERE nonce = $1 AND expires_at > $2")
        .bind(&msg.nonce)
        .bind(now)
        .execute(state.pool())
        .await?
        .rows_affected();
    if consumed != 1 {
        return Err(ApiError::Unauthorized(
            "SIWE nonce unknown, expired or already used; ask /v1/auth/nonce for a new one".into(),
        ));
    }
    let mut raw = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut raw);
    let token = hex::encode(raw);
    let ttl = i64::try_from(cfg.session_ttl.as_secs()).unwrap_or(i64::MAX / 4);
    let mut expires_at = now.saturating_add(ttl);
    if let Some(exp) = msg.expiration_time {
        expires_at = expires_at.min(exp);
    }
    sqlx::query("DELETE FROM api_sessions WHERE expires_at <= $1")
        .bind(now)
        .execute(state.pool())
        .await?;
    sqlx::query("INSERT INTO api_sessions (token_hash, address, expires_at) VALUES ($1, $2, $3)")
        .bind(token_hash(&token))
        .bind(format!("{:#x}", msg.address))
        .bind(expires_at)
        .execute(state.pool())
        .await?;
    Ok(Json(SessionResponse {
        token,
        address: msg.address.to_checksum(None),
        expires_at,
    }))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SessionInfo {
    pub address: String,
    pub expires_at: i64,
}

/// Who the bearer token signs in as.
#[utoipa::path(get, path = "/v1/auth/session", tag = "auth",
    security(("siwe_session" = [])),
    responses((status = 200, body = SessionInfo), (status = 401, body = ErrorBody)))]
pub async fn session(creator: Creator) -> Json<SessionInfo> {
    Json(SessionInfo {
        address: creator.address.to_checksum(None),
        expires_at: creator.expires_at,
    })
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A signed-in account: extracting it fails with 401 unless the request carries a live
/// session token.
#[derive(Debug, Clone, Copy)]
pub struct Creator {
    pub address: Address,
    pub expires_at: i64,
}

impl FromRequestParts<AppState> for Creator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| {
                ApiError::Unauthorized(
                    "sign in first: send Authorization: Bearer <token> from /v1/auth/verify".into(),
                )
            })?;
        let token = header
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .filter(|t| t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| ApiError::Unauthorized("malformed bearer token".into()))?;
        let row: Option<(String, i64)> = sqlx::query_as(
            "SELECT address, expires_at FROM api_sessions WHERE token_hash = $1 AND expires_at > $2",
        )
        .bind(token_hash(&token.to_ascii_lowercase()))
        .bind(now_secs())
        .fetch_optional(state.pool())
        .await?;
        let (address, expires_at) =
            row.ok_or_else(|| ApiError::Unauthorized("session unknown or expired".into()))?;
        let address = address
            .parse()
            .map_err(|_| ApiError::internal("stored session address unparsable"))?;
        Ok(Self {
            address,
            expires_at,
        })
    }
}

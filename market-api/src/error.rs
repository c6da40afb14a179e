//! The API's one error type: every failure becomes a status code and a JSON body
//! `{ "error": { "code": "...", "message": "..." } }`. A client mistake is always a 4xx; a 5xx
//! body never carries internals (they go to the log only).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A malformed parameter, path segment or body field.
    #[error("{0}")]
    BadRequest(String),
    /// The request needs a session (`Authorization: Bearer <token>` from `/v1/auth/verify`).
    #[error("{0}")]
    Unauthorized(String),
    /// The session is valid but may not touch this resource.
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    /// The resource exists in a state that refuses the request (e.g. already registered).
    #[error("{0}")]
    Conflict(String),
    #[error("request body larger than {limit} bytes")]
    PayloadTooLarge { limit: u64 },
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    #[error("too many requests; retry in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    /// An account's share of a PC2 (bytes uploaded in a day, uploads at once) is used up.
    #[error("{0}")]
    QuotaExceeded(String),
    #[error("the request took longer than {0} ms")]
    Timeout(u64),
    /// A dependency (database, chain, content store) is down or too slow.
    #[error("{0} unavailable")]
    Unavailable(&'static str),
    /// A bug or an unexpected failure on our side; `detail` is logged, never sent.
    #[error("internal error")]
    Internal { detail: String },
}

/// Stable machine-readable codes, one per variant (documented in the OpenAPI document).
impl ApiError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad_request",
            Self::Unauthorized(_) => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::Conflict(_) => "conflict",
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::UnsupportedMediaType(_) => "unsupported_media_type",
            Self::RateLimited { .. } => "rate_limited",
            Self::QuotaExceeded(_) => "quota_exceeded",
            Self::Timeout(_) => "timeout",
            Self::Unavailable(_) => "unavailable",
            Self::Internal { .. } => "internal",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::QuotaExceeded(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Timeout(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn bad(msg: impl Into<String>) -> Self {
        Self::BadRequest(msg.into())
    }

    pub fn internal(detail: impl std::fmt::Display) -> Self {
        Self::Internal {
            detail: detail.to_string(),
        }
    }
}

/// The error body.
#[derive(Debug, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable code: bad_request, unauthorized, forbidden, not_found, conflict,
    /// payload_too_large, unsupported_media_type, rate_limited, quota_exceeded, timeout,
    /// unavailable, internal.
    pub code: String,
    /// A human-readable explanation.
    pub message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Internal { detail } = &self {
            tracing::error!(%detail, "internal error");
        }
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code().to_owned(),
                message: self.to_string(),
            },
        };
        let mut resp = (self.status(), axum::Json(body)).into_response();
        if let Self::RateLimited { retry_after_secs } = self {
            if let Ok(v) = retry_after_secs.to_string().parse() {
                resp.headers_mut()
                    .insert(axum::http::header::RETRY_AFTER, v);
            }
        }
        resp
    }
}

/// Database failures: a broken connection is "unavailable", anything else internal.
impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                tracing::error!(error = %e, "database");
                Self::Unavailable("database")
            }
            other => Self::internal(format!("database: {other}")),
        }
    }
}

/// The rejections of axum's extractors (bad JSON, bad query, bad path) are client mistakes.
macro_rules! rejection_is_client_error {
    ($($t:ty),*) => {$(
        impl From<$t> for ApiError {
            fn from(r: $t) -> Self {
                let status = r.status();
                if status == StatusCode::PAYLOAD_TOO_LARGE {
                    return Self::PayloadTooLarge { limit: crate::MAX_JSON_BODY_BYTES as u64 };
                }
                if status == StatusCode::UNSUPPORTED_MEDIA_TYPE {
                    return Self::UnsupportedMediaType(r.body_text());
                }
                Self::BadRequest(r.body_text())
            }
        }
    )*};
}
rejection_is_client_error!(
    axum::extract::rejection::JsonRejection,
    axum::extract::rejection::QueryRejection,
    axum::extract::rejection::PathRejection
);

impl From<indexer::IndexerError> for ApiError {
    fn from(e: indexer::IndexerError) -> Self {
        match e {
            indexer::IndexerError::Database(db) => db.into(),
            other => Self::internal(format!("index: {other}")),
        }
    }
}

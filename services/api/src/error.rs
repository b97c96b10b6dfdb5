//! The one error type of the API and its JSON body.
//!
//! Every error answers `{"error":{"code":"…","message":"…","field":"…"}}` (`field` only for
//! validation errors). Internal errors are logged once here, with their cause chain, and
//! answered with a generic message.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cqrs_es::AggregateError;
use serde::Serialize;
use warp_domain::{JobError, ProjectError, ValidationError};

/// An API failure.
#[derive(Debug)]
pub enum ApiError {
    /// 422 `validation_failed`: a field failed validation; nothing was changed.
    Validation(ValidationError),
    /// 400 `bad_request`: the request could not be read (malformed JSON, query or header).
    BadRequest(String),
    /// 401 `unauthorized`: no valid bearer token and no live session.
    Unauthorized,
    /// 401 `bad_signature`: a webhook delivery's signature is missing or does not match; the
    /// message says which.
    BadSignature(String),
    /// 403 `forbidden`: the token is valid but may not do this.
    Forbidden(String),
    /// 404 `not_found`.
    NotFound(String),
    /// 405 `method_not_allowed`: the path exists, the method does not.
    MethodNotAllowed,
    /// 413 `payload_too_large`: the body is over the limit ([`BODY_LIMIT`], or the route's own
    /// given here in bytes).
    PayloadTooLarge(usize),
    /// 409 `conflict`: the request conflicts with the current state (name taken, stale
    /// `If-Match`, archived project, concurrent change).
    Conflict(String),
    /// 429 `too_many_streams`: the user (or the panel) has as many log streams open as it may.
    TooManyStreams(String),
    /// 429 `rate_limited`: an outside API's rate limit is used up; `retry_after_seconds`
    /// (also the `Retry-After` header) says when it resets.
    RateLimited { message: String, retry_after_seconds: Option<u64> },
    /// 503 `unavailable`: a dependency (Postgres, NATS) is down; retry later.
    Unavailable(String),
    /// 503 `not_configured`: the panel lacks a setting this request needs (the message names
    /// it); nothing was changed.
    NotConfigured(String),
    /// 500 `internal`: a bug or an unexpected failure; details are in the server log only.
    Internal(anyhow::Error),
}

/// Largest request body most routes take, bytes (axum's default limit, 2 MiB).
pub const BODY_LIMIT: usize = 2 * 1024 * 1024;

/// The JSON error body.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code: `validation_failed`, `bad_request`, `unauthorized`,
    /// `bad_signature`, `forbidden`, `not_found`, `method_not_allowed`, `conflict`,
    /// `payload_too_large`, `too_many_streams`, `rate_limited`, `unavailable`, `not_configured`,
    /// `internal`.
    pub code: &'static str,
    /// A sentence for people.
    pub message: String,
    /// The offending field, for `validation_failed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ApiError {
    /// The status and body detail this error answers with.
    pub fn into_parts(self) -> (StatusCode, ErrorDetail) {
        self.parts()
    }

    fn parts(self) -> (StatusCode, ErrorDetail) {
        let detail = |code, message: String| ErrorDetail { code, message, field: None };
        match self {
            ApiError::Validation(error) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorDetail {
                    code: "validation_failed",
                    message: error.to_string(),
                    field: Some(error.field),
                },
            ),
            ApiError::BadRequest(message) => (StatusCode::BAD_REQUEST, detail("bad_request", message)),
            ApiError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                detail(
                    "unauthorized",
                    "a valid bearer token (Authorization: Bearer <token>) or a live session (log in at /auth/login) is required"
                        .into(),
                ),
            ),
            ApiError::BadSignature(message) => (StatusCode::UNAUTHORIZED, detail("bad_signature", message)),
            ApiError::Forbidden(message) => (StatusCode::FORBIDDEN, detail("forbidden", message)),
            ApiError::NotFound(message) => (StatusCode::NOT_FOUND, detail("not_found", message)),
            ApiError::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                detail("method_not_allowed", "this path does not accept this method".into()),
            ),
            ApiError::PayloadTooLarge(limit) => {
                let message = format!("the request body is over {} MiB", limit / (1024 * 1024));
                (StatusCode::PAYLOAD_TOO_LARGE, detail("payload_too_large", message))
            }
            ApiError::Conflict(message) => (StatusCode::CONFLICT, detail("conflict", message)),
            ApiError::Unavailable(message) => (StatusCode::SERVICE_UNAVAILABLE, detail("unavailable", message)),
            ApiError::NotConfigured(message) => (StatusCode::SERVICE_UNAVAILABLE, detail("not_configured", message)),
            ApiError::TooManyStreams(message) => (StatusCode::TOO_MANY_REQUESTS, detail("too_many_streams", message)),
            ApiError::RateLimited { message, .. } => (StatusCode::TOO_MANY_REQUESTS, detail("rate_limited", message)),
            ApiError::Internal(error) => {
                tracing::error!(error = %format!("{error:#}"), "request failed");
                (StatusCode::INTERNAL_SERVER_ERROR, detail("internal", "internal error; see the server log".into()))
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let retry_after = match &self {
            ApiError::RateLimited { retry_after_seconds: Some(seconds), .. } => Some(*seconds),
            _ => None,
        };
        let (status, error) = self.parts();
        let mut response = (status, axum::Json(ErrorBody { error })).into_response();
        if let Some(seconds) = retry_after {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(seconds));
        }
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(axum::http::header::WWW_AUTHENTICATE, axum::http::HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<ValidationError> for ApiError {
    fn from(error: ValidationError) -> Self {
        ApiError::Validation(error)
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        match error {
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
                ApiError::Unavailable("the database is not reachable".into())
            }
            other => ApiError::Internal(other.into()),
        }
    }
}

impl From<AggregateError<ProjectError>> for ApiError {
    fn from(error: AggregateError<ProjectError>) -> Self {
        match error {
            AggregateError::UserError(ProjectError::NotFound) => ApiError::NotFound("project not found".into()),
            AggregateError::UserError(refused) => ApiError::Conflict(refused.to_string()),
            AggregateError::AggregateConflict => ApiError::Conflict(
                "the project was changed by another request at the same time; read it again and retry".into(),
            ),
            AggregateError::DatabaseConnectionError(error) => {
                tracing::warn!(error = %error, "event store unreachable");
                ApiError::Unavailable("the event store is not reachable".into())
            }
            AggregateError::DeserializationError(error) | AggregateError::UnexpectedError(error) => {
                ApiError::Internal(anyhow::anyhow!(error))
            }
        }
    }
}

impl From<AggregateError<JobError>> for ApiError {
    fn from(error: AggregateError<JobError>) -> Self {
        match error {
            AggregateError::UserError(JobError::NotFound) => ApiError::NotFound("job not found".into()),
            AggregateError::UserError(refused) => ApiError::Conflict(refused.to_string()),
            AggregateError::AggregateConflict => {
                ApiError::Conflict("the job changed at the same time; read it again and retry".into())
            }
            AggregateError::DatabaseConnectionError(error) => {
                tracing::warn!(error = %error, "event store unreachable");
                ApiError::Unavailable("the event store is not reachable".into())
            }
            AggregateError::DeserializationError(error) | AggregateError::UnexpectedError(error) => {
                ApiError::Internal(anyhow::anyhow!(error))
            }
        }
    }
}

impl From<AggregateError<warp_domain::SessionError>> for ApiError {
    fn from(error: AggregateError<warp_domain::SessionError>) -> Self {
        match error {
            AggregateError::UserError(refused) => ApiError::Conflict(refused.to_string()),
            AggregateError::AggregateConflict => ApiError::Conflict("the session changed at the same time; retry".into()),
            AggregateError::DatabaseConnectionError(error) => {
                tracing::warn!(error = %error, "event store unreachable");
                ApiError::Unavailable("the event store is not reachable".into())
            }
            AggregateError::DeserializationError(error) | AggregateError::UnexpectedError(error) => {
                ApiError::Internal(anyhow::anyhow!(error))
            }
        }
    }
}

impl From<AggregateError<warp_domain::SettingsError>> for ApiError {
    fn from(error: AggregateError<warp_domain::SettingsError>) -> Self {
        match error {
            AggregateError::UserError(refused) => ApiError::Conflict(format!("{refused}; read them again")),
            AggregateError::AggregateConflict => ApiError::Conflict(
                "the settings were changed by another request at the same time; read them again and retry".into(),
            ),
            AggregateError::DatabaseConnectionError(error) => {
                tracing::warn!(error = %error, "event store unreachable");
                ApiError::Unavailable("the event store is not reachable".into())
            }
            AggregateError::DeserializationError(error) | AggregateError::UnexpectedError(error) => {
                ApiError::Internal(anyhow::anyhow!(error))
            }
        }
    }
}

/// Result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;

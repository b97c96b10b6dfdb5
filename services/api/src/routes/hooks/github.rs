//! `POST /hooks/github`: GitHub's webhook deliveries (see GitHub's "Webhook events and
//! payloads" and "Validating webhook deliveries").
//!
//! Checks, in this order, each answered with a JSON error and changing nothing: the webhook
//! secret is set (else 503 `not_configured`), the body is at most [`BODY_LIMIT`] (413), the
//! `X-Hub-Signature-256` matches (401 `bad_signature`), `X-GitHub-Event` and
//! `X-GitHub-Delivery` are there (400). Then `ping` answers 200, `push` is recorded on the
//! delivery's aggregate (`GithubPushReceived`, 202; a delivery id seen before: 200
//! `duplicate`), and any other event is answered 200 `ignored`. What a push redeploys is the
//! github service's decision (its `push_received` handler), not this route's.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use cqrs_es::AggregateError;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use warp_domain::validate::RepoSlug;
use warp_domain::{DeliveryCommand, DeliveryError};
use warp_events::{EventMetadata, SecretName};

use super::signature;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::request_id::RequestIds;
use crate::AppState;

/// Largest delivery accepted, bytes (8 MiB). GitHub caps payloads at 25 MB; a push payload
/// lists at most 2048 commits, far below this unless the commits touch tens of thousands of
/// files. A larger one is answered 413 (GitHub shows the failed delivery).
pub const BODY_LIMIT: usize = 8 * 1024 * 1024;

/// The actor of every event a delivery records (GitHub proved the delivery, not a user).
pub const ACTOR: &str = "system:github-webhook";

/// What became of a delivery.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryAnswer {
    /// The `X-GitHub-Delivery` GUID.
    pub delivery_id: String,
    /// The `X-GitHub-Event` name.
    pub event: String,
    /// `recorded` (a push: redeploys of matching projects follow), `duplicate` (this
    /// delivery id was received before: nothing was done again), `pong` (a `ping`) or
    /// `ignored` (an event the panel does not act on).
    pub outcome: &'static str,
    /// A sentence for people reading GitHub's delivery log.
    pub message: String,
}

/// The part of a `push` payload the panel reads.
#[derive(Debug, Deserialize)]
struct PushPayload {
    #[serde(rename = "ref")]
    git_ref: String,
    after: String,
    #[serde(default)]
    deleted: bool,
    repository: Repository,
    pusher: Option<Pusher>,
}

#[derive(Debug, Deserialize)]
struct Repository {
    full_name: String,
    default_branch: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Pusher {
    name: Option<String>,
}

/// Receives a GitHub webhook delivery. Authenticated by its `X-Hub-Signature-256` (HMAC-SHA256
/// of the body with the `github_webhook_secret` setting), not by a panel token. Bodies as
/// `application/json` or GitHub's `application/x-www-form-urlencoded` (`payload=<json>`).
#[utoipa::path(
    post, path = "/hooks/github", tag = "hooks",
    params(
        ("X-GitHub-Event" = String, Header, description = "Event name: push, ping, …"),
        ("X-GitHub-Delivery" = String, Header, description = "The delivery's GUID"),
        ("X-Hub-Signature-256" = String, Header, description = "sha256=<hex HMAC-SHA256 of the body>"),
    ),
    request_body(content = String, description = "GitHub's event payload", content_type = "application/json"),
    responses(
        (status = 200, description = "A ping, a duplicate delivery, or an event the panel ignores", body = DeliveryAnswer),
        (status = 202, description = "A push was recorded; matching projects are redeployed", body = DeliveryAnswer),
        (status = 400, description = "A header is missing or the payload is not the event's", body = ErrorBody),
        (status = 401, description = "The signature is missing or does not match", body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 503, description = "No webhook secret is set, or the event store is unreachable", body = ErrorBody),
    )
)]
pub async fn receive(
    State(state): State<AppState>,
    ids: Option<Extension<RequestIds>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let current = state.settings.load().await.map_err(crate::routes::settings::store_error)?;
    let Some(secret) = current.secrets.get(&SecretName::GithubWebhookSecret) else {
        return Err(ApiError::NotConfigured(
            "webhook deliveries are refused: the github_webhook_secret setting is not set (PUT /api/settings)".into(),
        ));
    };
    let body = body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge(BODY_LIMIT),
        _ => ApiError::BadRequest(rejection.body_text()),
    })?;
    let presented = headers.get(signature::HEADER).map(|v| v.as_bytes());
    signature::verify(secret.value.expose_secret().as_bytes(), &body, presented).map_err(|error| {
        tracing::warn!(reason = %error, "webhook delivery refused: bad signature");
        ApiError::BadSignature(error.to_string())
    })?;
    let event = header_value(&headers, "x-github-event", |v| {
        (1..=64).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    })?;
    let delivery_id = header_value(&headers, "x-github-delivery", |v| {
        (1..=100).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    })?;
    let answer = |outcome, message: String| DeliveryAnswer { delivery_id: delivery_id.clone(), event: event.clone(), outcome, message };
    match event.as_str() {
        "ping" => Ok((StatusCode::OK, axum::Json(answer("pong", "the panel receives this hook's deliveries".into()))).into_response()),
        "push" => {
            let push: PushPayload = payload(&headers, &body)?;
            let repo = RepoSlug::parse("repository.full_name", &push.repository.full_name)?;
            if !push.git_ref.starts_with("refs/") {
                return Err(ApiError::BadRequest("ref must be a full ref (refs/heads/… or refs/tags/…)".into()));
            }
            let command = DeliveryCommand::ReceivePush {
                delivery_id: delivery_id.clone(),
                repo: repo.as_str().to_owned(),
                git_ref: push.git_ref,
                after: push.after,
                deleted: push.deleted,
                default_branch: push.repository.default_branch,
                pusher: push.pusher.and_then(|p| p.name),
            };
            let metadata = EventMetadata {
                actor: Some(ACTOR.to_owned()),
                request_id: ids.as_ref().map(|i| i.request_id.clone()),
                correlation_id: ids.map(|i| i.0.correlation_id),
                causation_id: None,
            };
            let aggregate = warp_events::github_delivery::delivery_aggregate_id(&delivery_id);
            match warp_store::event_store::execute_delivery(&state.deliveries, aggregate, command, &metadata).await {
                Ok(()) => {
                    tracing::info!(github.delivery = %delivery_id, github.repo = %repo.as_str(), "push delivery recorded");
                    let message = format!("push to {} recorded; projects deployed from it are redeployed", repo.as_str());
                    Ok((StatusCode::ACCEPTED, axum::Json(answer("recorded", message))).into_response())
                }
                Err(AggregateError::UserError(DeliveryError::AlreadyReceived)) => {
                    tracing::info!(github.delivery = %delivery_id, "duplicate delivery ignored");
                    let message = "this delivery was received before; nothing was done again".to_owned();
                    Ok((StatusCode::OK, axum::Json(answer("duplicate", message))).into_response())
                }
                Err(error) => Err(delivery_error(error)),
            }
        }
        other => {
            let message = format!("the panel does not act on {other} events; only push (and ping)");
            Ok((StatusCode::OK, axum::Json(answer("ignored", message))).into_response())
        }
    }
}

/// The value of header `name` when it is there and `valid` holds, else a 400 naming it.
fn header_value(headers: &HeaderMap, name: &str, valid: impl Fn(&str) -> bool) -> ApiResult<String> {
    match headers.get(name).map(|v| v.to_str()) {
        None => Err(ApiError::BadRequest(format!("the {name} header is missing"))),
        Some(Ok(value)) if valid(value) => Ok(value.to_owned()),
        Some(_) => Err(ApiError::BadRequest(format!("the {name} header is malformed"))),
    }
}

/// The event payload: the body as JSON, or for `application/x-www-form-urlencoded`
/// deliveries the JSON of its `payload` field. The error says what did not fit, never
/// quoting the body.
fn payload<T: serde::de::DeserializeOwned>(headers: &HeaderMap, body: &[u8]) -> ApiResult<T> {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let parsed = if form {
        let json = url::form_urlencoded::parse(body)
            .find(|(key, _)| key == "payload")
            .map(|(_, value)| value.into_owned())
            .ok_or_else(|| ApiError::BadRequest("the form-encoded delivery has no payload field".into()))?;
        serde_json::from_str(&json)
    } else {
        serde_json::from_slice(body)
    };
    parsed.map_err(|error| ApiError::BadRequest(format!("the payload is not this event's: {}", error)))
}

/// An error of the delivery command as the API answers it.
fn delivery_error(error: AggregateError<DeliveryError>) -> ApiError {
    match error {
        AggregateError::UserError(refused) => ApiError::Conflict(refused.to_string()),
        AggregateError::AggregateConflict => ApiError::Conflict("the delivery was being recorded at the same time; retry".into()),
        AggregateError::DatabaseConnectionError(error) => {
            tracing::warn!(error = %error, "event store unreachable");
            ApiError::Unavailable("the event store is not reachable".into())
        }
        AggregateError::DeserializationError(error) | AggregateError::UnexpectedError(error) => {
            ApiError::Internal(anyhow::anyhow!(error))
        }
    }
}

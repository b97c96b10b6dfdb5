//! Asking the github service: one NATS request on `warp.github.<action>`.

use std::time::Duration;

use async_nats::RequestErrorKind;
use serde::de::DeserializeOwned;
use serde::Serialize;
use warp_events::github::{GithubFailure, GithubFailureKind, GithubReply};
use warp_events::subjects;

use crate::error::ApiError;
use crate::AppState;

/// How long the API waits for the github service (it may read many pages from GitHub).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Sends `body` to `action` of the github service and decodes its reply. Nobody answering →
/// 503; a used-up rate limit → 429 with `Retry-After` (seconds until GitHub's reset) and the
/// reset time in the message; no token → 503 naming the setting; GitHub down → 503.
pub async fn request<Req: Serialize, Resp: DeserializeOwned>(state: &AppState, action: &str, body: &Req) -> Result<Resp, ApiError> {
    let payload = serde_json::to_vec(body).expect("a github request serialises");
    let request = async_nats::Request::new().payload(payload.into()).timeout(Some(REQUEST_TIMEOUT));
    let message = state.nats.send_request(subjects::github_request_subject(action), request).await.map_err(|error| {
        ApiError::Unavailable(match error.kind() {
            RequestErrorKind::NoResponders => "the github service is not running (nothing answers on NATS)".to_owned(),
            RequestErrorKind::TimedOut => format!("the github service did not answer within {} s", REQUEST_TIMEOUT.as_secs()),
            _ => "the github service could not be asked: NATS is not reachable".to_owned(),
        })
    })?;
    match serde_json::from_slice::<GithubReply<Resp>>(&message.payload) {
        Ok(GithubReply::Ok(value)) => Ok(value),
        Ok(GithubReply::Error(failure)) => Err(from_failure(failure)),
        Err(error) => Err(ApiError::Internal(anyhow::anyhow!("unreadable reply of the github service to {action}: {error}"))),
    }
}

fn from_failure(failure: GithubFailure) -> ApiError {
    match failure.kind {
        GithubFailureKind::RateLimited => {
            let retry_after_seconds = failure.reset_at.map(|at| (at - chrono::Utc::now()).num_seconds().max(1) as u64);
            ApiError::RateLimited { message: failure.message, retry_after_seconds }
        }
        GithubFailureKind::BadRequest => ApiError::BadRequest(failure.message),
        GithubFailureKind::NotConfigured | GithubFailureKind::Unavailable => ApiError::Unavailable(failure.message),
    }
}

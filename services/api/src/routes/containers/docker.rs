//! Asking the docker service: one NATS request on `warp.docker.<host>.<action>`.

use std::time::Duration;

use async_nats::RequestErrorKind;
use serde::de::DeserializeOwned;
use serde::Serialize;
use warp_events::docker::{DockerFailure, DockerFailureKind, DockerReply};
use warp_events::subjects;

use crate::error::ApiError;
use crate::AppState;

/// How long the API waits for the docker service to answer.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a docker request gave no result.
#[derive(Debug)]
pub enum DockerCallError {
    /// Nobody answered (no docker service for the host, or it did not answer in time).
    NotAnswering(String),
    /// The docker service answered with a failure (e.g. the engine is unreachable).
    Failed(DockerFailure),
}

impl From<DockerCallError> for ApiError {
    /// Not answering or an unreachable engine → 503 `unavailable`; a refused request → 400;
    /// anything else → 500.
    fn from(error: DockerCallError) -> Self {
        match error {
            DockerCallError::NotAnswering(message) => ApiError::Unavailable(message),
            DockerCallError::Failed(DockerFailure { kind: DockerFailureKind::EngineUnreachable, message }) => {
                ApiError::Unavailable(message)
            }
            DockerCallError::Failed(DockerFailure { kind: DockerFailureKind::BadRequest, message }) => {
                ApiError::BadRequest(message)
            }
            DockerCallError::Failed(failure) => ApiError::Internal(anyhow::anyhow!("docker service: {}", failure.message)),
        }
    }
}

/// Sends `body` to `action` of the configured host's docker service and decodes its reply,
/// waiting at most [`REQUEST_TIMEOUT`].
pub async fn request<Req: Serialize, Resp: DeserializeOwned>(
    state: &AppState,
    action: &str,
    body: &Req,
) -> Result<Resp, DockerCallError> {
    let host = &state.docker_host;
    let subject = subjects::docker_request_subject(host, action);
    let payload = serde_json::to_vec(body).expect("a docker request serialises");
    let request = async_nats::Request::new().payload(payload.into()).timeout(Some(REQUEST_TIMEOUT));
    let not_answering = |why: &str| DockerCallError::NotAnswering(format!("the docker service for host {host:?} {why}"));
    let message = state.nats.send_request(subject, request).await.map_err(|error| match error.kind() {
        RequestErrorKind::NoResponders => not_answering("is not running (nothing answers on NATS)"),
        RequestErrorKind::TimedOut => not_answering("did not answer within 5 s"),
        _ => not_answering("could not be asked: NATS is not reachable"),
    })?;
    match serde_json::from_slice::<DockerReply<Resp>>(&message.payload) {
        Ok(DockerReply::Ok(value)) => Ok(value),
        Ok(DockerReply::Error(failure)) => Err(DockerCallError::Failed(failure)),
        Err(error) => Err(DockerCallError::Failed(DockerFailure {
            kind: DockerFailureKind::Internal,
            message: format!("unreadable reply to {action}: {error}"),
        })),
    }
}

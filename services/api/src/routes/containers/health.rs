//! `GET /health/docker`: whether the docker service and its engine answer.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use warp_events::docker::{ComposeFrontEnd, DockerHealth};
use warp_events::subjects;

use super::docker::{self, DockerCallError};
use crate::AppState;

/// Health of the Docker host.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DockerHealthReport {
    /// `ok` or `unavailable`.
    pub status: &'static str,
    /// The Docker host name asked (`WARP_DOCKER_HOST_NAME`).
    pub host: String,
    /// Whether the engine answered `GET /version`.
    pub engine_reachable: bool,
    /// Engine version, e.g. `20.10.24+dfsg1`.
    pub engine_version: Option<String>,
    /// Engine API version, e.g. `1.41`.
    pub api_version: Option<String>,
    /// `docker compose` (v2) or `docker-compose` (v1) and its version, as found when the docker
    /// service started; null when neither exists or the service did not answer.
    pub compose: Option<ComposeFrontEnd>,
    /// Why the status is `unavailable`.
    pub reason: Option<String>,
}

/// Asks the docker service for the engine's versions and the compose front end: 200 when the
/// engine answers, 503 naming the reason (docker service not answering, engine unreachable).
#[utoipa::path(
    get, path = "/health/docker", tag = "health",
    responses((status = 200, body = DockerHealthReport), (status = 503, body = DockerHealthReport))
)]
pub async fn docker_health(State(state): State<AppState>) -> (StatusCode, axum::Json<DockerHealthReport>) {
    let host = state.docker_host.clone();
    match docker::request::<_, DockerHealth>(&state, subjects::DOCKER_HEALTH, &serde_json::json!({})).await {
        Ok(health) => (
            StatusCode::OK,
            axum::Json(DockerHealthReport {
                status: "ok",
                host,
                engine_reachable: true,
                engine_version: Some(health.engine_version),
                api_version: Some(health.api_version),
                compose: health.compose,
                reason: None,
            }),
        ),
        Err(error) => {
            let reason = match error {
                DockerCallError::NotAnswering(message) => message,
                DockerCallError::Failed(failure) => failure.message,
            };
            let report = DockerHealthReport {
                status: "unavailable",
                host,
                engine_reachable: false,
                engine_version: None,
                api_version: None,
                compose: None,
                reason: Some(reason),
            };
            (StatusCode::SERVICE_UNAVAILABLE, axum::Json(report))
        }
    }
}

//! `/api/containers`, `/api/ports` and `/health/docker`: live reads from the docker service.
//!
//! The API never opens the Docker socket: every answer comes from the docker service of the
//! configured host ([`crate::AppState::docker_host`]) over NATS request-reply
//! ([`docker::request`]); log lines come from the subjects of a log session.

pub mod docker;
pub mod health;
pub mod list;
pub mod logs;
pub mod ports;

use utoipa_axum::{router::OpenApiRouter, routes};

use crate::AppState;

/// The authenticated routes of this area.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list::list_containers))
        .routes(routes!(logs::container_logs))
        .routes(routes!(ports::port_status))
}

/// The public route of this area (`/health/docker`).
pub fn public_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(health::docker_health))
}

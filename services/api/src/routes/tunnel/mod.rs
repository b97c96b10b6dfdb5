//! `/api/tunnel`: the Cloudflare Tunnel as the panel sees it (read only), and
//! `/health/tunnel`. The cloudflare service's library computes them (`warp_cloudflare::status`).

mod health;
mod preview;
mod status;

use utoipa_axum::{router::OpenApiRouter, routes};

use crate::AppState;

/// Routes under `/api`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(status::tunnel_status)).routes(routes!(preview::config_preview))
}

/// Public routes.
pub fn public_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(health::tunnel_health))
}

/// Retries of the read side: two attempts, so a status page answers within seconds.
fn retry() -> warp_cloudflare::config::RetryPolicy {
    warp_cloudflare::config::RetryPolicy {
        max_attempts: 2,
        base_backoff: std::time::Duration::from_millis(200),
        max_backoff: std::time::Duration::from_secs(2),
    }
}

/// The docker service that knows cloudflared's container.
fn docker(state: &AppState) -> warp_cloudflare::status::DockerHost<'_> {
    warp_cloudflare::status::DockerHost { nats: &state.nats, host: &state.docker_host }
}

//! `/api/tunnel`: the Cloudflare Tunnel as the panel sees it (read only), a restart of
//! cloudflared (a job), and
//! `/health/tunnel`. The cloudflare service computes them (`warp_cloudflare::status`) and
//! answers over NATS (`warp_cloudflare::requests`): only it reaches Cloudflare and cloudflared's
//! config file.

mod health;
mod preview;
mod restart;
mod status;

use utoipa_axum::{router::OpenApiRouter, routes};

use crate::AppState;

/// Routes under `/api`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(status::tunnel_status))
        .routes(routes!(preview::config_preview))
        .routes(routes!(restart::restart_tunnel))
}

/// Public routes.
pub fn public_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(health::tunnel_health))
}

/// Asks this panel's cloudflare service for `action` (a `CLOUDFLARE_*` action).
async fn ask<T: serde::de::DeserializeOwned>(state: &AppState, action: &str) -> Result<T, warp_cloudflare::requests::AskError> {
    warp_cloudflare::requests::ask(&state.nats, &state.names.stream, action).await
}

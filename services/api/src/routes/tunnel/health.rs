//! `GET /health/tunnel`.

use axum::extract::State;
use axum::http::StatusCode;
use warp_cloudflare::status::TunnelHealth;
use warp_events::subjects;

use crate::AppState;

/// 200 when the tunnel is reachable, a cloudflared is connected and its ingress is valid;
/// else 503 with the reason (also when the cloudflare service does not answer).
#[utoipa::path(
    get, path = "/health/tunnel", tag = "health",
    responses((status = 200, body = TunnelHealth), (status = 503, body = TunnelHealth))
)]
pub async fn tunnel_health(State(state): State<AppState>) -> (StatusCode, axum::Json<TunnelHealth>) {
    let health = super::ask(&state, subjects::CLOUDFLARE_TUNNEL_HEALTH).await.unwrap_or_else(|error| TunnelHealth {
        status: "unavailable".into(),
        reason: Some(error.to_string()),
        warnings: Vec::new(),
    });
    let status = if health.status == "ok" { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, axum::Json(health))
}

//! `GET /api/tunnel/status`.

use axum::extract::State;
use warp_cloudflare::status::TunnelStatus;

use warp_events::subjects;

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::CurrentUser;
use crate::AppState;

/// The tunnel, its connections, and its ingress rules marked with which are the panel's and
/// which project owns each; `warnings` name problems the panel can see (a token-run tunnel
/// while the local file is edited, a local file of another tunnel), `errors` what could not
/// be read. Admin only: it names every project's hostname. 503 when the cloudflare service
/// does not answer.
#[utoipa::path(
    get, path = "/api/tunnel/status", tag = "tunnel",
    responses((status = 200, body = TunnelStatus), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn tunnel_status(State(state): State<AppState>, user: CurrentUser) -> ApiResult<axum::Json<TunnelStatus>> {
    user.require_admin()?;
    let status = super::ask(&state, subjects::CLOUDFLARE_TUNNEL_STATUS).await.map_err(|e| ApiError::Unavailable(e.to_string()))?;
    Ok(axum::Json(status))
}

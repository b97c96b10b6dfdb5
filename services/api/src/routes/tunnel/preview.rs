//! `GET /api/tunnel/config-preview`.

use axum::extract::State;
use warp_cloudflare::status::ConfigPreview;

use warp_events::subjects;

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::CurrentUser;
use crate::AppState;

/// The ingress (remote mode: the whole `config`; local mode: the whole `config.yml`) the
/// panel would write now, with every published route in place. Writes nothing. 503 when the
/// tunnel is not configured, its configuration cannot be read or the cloudflare service does
/// not answer. Admin only.
#[utoipa::path(
    get, path = "/api/tunnel/config-preview", tag = "tunnel",
    responses((status = 200, body = ConfigPreview), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn config_preview(State(state): State<AppState>, user: CurrentUser) -> ApiResult<axum::Json<ConfigPreview>> {
    user.require_admin()?;
    super::ask(&state, subjects::CLOUDFLARE_TUNNEL_PREVIEW).await.map(axum::Json).map_err(|e| ApiError::Unavailable(e.to_string()))
}

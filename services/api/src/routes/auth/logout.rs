//! `POST /auth/logout`.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use warp_events::session::EndReason;

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::login::session::{self, LiveSession};
use crate::login::cookies;
use crate::routes::CommandContext;
use crate::AppState;

/// Ends the caller's browser session on the server (its cookie stops working at once, on
/// every tab and stream) and records `SessionEnded {reason: logout}`. Needs the CSRF header
/// like every cookie-authenticated change. API tokens are revoked with `DELETE /api/tokens/{id}`.
#[utoipa::path(
    post, path = "/auth/logout", tag = "auth",
    responses(
        (status = 204, description = "Logged out; the cookie is cleared"),
        (status = 400, description = "Not a session (a bearer token)", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, description = "CSRF check failed", body = ErrorBody),
    ),
    security(("session" = []))
)]
pub async fn logout(State(state): State<AppState>, ctx: CommandContext, live: Option<Extension<LiveSession>>) -> ApiResult<Response> {
    let Some(Extension(live)) = live else {
        return Err(ApiError::BadRequest("logout ends a browser session; revoke an API token with DELETE /api/tokens/{id}".into()));
    };
    let row = warp_store::sessions::by_id(&state.pool, live.id).await?.ok_or(ApiError::Unauthorized)?;
    session::end(&state, &row, EndReason::Logout, &ctx.metadata).await?;
    let current = state.settings.load().await.map_err(ApiError::Internal)?;
    let https = current.values.public_url.as_deref().is_some_and(|u| u.starts_with("https://"));
    let clear = [(header::SET_COOKIE, cookies::clear(cookies::SESSION, https))];
    Ok((StatusCode::NO_CONTENT, clear).into_response())
}

//! `GET /api/settings`.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use super::view::SettingsView;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::CurrentUser;
use crate::AppState;

/// The runtime settings, secrets masked. `ETag` is the settings version (send it back as
/// `If-Match` on `PUT`).
#[utoipa::path(
    get, path = "/api/settings", tag = "settings",
    responses((status = 200, body = SettingsView), (status = 401, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn get_settings(State(state): State<AppState>, _user: CurrentUser) -> ApiResult<impl IntoResponse> {
    let current = state.settings.load().await.map_err(super::put::store_error)?;
    let view = SettingsView::of(&current);
    Ok(([(header::ETAG, format!("\"{}\"", view.version))], axum::Json(view)))
}

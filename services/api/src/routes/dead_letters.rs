//! `GET /api/dead-letters`: messages consumers gave up on (admin only).

use axum::extract::State;
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};
use warp_consumer_kit::dead_letters::{self, DeadLetter};
use warp_store::page::clamp_limit;

use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiQuery, CurrentUser};
use crate::AppState;

/// Routes of this area.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_dead_letters))
}

/// Query of `GET /api/dead-letters`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListDeadLetters {
    /// Only this durable consumer's.
    pub consumer: Option<String>,
    /// At most this many, 1-500 (default 50).
    pub limit: Option<i64>,
}

/// Dead letters, newest first.
#[utoipa::path(
    get, path = "/api/dead-letters", tag = "operations",
    params(ListDeadLetters),
    responses((status = 200, body = Vec<DeadLetter>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn list_dead_letters(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(query): ApiQuery<ListDeadLetters>,
) -> ApiResult<axum::Json<Vec<DeadLetter>>> {
    user.require_admin()?;
    let letters = dead_letters::list(&state.pool, query.consumer.as_deref(), clamp_limit(query.limit)).await?;
    Ok(axum::Json(letters))
}

//! `GET /api/projects/{id}`.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use uuid::Uuid;
use warp_store::projections::projects::{self, ProjectView};

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiPath, CurrentUser};
use crate::AppState;

/// One project from the read model; `ETag` is its version (send it back as `If-Match`).
#[utoipa::path(
    get, path = "/api/projects/{id}", tag = "projects",
    params(("id" = Uuid, Path, description = "Project id")),
    responses((status = 200, body = ProjectView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn get_project(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<impl IntoResponse> {
    crate::access::ensure_project(&state.pool, &user.0, id).await?;
    let project = projects::get(&state.pool, id).await?.ok_or_else(|| ApiError::NotFound("project not found".into()))?;
    Ok(([(header::ETAG, format!("\"{}\"", project.version))], axum::Json(project)))
}

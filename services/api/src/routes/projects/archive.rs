//! `POST /api/projects/{id}/archive`.

use axum::extract::State;
use axum::http::StatusCode;
use uuid::Uuid;
use warp_domain::ProjectCommand;

use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiPath, IfMatch};
use crate::routes::CommandContext;
use crate::AppState;

/// Archives a project; it then refuses every change and its name is free again.
#[utoipa::path(
    post, path = "/api/projects/{id}/archive", tag = "projects",
    params(("id" = Uuid, Path, description = "Project id"), ("If-Match" = Option<String>, Header, description = "Expected version")),
    responses(
        (status = 204, description = "Archived"),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn archive_project(
    State(state): State<AppState>,
    ctx: CommandContext,
    ApiPath(id): ApiPath<Uuid>,
    IfMatch(expected_version): IfMatch,
) -> ApiResult<StatusCode> {
    crate::access::ensure_project(&state.pool, &ctx.user.0, id).await?;
    let command = ProjectCommand::Archive { expected_version };
    let lock = state.project_locks.acquire(id).await?;
    let archived = warp_store::event_store::execute_project(&state.projects, id, command, &ctx.metadata).await;
    if archived.is_ok() {
        // An archived project gives its name back.
        warp_store::project_names::release_others(&state.pool, id, None).await?;
        warp_store::project_names::Claims::SUBDOMAINS.release_others(&state.pool, id, None).await?;
    }
    lock.release().await;
    archived?;
    Ok(StatusCode::NO_CONTENT)
}

//! `POST /api/jobs/{id}/cancel`.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use uuid::Uuid;
use warp_domain::JobCommand;

use crate::error::{ApiResult, ErrorBody};
use crate::extract::ApiPath;
use crate::routes::CommandContext;
use crate::AppState;

/// Answer of a cancel request.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CancelAccepted {
    pub job_id: Uuid,
}

/// Cancels a job: a queued job is cancelled at once; a running job's processes (its whole
/// process group) are stopped by its worker, which then marks it cancelled. Follow
/// `GET /api/jobs/{id}` for the outcome.
#[utoipa::path(
    post, path = "/api/jobs/{id}/cancel", tag = "jobs",
    params(("id" = Uuid, Path, description = "Job id")),
    responses(
        (status = 202, description = "Cancel requested", body = CancelAccepted),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "The job has already ended", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn cancel_job(
    State(state): State<AppState>,
    ctx: CommandContext,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<(StatusCode, axum::Json<CancelAccepted>)> {
    let project_id = job_project(&state, id).await?;
    crate::access::ensure_job(&state.pool, &ctx.user.0, project_id).await?;
    warp_store::event_store::execute_job(&state.jobs, id, JobCommand::Cancel, &ctx.metadata).await?;
    tracing::info!(job.id = %id, "job cancel requested");
    Ok((StatusCode::ACCEPTED, axum::Json(CancelAccepted { job_id: id })))
}

/// The project of job `id`, from its `JobQueued` event (the read model may lag behind a job
/// just queued); 404 when there is no such job.
async fn job_project(state: &AppState, id: Uuid) -> ApiResult<Option<Uuid>> {
    let input: Option<serde_json::Value> = sqlx::query_scalar(
        "select payload -> 'JobQueued' -> 'project_id' from events
          where aggregate_type = 'job' and aggregate_id = $1 and sequence = 1",
    )
    .bind(id.to_string())
    .fetch_optional(&state.pool)
    .await?;
    let Some(project) = input else { return Err(crate::error::ApiError::NotFound("job not found".into())) };
    Ok(project.as_str().and_then(|p| p.parse().ok()))
}

//! `GET /api/jobs/{id}`.

use axum::extract::State;
use uuid::Uuid;
use warp_store::projections::jobs::{self, JobView};

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiPath, CurrentUser};
use crate::AppState;

/// One job: status, timings, attempts and error.
#[utoipa::path(
    get, path = "/api/jobs/{id}", tag = "jobs",
    params(("id" = Uuid, Path, description = "Job id")),
    responses((status = 200, body = JobView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn get_job(State(state): State<AppState>, user: CurrentUser, ApiPath(id): ApiPath<Uuid>) -> ApiResult<axum::Json<JobView>> {
    let job = jobs::get(&state.pool, id).await?.ok_or_else(|| ApiError::NotFound("job not found".into()))?;
    crate::access::ensure_job(&state.pool, &user.0, job.project_id).await?;
    Ok(axum::Json(job))
}

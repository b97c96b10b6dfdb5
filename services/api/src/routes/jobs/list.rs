//! `GET /api/jobs`.

use axum::extract::State;
use serde::Deserialize;
use uuid::Uuid;
use warp_domain::JobStatus;
use warp_events::JobType;
use warp_store::page::clamp_limit;
use warp_store::projections::jobs::{self, JobFilter, JobView};

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiQuery, CurrentUser};
use crate::routes::Page;
use crate::AppState;

/// Query of `GET /api/jobs`; filters combine with AND.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListJobs {
    /// `queued`, `running`, `succeeded`, `failed`, `cancelled` or `timed_out`.
    pub status: Option<String>,
    /// `deploy`, `create_from_template`, `quick_service`, `publish_route` or `restart_tunnel`.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub job_type: Option<String>,
    /// Project id.
    pub project: Option<Uuid>,
    /// Cursor from the previous page's `next_cursor`.
    pub before: Option<i64>,
    /// Page size, 1-500 (default 50).
    pub limit: Option<i64>,
}

const STATUSES: [JobStatus; 6] = [
    JobStatus::Queued,
    JobStatus::Running,
    JobStatus::Succeeded,
    JobStatus::Failed,
    JobStatus::Cancelled,
    JobStatus::TimedOut,
];

/// Jobs, newest first.
#[utoipa::path(
    get, path = "/api/jobs", tag = "jobs",
    params(ListJobs),
    responses((status = 200, body = Page<JobView, i64>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn list_jobs(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(query): ApiQuery<ListJobs>,
) -> ApiResult<axum::Json<Page<JobView, i64>>> {
    if let Some(status) = &query.status {
        if !STATUSES.iter().any(|s| s.as_str() == status) {
            return Err(ApiError::BadRequest(format!("unknown job status {status:?}")));
        }
    }
    if let Some(job_type) = &query.job_type {
        if JobType::parse(job_type).is_none() {
            return Err(ApiError::BadRequest(format!("unknown job type {job_type:?}")));
        }
    }
    let limit = clamp_limit(query.limit);
    let filter = JobFilter {
        status: query.status,
        job_type: query.job_type,
        project_id: query.project,
        project_owner: crate::access::owner_filter(&user.0),
        before: query.before,
        limit,
    };
    let items = jobs::list(&state.pool, &filter).await?;
    Ok(axum::Json(Page::new(items, limit, |job| job.queue_position)))
}

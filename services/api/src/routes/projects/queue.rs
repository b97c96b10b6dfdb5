//! Queueing a project's deploy action as a job, and the 202 answer every action gives.

use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use serde::Serialize;
use uuid::Uuid;
use warp_domain::ProjectCommand;
use warp_events::project::DeployAction;

use crate::error::ApiResult;
use crate::routes::CommandContext;
use crate::AppState;

/// Answer of every project action that runs as a job.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ActionAccepted {
    /// The job carrying the action out: follow it at `/api/jobs/{job_id}` and its logs.
    pub job_id: Uuid,
    pub project_id: Uuid,
}

impl ActionAccepted {
    /// `202 Accepted` with `Location: /api/jobs/<job_id>`.
    pub fn response(self) -> impl IntoResponse {
        let location = format!("/api/jobs/{}", self.job_id);
        (StatusCode::ACCEPTED, [(header::LOCATION, location)], axum::Json(self))
    }
}

/// Records the request for `action` on project `project_id`, then queues the job that carries
/// it out. The project decides whether it can take the action (not created, archived, not a
/// compose project: refused, and nothing is recorded). The job is queued right away, so it
/// runs with no relay or consumer involved; should this process stop in between, the docker
/// service's `deployment_requested` handler queues the same job (its id is in the request).
pub async fn queue_action(state: &AppState, ctx: &CommandContext, project_id: Uuid, action: DeployAction) -> ApiResult<ActionAccepted> {
    let job_id = Uuid::now_v7();
    let request = ProjectCommand::RequestDeployment { job_id, action };
    warp_store::event_store::execute_project(&state.projects, project_id, request, &ctx.metadata).await?;
    warp_store::event_store::queue_job(&state.jobs, job_id, action.job_input(project_id), &ctx.metadata).await?;
    tracing::info!(project.id = %project_id, job.id = %job_id, action = ?action, "project action queued");
    Ok(ActionAccepted { job_id, project_id })
}

//! Queueing a project's deploy action as a job, and the 202 answer every action gives.

use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use serde::Serialize;
use uuid::Uuid;
use warp_domain::{JobCommand, ProjectCommand, ProjectError};
use warp_events::project::DeployAction;
use warp_events::JobInput;

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

/// Queues the job for `action` on project `project_id`, then records the request on the
/// project. A project that cannot take the action (archived, not a compose project) is
/// refused before anything is recorded; when it changes in between and refuses the request,
/// the job is cancelled before any worker can start it and the refusal is returned.
pub async fn queue_action(state: &AppState, ctx: &CommandContext, project_id: Uuid, action: DeployAction) -> ApiResult<ActionAccepted> {
    let project = warp_store::event_store::load_project(&state.pool, project_id).await?;
    let refusal = if !project.created {
        Some(ProjectError::NotFound)
    } else if project.archived {
        Some(ProjectError::Archived)
    } else if project.deployment.is_none() {
        Some(ProjectError::NotDeployable)
    } else {
        None
    };
    if let Some(refusal) = refusal {
        return Err(cqrs_es::AggregateError::UserError(refusal).into());
    }
    let input = match action {
        DeployAction::Deploy => JobInput::Deploy { project_id },
        DeployAction::Stop => JobInput::Stop { project_id },
        DeployAction::Start => JobInput::Start { project_id },
        DeployAction::Remove => JobInput::Remove { project_id, volumes: false },
        DeployAction::RemoveWithVolumes => JobInput::Remove { project_id, volumes: true },
    };
    let job_id = Uuid::now_v7();
    let queue = JobCommand::Queue { input, timeout_seconds: None };
    warp_store::event_store::execute_job(&state.jobs, job_id, queue, &ctx.metadata).await?;
    let request = ProjectCommand::RequestDeployment { job_id, action };
    if let Err(refused) = warp_store::event_store::execute_project(&state.projects, project_id, request, &ctx.metadata).await {
        let _ = warp_store::event_store::execute_job(&state.jobs, job_id, JobCommand::Cancel, &ctx.metadata).await;
        return Err(refused.into());
    }
    tracing::info!(project.id = %project_id, job.id = %job_id, action = ?action, "project action queued");
    Ok(ActionAccepted { job_id, project_id })
}

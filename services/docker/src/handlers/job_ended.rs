//! `JobFailed`, `JobTimedOut`, `JobCancelled` of a job the project requested → the project
//! records the failure when nobody else did.
//!
//! A deploy, stop, start or remove job records its own outcome on the project. It cannot when
//! its worker died (the job is then failed as interrupted by the worker that recovers it), or
//! when it was cancelled before it started. Then the project would keep showing its state from
//! before the request, with no error: this handler issues `RecordJobEnded`, and the aggregate
//! records a failed deploy only if the job is still pending there.

use uuid::Uuid;
use warp_consumer_kit::HandlerError;
use warp_domain::{ProjectCommand, ProjectError};
use warp_events::EventEnvelope;
use warp_store::event_store;
use warp_store::projections::jobs;

use super::{command_error, Reactions};

/// Records the end of the job `event` belongs to on its project, if it needs recording.
pub async fn handle(reactions: &Reactions, event: &EventEnvelope) -> Result<(), HandlerError> {
    let job_id: Uuid = event.aggregate_id.parse().map_err(|e: uuid::Error| HandlerError::Permanent(e.into()))?;
    // The jobs read model is written with the event itself: it has this job.
    let Some(job) = jobs::get(&reactions.pool, job_id).await.map_err(HandlerError::from_sqlx)? else {
        return Err(HandlerError::Permanent(anyhow::anyhow!("job {job_id} is not in the jobs read model")));
    };
    let Some(project_id) = job.project_id else { return Ok(()) };
    let message = match event.event_type.as_str() {
        "JobCancelled" if job.started_at.is_none() => format!("the {} job was cancelled before it started", job.job_type),
        "JobCancelled" => format!("the {} job was cancelled", job.job_type),
        _ => job.error_message.clone().unwrap_or_else(|| format!("the {} job {}", job.job_type, job.status)),
    };
    let command = ProjectCommand::RecordJobEnded { job_id, message };
    match event_store::execute_project(&reactions.projects, project_id, command, &reactions.caused_by(event)).await {
        Ok(()) | Err(cqrs_es::AggregateError::UserError(ProjectError::NotFound)) => Ok(()),
        Err(error) => Err(command_error(error)),
    }
}

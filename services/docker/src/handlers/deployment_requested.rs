//! `DeploymentRequested` → the job that carries the action out is queued.
//!
//! The API queues that job itself right after the request is recorded, so a deploy never waits
//! for the relay or this consumer. This handler covers the case where the API stopped in
//! between: the job id is in the event, so both queue the same job and the `Job` aggregate
//! takes only the first.

use uuid::Uuid;
use warp_consumer_kit::HandlerError;
use warp_events::project::DeployAction;
use warp_events::EventEnvelope;
use warp_store::event_store::{self, Queued};

use super::{command_error, Reactions};

/// Queues the job `event` names.
pub async fn handle(reactions: &Reactions, event: &EventEnvelope) -> Result<(), HandlerError> {
    #[derive(serde::Deserialize)]
    struct Requested {
        job_id: Uuid,
        action: DeployAction,
    }
    let requested: Requested =
        serde_json::from_value(event.payload_body().clone()).map_err(|e| HandlerError::Permanent(e.into()))?;
    let project_id: Uuid = event.aggregate_id.parse().map_err(|e: uuid::Error| HandlerError::Permanent(e.into()))?;
    let input = requested.action.job_input(project_id);
    let queued = event_store::queue_job(&reactions.jobs, requested.job_id, input, &reactions.caused_by(event))
        .await
        .map_err(command_error)?;
    if queued == Queued::Now {
        tracing::warn!(project.id = %project_id, job.id = %requested.job_id, "queued a requested job the API had not queued");
    }
    Ok(())
}

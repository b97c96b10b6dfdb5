//! `RepoCreationRequested` → the `create_from_template` job it names is queued.
//!
//! The API queues that job itself right after the request is recorded, so a creation never
//! waits for the relay or this consumer. This handler covers an API that stopped in between:
//! the job id is in the event, so both queue the same job and the `Job` aggregate takes only
//! the first.

use uuid::Uuid;
use warp_consumer_kit::HandlerError;
use warp_events::job::CreateFromTemplateInput;
use warp_events::EventEnvelope;
use warp_store::event_store::{self, Queued};

use super::{caused_by, command_error};
use crate::Services;

/// Queues the job `event` names.
pub async fn handle(svc: &Services, event: &EventEnvelope) -> Result<(), HandlerError> {
    #[derive(serde::Deserialize)]
    struct Requested {
        job_id: Uuid,
    }
    let requested: Requested =
        serde_json::from_value(event.payload_body().clone()).map_err(|e| HandlerError::Permanent(e.into()))?;
    let project_id: Uuid = event.aggregate_id.parse().map_err(|e: uuid::Error| HandlerError::Permanent(e.into()))?;
    let input = CreateFromTemplateInput { project_id }.into();
    let queued = event_store::queue_job(&svc.jobs, requested.job_id, input, &caused_by(svc, event)).await.map_err(command_error)?;
    if queued == Queued::Now {
        tracing::warn!(project.id = %project_id, job.id = %requested.job_id, "queued a requested repository creation the API had not queued");
    }
    Ok(())
}

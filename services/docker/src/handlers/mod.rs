//! The docker service's reactions to events (consumer `docker-jobs`, `nats/consumers/`): one
//! file per event it reacts to. Each decides, then issues follow-up commands; nothing here runs
//! a compose command itself (that is a job's work, see [`crate::jobs`]).
//!
//! - [`deployment_requested`]: `DeploymentRequested` → the requested job is queued (the API
//!   queues it too; whoever is first wins, the other finds it queued).
//! - [`job_ended`]: `JobFailed`, `JobTimedOut`, `JobCancelled` of a project job → the project
//!   records the failure when the job's worker could not (it died, or the job was cancelled
//!   before it started).
//!
//! Follow-up commands carry `actor = system:<worker>`, `causation_id` = the event's message id
//! and the event's correlation id.

pub mod deployment_requested;
pub mod job_ended;

use sqlx::{PgConnection, PgPool};
use warp_consumer_kit::{Handler, HandlerError};
use warp_events::{EventEnvelope, EventMetadata};
use warp_store::event_store::{JobCqrs, ProjectCqrs};

/// What the handlers reach.
pub struct Reactions {
    pub pool: PgPool,
    pub projects: ProjectCqrs,
    pub jobs: JobCqrs,
    /// This worker's name (`docker@<host>:<pid>`), the actor of follow-up commands.
    pub worker: String,
}

impl Reactions {
    /// Metadata of a command that `event` caused.
    fn caused_by(&self, event: &EventEnvelope) -> EventMetadata {
        EventMetadata {
            actor: Some(format!("system:{}", self.worker)),
            request_id: None,
            correlation_id: event.metadata.correlation_id.clone(),
            causation_id: Some(event.message_id()),
        }
    }
}

impl Handler for Reactions {
    async fn handle(&self, _tx: &mut PgConnection, event: &EventEnvelope) -> Result<(), HandlerError> {
        match (event.aggregate_type.as_str(), event.event_type.as_str()) {
            (warp_events::project::AGGREGATE_TYPE, "DeploymentRequested") => deployment_requested::handle(self, event).await,
            (warp_events::job::AGGREGATE_TYPE, "JobFailed" | "JobTimedOut" | "JobCancelled") => job_ended::handle(self, event).await,
            // The consumer's filter sends nothing else.
            _ => Ok(()),
        }
    }
}

/// A command error as a handler error: the event store unreachable is `Unavailable` (retried
/// until it is back), a conflict that outlived the retries `Transient`, anything else
/// `Permanent` (the command can never succeed: dead-letter it).
fn command_error<E: std::error::Error + Send + Sync + 'static>(error: cqrs_es::AggregateError<E>) -> HandlerError {
    match error {
        cqrs_es::AggregateError::AggregateConflict => HandlerError::Transient(anyhow::anyhow!("{error}")),
        cqrs_es::AggregateError::DatabaseConnectionError(_) => HandlerError::Unavailable(anyhow::anyhow!("{error}")),
        other => HandlerError::Permanent(anyhow::anyhow!("{other}")),
    }
}

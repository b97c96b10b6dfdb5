//! Consumer `github` (`nats/consumers/github.json`): one file per event it reacts to. Each
//! decides, then issues follow-up commands; nothing here calls GitHub or runs git (that is a
//! job's work, see [`crate::jobs`]).
//!
//! - [`repo_creation_requested`]: `RepoCreationRequested` → the `create_from_template` job it
//!   names is queued (the API queues it too; whoever is first wins, the other finds it queued).
//! - [`push_received`]: `GithubPushReceived` (a webhook delivery) → the redeploy of every live
//!   project deployed from the pushed repository and ref.
//! - [`deployment_configured`]: `DeploymentConfigured` with a GitHub source → an
//!   `ensure_webhook` job (when `public_url` and `github_webhook_secret` are set).
//!
//! To react to another event: add its subject to the consumer's `filter_subjects`, a file
//! here with a `handle` function, and its arm in [`GithubHandler::handle`].
//!
//! Follow-up commands carry `actor = system:<worker>`, `causation_id` = the event's message id
//! and the event's correlation id ([`caused_by`]).

pub mod deployment_configured;
pub mod push_received;
pub mod repo_creation_requested;

use std::sync::Arc;

use sqlx::PgConnection;
use warp_consumer_kit::{Handler, HandlerError};
use warp_events::{EventEnvelope, EventMetadata};

use crate::Services;

/// The handler of consumer `github`.
pub struct GithubHandler(pub Arc<Services>);

impl Handler for GithubHandler {
    async fn handle(&self, _tx: &mut PgConnection, event: &EventEnvelope) -> Result<(), HandlerError> {
        let svc = &self.0;
        match (event.aggregate_type.as_str(), event.event_type.as_str()) {
            (warp_events::project::AGGREGATE_TYPE, "RepoCreationRequested") => repo_creation_requested::handle(svc, event).await,
            (warp_events::project::AGGREGATE_TYPE, "DeploymentConfigured") => deployment_configured::handle(svc, event).await,
            (warp_events::github_delivery::AGGREGATE_TYPE, "GithubPushReceived") => push_received::handle(svc, event).await,
            // The consumer's filter sends nothing else.
            _ => Ok(()),
        }
    }
}

/// Metadata of a follow-up command caused by `event`.
pub fn caused_by(svc: &Services, event: &EventEnvelope) -> EventMetadata {
    EventMetadata {
        actor: Some(format!("system:{}", svc.config.runner.worker)),
        request_id: None,
        correlation_id: event.metadata.correlation_id.clone(),
        causation_id: Some(event.message_id()),
    }
}

/// A command error as a handler error: the event store unreachable is `Unavailable`, a
/// conflict that outlived the retries `Transient`, anything else `Permanent`.
pub fn command_error<E: std::error::Error + Send + Sync + 'static>(error: cqrs_es::AggregateError<E>) -> HandlerError {
    match error {
        cqrs_es::AggregateError::AggregateConflict => HandlerError::Transient(anyhow::anyhow!("{error}")),
        cqrs_es::AggregateError::DatabaseConnectionError(_) => HandlerError::Unavailable(anyhow::anyhow!("{error}")),
        other => HandlerError::Permanent(anyhow::anyhow!("{other}")),
    }
}

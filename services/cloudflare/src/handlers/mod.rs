//! Consumer `cloudflare`: one file per project event it reacts to. Each decides, then issues
//! follow-up commands: a `publish_route` job (id derived from the event's message id, so a
//! redelivered event queues nothing twice) or a scheduled unpublish (the ownership row's
//! `unpublish_at`, written in the consumer's transaction, and `RouteUnpublishScheduled` on
//! the project). [`crate::sweeper`] queues the unpublish once it is due.

pub mod project_archived;
pub mod project_removed;
pub mod route_requested;
pub mod route_withdrawn;
pub mod settings_updated;

use std::sync::Arc;

use sqlx::PgConnection;
use uuid::Uuid;
use warp_consumer_kit::{Handler, HandlerError};
use warp_domain::ProjectCommand;
use warp_events::job::{job_id_for_event, PublishRouteInput};
use warp_events::{EventEnvelope, EventMetadata, JobType, ProjectEvent};
use warp_store::event_store::Queued;

use crate::Services;

/// Namespace of the `unpublish_route` job ids the sweeper derives from a hostname and its due
/// time (UUIDv5).
pub const JOB_ID_NAMESPACE: Uuid = Uuid::from_u128(0x5761_7270_2d63_6c6f_7564_666c_6172_6501);

/// The handler of consumer `cloudflare`.
pub struct CloudflareHandler(pub Arc<Services>);

impl Handler for CloudflareHandler {
    async fn handle(&self, tx: &mut PgConnection, event: &EventEnvelope) -> Result<(), HandlerError> {
        if event.aggregate_type != warp_events::project::AGGREGATE_TYPE
            || !matches!(
                event.event_type.as_str(),
                "RouteRequested" | "RouteWithdrawn" | "ProjectRemoved" | "ProjectArchived" | "ProjectSettingsUpdated"
            )
        {
            return Ok(());
        }
        let Ok(project_id) = event.aggregate_id.parse::<Uuid>() else { return Ok(()) };
        let parsed: ProjectEvent =
            serde_json::from_value(event.payload.clone()).map_err(|e| HandlerError::Permanent(e.into()))?;
        let svc = &self.0;
        match parsed {
            ProjectEvent::RouteRequested { .. } => route_requested::handle(svc, event, project_id).await,
            ProjectEvent::RouteWithdrawn {} => route_withdrawn::handle(svc, tx, event, project_id).await,
            ProjectEvent::ProjectRemoved { .. } => project_removed::handle(svc, tx, event, project_id).await,
            ProjectEvent::ProjectArchived {} => project_archived::handle(svc, tx, event, project_id).await,
            ProjectEvent::ProjectSettingsUpdated { subdomain, .. } => {
                settings_updated::handle(svc, tx, event, project_id, subdomain).await
            }
            _ => Ok(()),
        }
    }
}

/// Metadata of a follow-up command caused by `event`.
fn caused_by(svc: &Services, event: &EventEnvelope) -> EventMetadata {
    EventMetadata {
        actor: Some(format!("system:{}", svc.config.runner.worker)),
        request_id: None,
        correlation_id: event.metadata.correlation_id.clone(),
        causation_id: Some(event.message_id()),
    }
}

/// Queues a `publish_route` job for `project_id`, once per `event`.
pub async fn queue_publish(svc: &Services, event: &EventEnvelope, project_id: Uuid) -> Result<(), HandlerError> {
    let id = job_id_for_event(&event.message_id(), JobType::PublishRoute);
    let input = PublishRouteInput { project_id }.into();
    match warp_store::event_store::queue_job(&svc.jobs, id, input, &caused_by(svc, event)).await {
        Ok(Queued::Now) => {
            tracing::info!(project.id = %project_id, job.id = %id, "publish_route queued");
            Ok(())
        }
        Ok(Queued::Already) => Ok(()),
        Err(error) => Err(HandlerError::Transient(anyhow::anyhow!("queueing publish_route: {error}"))),
    }
}

/// Schedules the unpublish of every hostname the panel published for `project_id` except
/// `keep`, after the grace period (`route_grace_seconds`), and records it on the project.
pub async fn schedule_unpublish(
    svc: &Services,
    tx: &mut PgConnection,
    event: &EventEnvelope,
    project_id: Uuid,
    keep: Option<&str>,
) -> Result<(), HandlerError> {
    let current = svc.settings.load().await.map_err(HandlerError::Transient)?;
    let grace = current.values.route_grace_seconds as f64;
    let due: Vec<(String, chrono::DateTime<chrono::Utc>)> = sqlx::query_as(
        "update cloudflare_routes set unpublish_at = now() + make_interval(secs => $3)
          where project_id = $1 and unpublish_at is null and ($2::text is null or hostname <> $2)
          returning hostname, unpublish_at",
    )
    .bind(project_id)
    .bind(keep)
    .bind(grace)
    .fetch_all(&mut *tx)
    .await
    .map_err(HandlerError::from_sqlx)?;
    for (hostname, at) in due {
        tracing::info!(project.id = %project_id, hostname = %hostname, unpublish_at = %at, "route unpublish scheduled");
        let command = ProjectCommand::ScheduleRouteUnpublish { hostname, at };
        warp_store::event_store::execute_project(&svc.projects, project_id, command, &caused_by(svc, event))
            .await
            .map_err(|e| HandlerError::Transient(anyhow::anyhow!("recording the scheduled unpublish: {e}")))?;
    }
    Ok(())
}

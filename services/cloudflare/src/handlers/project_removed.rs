//! `ProjectRemoved` → schedule the unpublish of the project's routes after the grace period:
//! the project's containers were removed (compose down); a stopped container keeps its route.

use sqlx::PgConnection;
use uuid::Uuid;
use warp_consumer_kit::HandlerError;
use warp_events::EventEnvelope;

use crate::Services;

/// Schedules the unpublish of every hostname published for the project.
pub async fn handle(svc: &Services, tx: &mut PgConnection, event: &EventEnvelope, project_id: Uuid) -> Result<(), HandlerError> {
    super::schedule_unpublish(svc, tx, event, project_id, None).await
}

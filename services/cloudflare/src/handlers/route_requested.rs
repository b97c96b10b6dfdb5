//! `RouteRequested` → queue `publish_route` (the job reads the route from the project).

use uuid::Uuid;
use warp_consumer_kit::HandlerError;
use warp_events::EventEnvelope;

use crate::Services;

/// Queues the publish.
pub async fn handle(svc: &Services, event: &EventEnvelope, project_id: Uuid) -> Result<(), HandlerError> {
    super::queue_publish(svc, event, project_id).await
}

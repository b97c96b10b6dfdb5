//! Consumer `projections`: project events → the `projects` read model.

use sqlx::PgConnection;
use warp_consumer_kit::{Handler, HandlerError};
use warp_events::EventEnvelope;
use warp_store::projections::{projects, ProjectionError};

/// Applies project events in per-project order (an out-of-order event is retried).
pub struct ProjectsHandler;

impl Handler for ProjectsHandler {
    async fn handle(&self, tx: &mut PgConnection, event: &EventEnvelope) -> Result<(), HandlerError> {
        projects::apply(tx, event).await.map_err(|error| match error {
            ProjectionError::Malformed { .. } => HandlerError::Permanent(error.into()),
            ProjectionError::Gap { .. } | ProjectionError::Database(_) => HandlerError::Transient(error.into()),
        })
    }
}

//! Consumer `projections`: project and job events → the `projects` and `jobs` read models.

use sqlx::PgConnection;
use warp_consumer_kit::{Handler, HandlerError};
use warp_events::EventEnvelope;
use warp_store::projections::{jobs, projects, ProjectionError};

/// Applies each aggregate's events in order (an out-of-order event is retried).
pub struct ReadModelsHandler;

impl Handler for ReadModelsHandler {
    async fn handle(&self, tx: &mut PgConnection, event: &EventEnvelope) -> Result<(), HandlerError> {
        let applied = match event.aggregate_type.as_str() {
            warp_events::project::AGGREGATE_TYPE => projects::apply(tx, event).await,
            warp_events::job::AGGREGATE_TYPE => jobs::apply(tx, event).await,
            _ => Ok(()),
        };
        applied.map_err(|error| match error {
            ProjectionError::Malformed { .. } => HandlerError::Permanent(error.into()),
            ProjectionError::Database(error) => HandlerError::from_sqlx(error),
            ProjectionError::Gap { .. } => HandlerError::Transient(error.into()),
        })
    }
}

//! Consumer `projections`: project events → the `projects` read model. (The `jobs` read model
//! is kept by the database in the appending transaction: see `warp_store::projections::jobs`.)

use sqlx::PgConnection;
use warp_consumer_kit::{Handler, HandlerError};
use warp_events::EventEnvelope;
use warp_store::projections::{projects, ProjectionError};

/// Applies each aggregate's events in order (an out-of-order event is retried).
pub struct ReadModelsHandler;

impl Handler for ReadModelsHandler {
    async fn handle(&self, tx: &mut PgConnection, event: &EventEnvelope) -> Result<(), HandlerError> {
        let applied = match event.aggregate_type.as_str() {
            warp_events::project::AGGREGATE_TYPE => projects::apply(tx, event).await,
            _ => Ok(()),
        };
        applied.map_err(|error| match error {
            ProjectionError::Malformed { .. } => HandlerError::Permanent(error.into()),
            ProjectionError::Database(error) => HandlerError::from_sqlx(error),
            ProjectionError::Gap { .. } => HandlerError::Transient(error.into()),
        })
    }
}

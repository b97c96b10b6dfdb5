//! Consumer `projections`: project events → the `projects` read model. (The `jobs` read model
//! is kept by the database in the appending transaction: see `warp_store::projections::jobs`.)

use sqlx::PgConnection;
use warp_consumer_kit::{Handler, HandlerError};
use warp_events::EventEnvelope;
use warp_store::projections::{projects, ProjectionError};

/// Applies each aggregate's events in order (an out-of-order event is retried); a batch's
/// project events with one read and one write of the rows they touch.
pub struct ReadModelsHandler;

impl Handler for ReadModelsHandler {
    async fn handle(&self, tx: &mut PgConnection, event: &EventEnvelope) -> Result<(), HandlerError> {
        projects::apply(tx, event).await.map_err(handler_error)
    }

    async fn handle_batch(&self, tx: &mut PgConnection, events: &[&EventEnvelope]) -> Result<(), HandlerError> {
        projects::apply_all(tx, events).await.map_err(handler_error)
    }
}

fn handler_error(error: ProjectionError) -> HandlerError {
    match error {
        ProjectionError::Malformed { .. } => HandlerError::Permanent(error.into()),
        ProjectionError::Database(error) => HandlerError::from_sqlx(error),
        ProjectionError::Gap { .. } => HandlerError::Transient(error.into()),
    }
}

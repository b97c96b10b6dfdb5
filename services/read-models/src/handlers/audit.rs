//! Consumer `audit`: one audit row per event.

use sqlx::PgConnection;
use warp_consumer_kit::{Handler, HandlerError};
use warp_events::EventEnvelope;
use warp_store::projections::audit;

/// Writes the audit row of every event (a batch's rows in one statement).
pub struct AuditHandler;

impl Handler for AuditHandler {
    async fn handle(&self, tx: &mut PgConnection, event: &EventEnvelope) -> Result<(), HandlerError> {
        audit::apply(tx, event).await.map_err(HandlerError::from_sqlx)
    }

    async fn handle_batch(&self, tx: &mut PgConnection, events: &[&EventEnvelope]) -> Result<(), HandlerError> {
        audit::apply_all(tx, events).await.map_err(HandlerError::from_sqlx)
    }
}

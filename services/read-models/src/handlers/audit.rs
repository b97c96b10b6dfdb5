//! Consumer `audit`: one audit row per event.

use sqlx::PgConnection;
use warp_consumer_kit::{Handler, HandlerError};
use warp_events::EventEnvelope;
use warp_store::projections::audit;

/// Writes the audit row of every event.
pub struct AuditHandler;

impl Handler for AuditHandler {
    async fn handle(&self, tx: &mut PgConnection, event: &EventEnvelope) -> Result<(), HandlerError> {
        audit::apply(tx, event).await.map_err(HandlerError::from_sqlx)
    }
}

//! Read models, each its own table, updated idempotently from events.
//!
//! Projection updates take a connection inside the consumer's transaction (the one that also
//! records the consumer inbox row), so an event is applied exactly once in effect.

pub mod audit;
pub mod jobs;
pub mod projects;
pub mod rebuild;

/// Why a projection could not apply an event.
#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    /// An earlier event of the same aggregate has not been applied yet (it will be redelivered);
    /// retrying later succeeds.
    #[error("event {sequence} of {aggregate_id} arrived before event {expected}")]
    Gap { aggregate_id: String, sequence: i64, expected: i64 },
    /// The event payload does not match the event type it claims (never retried).
    #[error("malformed {event_type} payload: {source}")]
    Malformed { event_type: String, source: serde_json::Error },
    /// Postgres failed (retried).
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// The event `envelope` holds for a read model keyed by aggregate id in `table` (a constant of
/// this crate), if it is the next one to apply: `None` for another aggregate type, a non-UUID
/// id, or an event already applied (sequence ≤ the row's `version`). Locks the row.
///
/// # Errors
/// [`ProjectionError::Gap`] when an earlier event is missing; [`ProjectionError::Malformed`]
/// when the payload is not an `E`.
async fn next_event<E: serde::de::DeserializeOwned>(
    conn: &mut sqlx::PgConnection,
    table: &'static str,
    aggregate_type: &str,
    envelope: &warp_events::EventEnvelope,
) -> Result<Option<(uuid::Uuid, E)>, ProjectionError> {
    if envelope.aggregate_type != aggregate_type {
        return Ok(None);
    }
    let Ok(id) = envelope.aggregate_id.parse::<uuid::Uuid>() else {
        return Ok(None);
    };
    let event: E = serde_json::from_value(envelope.payload.clone())
        .map_err(|source| ProjectionError::Malformed { event_type: envelope.event_type.clone(), source })?;
    let version: Option<i64> = sqlx::query_scalar(&format!("select version from {table} where id = $1 for update"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    let current = version.unwrap_or(0);
    if envelope.sequence <= current {
        return Ok(None);
    }
    if envelope.sequence != current + 1 {
        return Err(ProjectionError::Gap {
            aggregate_id: envelope.aggregate_id.clone(),
            sequence: envelope.sequence,
            expected: current + 1,
        });
    }
    Ok(Some((id, event)))
}

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

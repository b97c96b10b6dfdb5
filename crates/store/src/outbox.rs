//! Operator view of the transactional outbox: rows the relay set aside as unpublishable, and
//! the two ways out (`warp outbox retry`, `warp outbox skip`).
//!
//! A row is *stuck* when it can never be published as it is (its envelope is larger than
//! [`warp_events::MAX_ENVELOPE_BYTES`] or than the NATS server's `max_payload`). The relay
//! marks it once, logs it once, and publishes everything else; later rows of the same
//! aggregate wait behind it so per-aggregate order holds.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

/// A stuck outbox row, for `warp outbox stuck` and `/healthz`.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct StuckRow {
    /// Outbox row id (what `retry` and `skip` take).
    pub id: i64,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    pub event_type: String,
    /// Size of the stored payload, bytes.
    pub payload_bytes: i64,
    /// Rows of the same aggregate waiting behind it.
    pub waiting_behind: i64,
    pub stuck_at: DateTime<Utc>,
    /// Why it cannot be published.
    pub last_error: Option<String>,
}

/// Every stuck row, oldest first.
pub async fn stuck(pool: &PgPool) -> sqlx::Result<Vec<StuckRow>> {
    sqlx::query_as(
        "select o.id, e.aggregate_type, e.aggregate_id, e.sequence, e.event_type,
                octet_length(e.payload::text)::bigint as payload_bytes,
                (select count(*) from event_outbox w join events we using (global_position)
                  where w.published_at is null and w.skipped_at is null
                    and we.aggregate_type = e.aggregate_type and we.aggregate_id = e.aggregate_id
                    and we.sequence > e.sequence) as waiting_behind,
                o.stuck_at, o.last_error
           from event_outbox o join events e using (global_position)
          where o.stuck_at is not null and o.published_at is null and o.skipped_at is null
          order by o.id",
    )
    .fetch_all(pool)
    .await
}

/// Number of stuck rows.
pub async fn stuck_count(pool: &PgPool) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "select count(*) from event_outbox where stuck_at is not null and published_at is null and skipped_at is null",
    )
    .fetch_one(pool)
    .await
}

/// Clears the stuck mark of row `id` (all stuck rows when `None`) so the relay tries again,
/// e.g. after NATS' `max_payload` was raised. Returns how many rows were cleared.
pub async fn retry(pool: &PgPool, id: Option<i64>) -> sqlx::Result<u64> {
    let done = sqlx::query(
        "update event_outbox set stuck_at = null
          where stuck_at is not null and published_at is null and skipped_at is null and ($1::bigint is null or id = $1)",
    )
    .bind(id)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

/// Skips stuck row `id`: it is never published, and its aggregate's later rows go on.
/// Consumers then see a gap in that aggregate's sequence (they dead-letter what follows it):
/// rebuild the read models afterwards (`warp read-models rebuild`). Returns whether a stuck
/// row with that id existed. Only stuck rows can be skipped.
pub async fn skip(pool: &PgPool, id: i64) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "update event_outbox set skipped_at = now()
          where id = $1 and stuck_at is not null and published_at is null and skipped_at is null",
    )
    .bind(id)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

//! Dead letters: messages a consumer stopped retrying. Operators list them with
//! `warp dead-letters` or `GET /api/dead-letters`.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;

/// One message a consumer gave up on.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct DeadLetter {
    pub id: i64,
    /// Durable consumer name.
    pub consumer: String,
    /// `Nats-Msg-Id` of the message, when it had one.
    pub message_id: Option<String>,
    pub subject: String,
    /// Sequence of the message in the event stream.
    pub stream_sequence: i64,
    /// Deliveries attempted before giving up.
    pub deliveries: i64,
    /// The last error, with its cause chain.
    pub error: String,
    /// The message body (an event envelope, which holds no secrets), lossily decoded as UTF-8.
    pub payload: String,
    pub created_at: DateTime<Utc>,
}

/// What is recorded for a new dead letter.
#[derive(Debug, Clone)]
pub struct NewDeadLetter<'a> {
    pub consumer: &'a str,
    pub message_id: Option<&'a str>,
    pub subject: &'a str,
    pub stream_sequence: u64,
    pub deliveries: i64,
    pub error: &'a str,
    pub payload: &'a [u8],
}

/// Records a dead letter (updates it if the same message was dead-lettered before).
pub async fn record(pool: &PgPool, letter: NewDeadLetter<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "insert into dead_letters (consumer, message_id, subject, stream_sequence, deliveries, error, payload)
         values ($1, $2, $3, $4, $5, $6, $7)
         on conflict (consumer, stream_sequence)
         do update set deliveries = excluded.deliveries, error = excluded.error, created_at = now()",
    )
    .bind(letter.consumer)
    .bind(letter.message_id)
    .bind(letter.subject)
    .bind(letter.stream_sequence as i64)
    .bind(letter.deliveries)
    .bind(letter.error)
    .bind(String::from_utf8_lossy(letter.payload).into_owned())
    .execute(pool)
    .await?;
    Ok(())
}

/// Dead letters, newest first, optionally of one consumer; at most `limit`.
pub async fn list(pool: &PgPool, consumer: Option<&str>, limit: i64) -> sqlx::Result<Vec<DeadLetter>> {
    sqlx::query_as(
        "select * from dead_letters where ($1::text is null or consumer = $1) order by id desc limit $2",
    )
    .bind(consumer)
    .bind(limit)
    .fetch_all(pool)
    .await
}

//! Re-driving dead letters (`warp dead-letters retry`): each dead letter's event is applied
//! again through its consumer's [`Handler`] under the same rules as a delivery (inbox claim,
//! handler and the removal of the dead letter in one transaction), oldest stream position
//! first, so an aggregate whose events were dead-lettered one after the other catches up in
//! order.

use serde::Serialize;
use sqlx::PgPool;
use warp_events::EventEnvelope;

use crate::dead_letters::DeadLetter;
use crate::{inbox, Handler};

/// What re-driving one dead letter did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome", content = "error")]
pub enum Redriven {
    /// The handler applied the event; the dead letter is gone.
    Applied,
    /// The inbox shows the event was applied since; the dead letter is gone.
    AlreadyApplied,
    /// The handler failed again; the dead letter stays, with this error.
    Failed(String),
}

/// Dead letters of `consumer` (only `id` when given), oldest stream position first.
pub async fn select(pool: &PgPool, consumer: &str, id: Option<i64>) -> sqlx::Result<Vec<DeadLetter>> {
    sqlx::query_as(
        "select * from dead_letters where consumer = $1 and ($2::bigint is null or id = $2) order by stream_sequence, id",
    )
    .bind(consumer)
    .bind(id)
    .fetch_all(pool)
    .await
}

/// Re-applies `letter` through `handler` (which must be the handler of `letter.consumer`).
///
/// # Errors
/// Only when Postgres fails outside the handler; a handler error is [`Redriven::Failed`].
pub async fn reapply<H: Handler>(pool: &PgPool, handler: &H, letter: &DeadLetter) -> sqlx::Result<Redriven> {
    let envelope: EventEnvelope = match serde_json::from_str(&letter.payload) {
        Ok(envelope) => envelope,
        Err(error) => return record_failure(pool, letter, &format!("the dead letter is not an event envelope: {error}")).await,
    };
    let message_id = letter.message_id.clone().unwrap_or_else(|| envelope.message_id());
    let mut tx = pool.begin().await?;
    let outcome = if inbox::claim(&mut tx, &letter.consumer, &message_id).await? {
        if let Err(error) = handler.handle(&mut tx, &envelope).await {
            drop(tx);
            return record_failure(pool, letter, &error.to_string()).await;
        }
        Redriven::Applied
    } else {
        Redriven::AlreadyApplied
    };
    sqlx::query("delete from dead_letters where id = $1").bind(letter.id).execute(&mut *tx).await?;
    tx.commit().await?;
    tracing::info!(consumer = %letter.consumer, message.id = %message_id, outcome = ?outcome, "dead letter re-driven");
    Ok(outcome)
}

/// Re-applies every dead letter of `consumer` (only `id` when given) through `handler`, oldest
/// first; returns each letter with what happened to it.
///
/// # Errors
/// When Postgres fails outside a handler.
pub async fn retry<H: Handler>(
    pool: &PgPool,
    consumer: &str,
    handler: &H,
    id: Option<i64>,
) -> sqlx::Result<Vec<(DeadLetter, Redriven)>> {
    let mut done = Vec::new();
    for letter in select(pool, consumer, id).await? {
        let outcome = reapply(pool, handler, &letter).await?;
        done.push((letter, outcome));
    }
    Ok(done)
}

async fn record_failure(pool: &PgPool, letter: &DeadLetter, error: &str) -> sqlx::Result<Redriven> {
    sqlx::query("update dead_letters set error = $2 where id = $1").bind(letter.id).bind(error).execute(pool).await?;
    Ok(Redriven::Failed(error.to_owned()))
}

//! The consumer inbox: `(consumer, message_id)` rows written in the consumer's transaction.

use sqlx::PgConnection;

/// Claims `message_id` for `consumer` inside the caller's transaction. Returns `false` when
/// it was processed before (the caller then skips the effect and acks).
pub async fn claim(tx: &mut PgConnection, consumer: &str, message_id: &str) -> sqlx::Result<bool> {
    let result = sqlx::query(
        "insert into consumer_inbox (consumer, message_id) values ($1, $2) on conflict do nothing",
    )
    .bind(consumer)
    .bind(message_id)
    .execute(tx)
    .await?;
    Ok(result.rows_affected() == 1)
}

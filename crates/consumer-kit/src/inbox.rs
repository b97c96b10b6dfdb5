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

/// Claims every id of `message_ids` for `consumer` inside the caller's transaction, in one
/// statement; returns the ids that were not processed before (the others are skipped).
pub async fn claim_all(
    tx: &mut PgConnection,
    consumer: &str,
    message_ids: &[String],
) -> sqlx::Result<std::collections::HashSet<String>> {
    let claimed: Vec<String> = sqlx::query_scalar(
        "insert into consumer_inbox (consumer, message_id)
         select $1, id from unnest($2::text[]) as ids(id)
         on conflict do nothing
         returning message_id",
    )
    .bind(consumer)
    .bind(message_ids)
    .fetch_all(tx)
    .await?;
    Ok(claimed.into_iter().collect())
}

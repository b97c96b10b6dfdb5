//! One relay batch: take pending rows, publish them in order per aggregate, mark them.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use anyhow::Context;
use async_nats::jetstream::context::PublishErrorKind;
use async_nats::HeaderMap;
use tokio::time::timeout;
use warp_events::subjects::{CORRELATION_HEADER, MSG_ID_HEADER};
use warp_events::{EventEnvelope, MAX_ENVELOPE_BYTES};

use super::{BatchOutcome, CrashPoint, Crashed, LostLeadership, Relay};
use crate::events::{EventRow, EVENT_COLUMNS};

/// After this many failed publishes in a row (and none succeeding between them) the batch
/// ends: NATS is probably unreachable, and every further row would wait for its ack timeout.
const FAILURES_IN_A_ROW: usize = 3;

/// Longest run of publishes between two leadership checks within a batch. A relay that lost
/// its lock publishes for at most this long before it notices and rolls back; what it
/// published meanwhile is a duplicate JetStream drops by `Nats-Msg-Id` (the outbox rows stay
/// locked by its transaction until then, so the new leader cannot publish ahead of it).
pub const LEADER_CHECK_INTERVAL: Duration = Duration::from_millis(50);

#[derive(sqlx::FromRow)]
struct PendingRow {
    outbox_id: i64,
    #[sqlx(flatten)]
    event: EventRow,
}

/// Why one row was not published.
enum Failure {
    /// It never will be as it is (too large): mark it stuck.
    Permanent(String),
    /// Try again in a later batch.
    Transient(anyhow::Error),
}

impl Relay {
    /// Publishes one batch of pending outbox rows in one transaction. Rows of an aggregate
    /// with a stuck row are not taken; a row that fails skips only its own aggregate's later
    /// rows in the batch. With `lock` (the leadership connection), leadership is checked before
    /// the first publish, again before a publish once [`LEADER_CHECK_INTERVAL`] has passed since
    /// the last check, and before the commit.
    ///
    /// # Errors
    /// Postgres errors; [`LostLeadership`] (the batch is rolled back); the first publish error
    /// when every publish of the batch failed (rows before it stay published and marked).
    pub async fn publish_batch(&self, mut lock: Option<&mut sqlx::PgConnection>) -> anyhow::Result<BatchOutcome> {
        let mut tx = self.pool.begin().await.context("starting relay transaction")?;
        let sql = format!(
            "select o.id as outbox_id, {EVENT_COLUMNS}
               from event_outbox o join events e using (global_position)
              where o.published_at is null and o.skipped_at is null and o.stuck_at is null
                and not exists (select 1 from event_outbox s join events se using (global_position)
                                 where s.stuck_at is not null and s.published_at is null and s.skipped_at is null
                                   and se.aggregate_type = e.aggregate_type and se.aggregate_id = e.aggregate_id
                                   and se.sequence < e.sequence)
              order by o.id
              limit $1
              for update of o"
        );
        let rows: Vec<PendingRow> =
            sqlx::query_as(&sql).bind(self.config.batch_size).fetch_all(&mut *tx).await.context("reading outbox")?;
        let full = rows.len() as i64 == self.config.batch_size;
        if self.config.crash_at == Some(CrashPoint::BeforePublish) && !rows.is_empty() {
            return Err(Crashed.into());
        }
        let max_payload = MAX_ENVELOPE_BYTES.min(self.js.client().server_info().max_payload.max(1));
        // Marks are collected and written in one statement: they commit with the batch anyway.
        let mut marks: Vec<(i64, i64)> = Vec::with_capacity(rows.len());
        let mut blocked: HashSet<(String, String)> = HashSet::new();
        let (mut failed, mut stuck, mut in_a_row) = (0usize, 0usize, 0usize);
        let mut first_error = None;
        let mut last_check: Option<Instant> = None;
        for row in rows {
            let outbox_id = row.outbox_id;
            let envelope: EventEnvelope = row.event.into();
            let aggregate = (envelope.aggregate_type.clone(), envelope.aggregate_id.clone());
            if blocked.contains(&aggregate) {
                continue;
            }
            if let Some(lock) = lock.as_deref_mut() {
                if last_check.is_none_or(|at| at.elapsed() >= LEADER_CHECK_INTERVAL) {
                    ensure_leader(lock).await?;
                    last_check = Some(Instant::now());
                }
            }
            match self.publish(&envelope, max_payload).await {
                Ok(stream_sequence) => {
                    if self.config.crash_at == Some(CrashPoint::AfterPublish) {
                        return Err(Crashed.into());
                    }
                    marks.push((outbox_id, stream_sequence as i64));
                    in_a_row = 0;
                    if let Some(pause) = &self.config.pause {
                        pause.hit().await;
                    }
                }
                Err(Failure::Permanent(reason)) => {
                    sqlx::query("update event_outbox set stuck_at = now(), attempts = attempts + 1, last_error = $2 where id = $1")
                        .bind(outbox_id)
                        .bind(&reason)
                        .execute(&mut *tx)
                        .await
                        .context("marking an outbox row stuck")?;
                    tracing::error!(
                        outbox.id = outbox_id, message.id = %envelope.message_id(), error = %reason,
                        "an event can never be published; its aggregate's later events wait (see `warp outbox stuck`)"
                    );
                    stuck += 1;
                    blocked.insert(aggregate);
                }
                Err(Failure::Transient(error)) => {
                    sqlx::query("update event_outbox set attempts = attempts + 1, last_error = $2 where id = $1")
                        .bind(outbox_id)
                        .bind(format!("{error:#}"))
                        .execute(&mut *tx)
                        .await
                        .context("recording publish failure")?;
                    failed += 1;
                    in_a_row += 1;
                    blocked.insert(aggregate);
                    first_error.get_or_insert(error);
                    if in_a_row >= FAILURES_IN_A_ROW {
                        break;
                    }
                }
            }
        }
        let published = marks.len();
        if published > 0 {
            sqlx::query(
                "update event_outbox o set published_at = now(), stream_sequence = m.stream_sequence,
                        attempts = o.attempts + 1, last_error = null
                   from unnest($1::bigint[], $2::bigint[]) as m(id, stream_sequence)
                  where o.id = m.id",
            )
            .bind(marks.iter().map(|(id, _)| *id).collect::<Vec<_>>())
            .bind(marks.iter().map(|(_, seq)| *seq).collect::<Vec<_>>())
            .execute(&mut *tx)
            .await
            .context("marking outbox rows published")?;
        }
        if let Some(lock) = lock {
            ensure_leader(lock).await?;
        }
        tx.commit().await.context("committing relay batch")?;
        if published > 0 {
            tracing::debug!(relay.published = published, relay.failed = failed, "published outbox rows");
        }
        match first_error {
            Some(error) if published == 0 && stuck == 0 => Err(error),
            Some(error) => {
                tracing::warn!(relay.failed = failed, error = %format!("{error:#}"), "some events failed to publish; other aggregates went on");
                Ok(BatchOutcome { published, failed, stuck, full })
            }
            None => Ok(BatchOutcome { published, failed, stuck, full }),
        }
    }

    /// Publishes one event and waits for its JetStream ack; returns the stream sequence (the
    /// original one when JetStream recognised a duplicate `Nats-Msg-Id`).
    async fn publish(&self, envelope: &EventEnvelope, max_payload: usize) -> Result<u64, Failure> {
        let subject = self.names.event_subject(&envelope.aggregate_type, &envelope.aggregate_id, &envelope.event_type);
        let mut headers = HeaderMap::new();
        headers.insert(MSG_ID_HEADER, envelope.message_id().as_str());
        if let Some(correlation) = &envelope.metadata.correlation_id {
            headers.insert(CORRELATION_HEADER, correlation.as_str());
        }
        let body = serde_json::to_vec(envelope).map_err(|e| Failure::Permanent(format!("encoding the envelope: {e}")))?;
        if body.len() > max_payload {
            return Err(Failure::Permanent(format!(
                "the envelope is {} bytes, more than the {max_payload} bytes an event may have",
                body.len()
            )));
        }
        let ack = timeout(self.config.ack_timeout, async {
            self.js.publish_with_headers(subject, headers, body.into()).await?.await
        })
        .await
        .map_err(|_| Failure::Transient(anyhow::anyhow!("timed out waiting for the jetstream ack")))?;
        match ack {
            Ok(ack) => Ok(ack.sequence),
            Err(error) if error.kind() == PublishErrorKind::MaxPayloadExceeded => {
                Err(Failure::Permanent(format!("NATS refused the envelope: {error}")))
            }
            Err(error) => Err(Failure::Transient(anyhow::Error::new(error).context("publishing to jetstream"))),
        }
    }
}

/// Fails with [`LostLeadership`] unless the lock connection still answers (a live session
/// still holds its session-level advisory lock).
async fn ensure_leader(lock: &mut sqlx::PgConnection) -> anyhow::Result<()> {
    match timeout(std::time::Duration::from_secs(5), sqlx::query("select 1").execute(&mut *lock)).await {
        Ok(Ok(_)) => Ok(()),
        _ => Err(LostLeadership.into()),
    }
}

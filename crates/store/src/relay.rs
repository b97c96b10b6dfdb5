//! The transactional outbox relay: publishes `event_outbox` rows to JetStream.
//!
//! Design (see `docs/ARCHITECTURE.md`):
//! - One relay is active at a time: it holds the session advisory lock [`RELAY_LOCK_KEY`] on a
//!   dedicated connection. Others wait and take over when that connection goes away.
//! - Rows are taken `where published_at is null order by id limit n for update skip locked`,
//!   never by "position greater than the last one seen": positions are handed out before
//!   commit, so a slow transaction lands a lower number later.
//! - Each row is published with `Nats-Msg-Id = <aggregate_type>:<aggregate_id>:<sequence>`,
//!   the JetStream ack is awaited, then the row is marked published with the stream sequence
//!   it got. Publishing stops at the first failure so a later event of the same aggregate is
//!   never published before an earlier one.
//! - The relay wakes on `LISTEN warp_outbox` (sent by the insert trigger), with a slow fallback
//!   poll.

use std::time::Duration;

use anyhow::Context;
use async_nats::jetstream;
use async_nats::HeaderMap;
use sqlx::pool::PoolConnection;
use sqlx::postgres::PgListener;
use sqlx::{Connection, PgPool, Postgres};
use tokio::time::{sleep, timeout};
use warp_events::subjects::{CORRELATION_HEADER, MSG_ID_HEADER};
use warp_events::EventEnvelope;
use warp_platform::{NatsNames, Shutdown};

use crate::events::{EventRow, EVENT_COLUMNS};

/// Advisory lock key held by the active relay (ASCII "warprely").
pub const RELAY_LOCK_KEY: i64 = 0x7761_7270_7265_6c79;
/// The channel the outbox trigger notifies.
pub const OUTBOX_CHANNEL: &str = "warp_outbox";

/// Relay tuning.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// Most rows taken per transaction.
    pub batch_size: i64,
    /// Fallback poll interval when no notification arrives.
    pub poll_interval: Duration,
    /// How often a standby relay retries the leadership lock.
    pub standby_interval: Duration,
    /// Longest wait for one JetStream publish ack.
    pub ack_timeout: Duration,
    /// Test hook: stop the process at a given point, as a crash would. `None` in production.
    pub crash_at: Option<CrashPoint>,
}

impl Default for RelayConfig {
    fn default() -> Self {
        Self {
            batch_size: 256,
            poll_interval: Duration::from_secs(2),
            standby_interval: Duration::from_secs(1),
            ack_timeout: Duration::from_secs(10),
            crash_at: None,
        }
    }
}

/// Where [`RelayConfig::crash_at`] makes the relay fail as if killed: the batch transaction is
/// dropped (rolled back) and [`Relay::run`] returns an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrashPoint {
    /// Rows are locked, nothing is published yet.
    BeforePublish,
    /// The first row of a batch is published and acked, not yet marked.
    AfterPublish,
}

/// The outbox relay. Build one per process with [`Relay::new`] and drive it with [`Relay::run`].
pub struct Relay {
    pool: PgPool,
    js: jetstream::Context,
    names: NatsNames,
    config: RelayConfig,
}

/// What one batch did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Rows published and marked.
    pub published: usize,
    /// Whether the batch was full (more rows are probably waiting).
    pub full: bool,
}

impl Relay {
    /// A relay publishing into the stream `names` selects.
    pub fn new(pool: PgPool, js: jetstream::Context, names: NatsNames, config: RelayConfig) -> Self {
        Self { pool, js, names, config }
    }

    /// Runs until `shutdown`: waits for leadership, then publishes. Postgres and NATS outages
    /// are retried; returns `Err` only at a [`CrashPoint`].
    pub async fn run(&self, shutdown: Shutdown) -> anyhow::Result<()> {
        while !shutdown.is_cancelled() {
            let Some(mut lock) = self.acquire_leadership(&shutdown).await? else {
                break;
            };
            tracing::info!(relay.stream = %self.names.stream, "relay is active");
            let result = self.lead(&mut lock, &shutdown).await;
            // Closing the connection releases the advisory lock.
            let _ = lock.close().await;
            result?;
        }
        Ok(())
    }

    /// Waits until this relay holds the leadership lock; `None` on shutdown.
    async fn acquire_leadership(&self, shutdown: &Shutdown) -> anyhow::Result<Option<sqlx::PgConnection>> {
        let mut announced = false;
        loop {
            let attempt = async {
                let conn: PoolConnection<Postgres> = self.pool.acquire().await?;
                let mut conn = conn.detach();
                let locked: bool = sqlx::query_scalar("select pg_try_advisory_lock($1)")
                    .bind(RELAY_LOCK_KEY)
                    .fetch_one(&mut conn)
                    .await?;
                Ok::<_, sqlx::Error>(locked.then_some(conn))
            };
            match attempt.await {
                Ok(Some(conn)) => return Ok(Some(conn)),
                Ok(None) if !announced => {
                    tracing::info!("another relay is active; standing by");
                    announced = true;
                }
                Ok(None) => {}
                Err(error) => tracing::warn!(error = %error, "relay cannot reach postgres"),
            }
            tokio::select! {
                _ = shutdown.cancelled() => return Ok(None),
                _ = sleep(self.config.standby_interval) => {}
            }
        }
    }

    /// Publishes while holding the lock; returns when shutdown trips or the lock connection dies.
    async fn lead(&self, lock: &mut sqlx::PgConnection, shutdown: &Shutdown) -> anyhow::Result<()> {
        let mut listener = match PgListener::connect_with(&self.pool).await {
            Ok(mut listener) => match listener.listen(OUTBOX_CHANNEL).await {
                Ok(()) => Some(listener),
                Err(_) => None,
            },
            Err(_) => None,
        };
        let mut failures: u32 = 0;
        loop {
            if shutdown.is_cancelled() {
                return Ok(());
            }
            let outcome = self.publish_batch().await;
            let wait = match outcome {
                Ok(batch) if batch.full => {
                    failures = 0;
                    continue;
                }
                Ok(_) => {
                    failures = 0;
                    self.config.poll_interval
                }
                Err(error) if error.is::<Crashed>() => return Err(error),
                Err(error) => {
                    failures = failures.saturating_add(1);
                    let backoff = Duration::from_millis(200 * 2u64.pow(failures.min(5)));
                    tracing::warn!(error = %format!("{error:#}"), retry_in_ms = backoff.as_millis() as u64, "relay batch failed");
                    backoff
                }
            };
            // Leadership check: if our lock connection is gone, so is the lock.
            if sqlx::query("select 1").execute(&mut *lock).await.is_err() {
                tracing::warn!("relay lost its lock connection; standing down");
                return Ok(());
            }
            tokio::select! {
                _ = shutdown.cancelled() => return Ok(()),
                _ = sleep(wait) => {}
                notified = wait_notification(&mut listener), if failures == 0 => {
                    if notified.is_err() {
                        listener = None;
                    }
                }
            }
        }
    }

    /// Publishes one batch of pending outbox rows in one transaction.
    ///
    /// # Errors
    /// Postgres errors, or the first publish that failed (rows before it stay published and
    /// marked).
    pub async fn publish_batch(&self) -> anyhow::Result<BatchOutcome> {
        let mut tx = self.pool.begin().await.context("starting relay transaction")?;
        let sql = format!(
            "select o.id as outbox_id, {EVENT_COLUMNS}
               from event_outbox o join events e using (global_position)
              where o.published_at is null
              order by o.id
              limit $1
              for update of o skip locked"
        );
        let rows: Vec<PendingRow> =
            sqlx::query_as(&sql).bind(self.config.batch_size).fetch_all(&mut *tx).await.context("reading outbox")?;
        let full = rows.len() as i64 == self.config.batch_size;
        if self.config.crash_at == Some(CrashPoint::BeforePublish) && !rows.is_empty() {
            return Err(Crashed.into());
        }
        // Marks are collected and written in one statement: they commit with the batch anyway.
        let mut marks: Vec<(i64, i64)> = Vec::with_capacity(rows.len());
        let mut failure = None;
        for row in rows {
            let outbox_id = row.outbox_id;
            let envelope: EventEnvelope = row.event.into();
            match self.publish(&envelope).await {
                Ok(stream_sequence) => {
                    if self.config.crash_at == Some(CrashPoint::AfterPublish) {
                        return Err(Crashed.into());
                    }
                    marks.push((outbox_id, stream_sequence as i64));
                }
                Err(error) => {
                    sqlx::query("update event_outbox set attempts = attempts + 1, last_error = $2 where id = $1")
                        .bind(outbox_id)
                        .bind(format!("{error:#}"))
                        .execute(&mut *tx)
                        .await
                        .context("recording publish failure")?;
                    failure = Some(error);
                    break;
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
        tx.commit().await.context("committing relay batch")?;
        if published > 0 {
            tracing::debug!(relay.published = published, "published outbox rows");
        }
        match failure {
            Some(error) => Err(error),
            None => Ok(BatchOutcome { published, full }),
        }
    }

    /// Publishes one event and waits for its JetStream ack; returns the stream sequence (the
    /// original one when JetStream recognised a duplicate `Nats-Msg-Id`).
    async fn publish(&self, envelope: &EventEnvelope) -> anyhow::Result<u64> {
        let subject = self.names.event_subject(&envelope.aggregate_type, &envelope.aggregate_id, &envelope.event_type);
        let mut headers = HeaderMap::new();
        headers.insert(MSG_ID_HEADER, envelope.message_id().as_str());
        if let Some(correlation) = &envelope.metadata.correlation_id {
            headers.insert(CORRELATION_HEADER, correlation.as_str());
        }
        let body = serde_json::to_vec(envelope).context("encoding envelope")?;
        let ack = timeout(self.config.ack_timeout, async {
            self.js.publish_with_headers(subject, headers, body.into()).await?.await
        })
        .await
        .context("timed out waiting for the jetstream ack")?
        .context("publishing to jetstream")?;
        Ok(ack.sequence)
    }
}

/// The error a [`CrashPoint`] produces.
#[derive(Debug, thiserror::Error)]
#[error("relay stopped at a crash point")]
pub struct Crashed;

#[derive(sqlx::FromRow)]
struct PendingRow {
    outbox_id: i64,
    #[sqlx(flatten)]
    event: EventRow,
}

async fn wait_notification(listener: &mut Option<PgListener>) -> Result<(), sqlx::Error> {
    match listener {
        Some(listener) => listener.recv().await.map(|_| ()),
        None => std::future::pending().await,
    }
}

/// Counts outbox rows not yet published (for health and tests).
pub async fn pending_count(pool: &PgPool) -> sqlx::Result<i64> {
    sqlx::query_scalar("select count(*) from event_outbox where published_at is null").fetch_one(pool).await
}

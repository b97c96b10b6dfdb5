//! The transactional outbox relay: publishes `event_outbox` rows to JetStream.
//!
//! Design (see `docs/ARCHITECTURE.md`):
//! - One relay is active at a time: it holds the session advisory lock [`RELAY_LOCK_KEY`] on a
//!   dedicated connection. Others wait and take over when that connection goes away.
//! - Rows are taken `where published_at is null order by id limit n for update`, never by
//!   "position greater than the last one seen": positions are handed out before commit, so a
//!   slow transaction lands a lower number later. No `skip locked`: a new leader waits for a
//!   deposed leader's batch to roll back instead of publishing the rows behind it first.
//! - Each row is published with `Nats-Msg-Id = <aggregate_type>:<aggregate_id>:<sequence>`,
//!   the JetStream ack is awaited, then the row is marked published with the stream sequence
//!   it got. Order is per aggregate: a row that fails blocks only its own aggregate's later
//!   rows in the batch; the others are published (see [`batch`]).
//! - A row that can never be published (envelope larger than
//!   [`warp_events::MAX_ENVELOPE_BYTES`] or NATS' `max_payload`) is marked stuck once and
//!   reported ([`crate::outbox`], `/healthz`, `warp outbox stuck`), not retried.
//! - Leadership is checked on the lock connection before every publish and before the batch
//!   commits: a relay whose lock connection died publishes nothing more and rolls back.
//! - The relay wakes on `LISTEN warp_outbox` (sent by the insert trigger), with a slow fallback
//!   poll.

use std::time::Duration;

use async_nats::jetstream;
use sqlx::pool::PoolConnection;
use sqlx::postgres::PgListener;
use sqlx::{Connection, PgPool, Postgres};
use tokio::time::sleep;
use warp_platform::{NatsNames, Shutdown};

mod batch;

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
    /// Test hook: pause once after the first publish of a batch. `None` in production.
    pub pause: Option<std::sync::Arc<BatchPause>>,
}

/// A one-shot pause in the middle of a batch (tests kill the lock connection meanwhile).
#[derive(Debug, Default)]
pub struct BatchPause {
    armed: std::sync::atomic::AtomicBool,
    /// Notified when the relay has published the first row of a batch and is paused.
    pub paused: tokio::sync::Notify,
    /// Notify to let the relay go on.
    pub resume: tokio::sync::Notify,
}

impl BatchPause {
    /// A pause that triggers on the next batch that publishes a row.
    pub fn armed() -> std::sync::Arc<Self> {
        std::sync::Arc::new(Self { armed: true.into(), ..Self::default() })
    }

    async fn hit(&self) {
        if self.armed.swap(false, std::sync::atomic::Ordering::SeqCst) {
            self.paused.notify_one();
            self.resume.notified().await;
        }
    }
}

impl Default for RelayConfig {
    fn default() -> Self {
        Self {
            batch_size: 256,
            poll_interval: Duration::from_secs(2),
            standby_interval: Duration::from_secs(1),
            ack_timeout: Duration::from_secs(10),
            crash_at: None,
            pause: None,
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
    /// Rows whose publish failed (retried in a later batch), and rows newly marked stuck.
    pub failed: usize,
    pub stuck: usize,
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
            let outcome = self.publish_batch(Some(&mut *lock)).await;
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
                Err(error) if error.is::<LostLeadership>() => {
                    tracing::warn!("relay lost its lock connection mid-batch; rolled back and standing down");
                    return Ok(());
                }
                Err(error) => {
                    failures = failures.saturating_add(1);
                    let backoff = Duration::from_millis(200 * 2u64.pow(failures.min(5)));
                    tracing::warn!(error = %format!("{error:#}"), retry_in_ms = backoff.as_millis() as u64, "relay batch failed");
                    // Leadership check (a batch that ended well checked before its commit):
                    // if our lock connection is gone, so is the lock.
                    if sqlx::query("select 1").execute(&mut *lock).await.is_err() {
                        tracing::warn!("relay lost its lock connection; standing down");
                        return Ok(());
                    }
                    backoff
                }
            };
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
}

/// The error a [`CrashPoint`] produces.
#[derive(Debug, thiserror::Error)]
#[error("relay stopped at a crash point")]
pub struct Crashed;

/// The lock connection died during a batch: the batch was rolled back, nothing more was
/// published.
#[derive(Debug, thiserror::Error)]
#[error("relay lost its leadership lock")]
pub struct LostLeadership;

async fn wait_notification(listener: &mut Option<PgListener>) -> Result<(), sqlx::Error> {
    match listener {
        Some(listener) => listener.recv().await.map(|_| ()),
        None => std::future::pending().await,
    }
}

/// Counts outbox rows not yet published nor skipped, stuck ones included (for health and tests).
pub async fn pending_count(pool: &PgPool) -> sqlx::Result<i64> {
    sqlx::query_scalar("select count(*) from event_outbox where published_at is null and skipped_at is null")
        .fetch_one(pool)
        .await
}

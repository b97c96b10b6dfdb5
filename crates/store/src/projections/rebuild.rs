//! Rebuilding read models from the event store (`warp read-models rebuild`).
//!
//! A [`ReadModel`] names its table, the aggregate type it is built from and its `apply`
//! function (the same one the live consumer runs). A rebuild replays that aggregate type's
//! events, in position order, into a fresh copy of the table in schema [`REBUILD_SCHEMA`]
//! (`apply` writes unqualified table names, so a transaction-local `search_path` points it at
//! the copy). Then, holding a lock that pauses the live consumer's writes, it applies what
//! committed meanwhile and replaces the live rows with the copy's in the same transaction
//! (the live table itself stays, so migrations and indexes keep their names); readers see
//! the old rows until that commits.
//! A frozen or corrupted read model (a dead-lettered event, a bad manual edit) comes back as
//! the events say it is. Add a read model by adding an entry to [`READ_MODELS`].

use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use futures::TryStreamExt;
use sqlx::{PgConnection, PgPool};
use warp_events::EventEnvelope;

use super::audit::RebuildReport;
use super::{projects, ProjectionError};
use crate::events::{EventRow, EVENT_COLUMNS};

/// Schema holding the fresh copies during a rebuild.
pub const REBUILD_SCHEMA: &str = "warp_rebuild";

/// Advisory lock key held while any read-model rebuild runs ("warprmrb").
const REBUILD_LOCK_KEY: i64 = 0x7761_7270_726d_7262;

/// Applies one event to a read model (inside the caller's transaction).
pub type ApplyFn = for<'a> fn(&'a mut PgConnection, &'a EventEnvelope) -> BoxFuture<'a, Result<(), ProjectionError>>;

/// A read model that can be rebuilt from the events of one aggregate type.
#[derive(Clone, Copy)]
pub struct ReadModel {
    /// Name on the command line (`warp read-models rebuild --only <name>`).
    pub name: &'static str,
    /// Its table (in `public`); rows are keyed by aggregate id and carry `version`.
    pub table: &'static str,
    /// The aggregate type whose events build it.
    pub aggregate_type: &'static str,
    /// The live consumer's apply function.
    pub apply: ApplyFn,
}

fn apply_projects<'a>(conn: &'a mut PgConnection, event: &'a EventEnvelope) -> BoxFuture<'a, Result<(), ProjectionError>> {
    Box::pin(projects::apply(conn, event))
}

/// Every rebuildable read model. (The audit trail has its own rebuild:
/// [`super::audit::rebuild`].)
pub const READ_MODELS: &[ReadModel] =
    &[ReadModel { name: "projects", table: "projects", aggregate_type: warp_events::project::AGGREGATE_TYPE, apply: apply_projects }];

/// Another read-model rebuild is running.
#[derive(Debug, thiserror::Error)]
#[error("a read-model rebuild is already running")]
pub struct RebuildRunning;

/// Rebuilds `model` (see the module docs) and reports how many events it replayed.
///
/// # Errors
/// [`RebuildRunning`]; an event the model cannot apply (it names the event); database errors.
/// On error the live table is left as it was.
pub async fn rebuild(pool: &PgPool, model: &ReadModel) -> anyhow::Result<RebuildReport> {
    let started = Instant::now();
    // A connection of its own: if this future is dropped midway, the connection closes and the
    // lock goes with it (a pooled connection would carry the lock back into the pool).
    let mut lock = pool.acquire().await?.detach();
    let locked: bool =
        sqlx::query_scalar("select pg_try_advisory_lock($1)").bind(REBUILD_LOCK_KEY).fetch_one(&mut lock).await?;
    if !locked {
        return Err(RebuildRunning.into());
    }
    let result = rebuild_locked(pool, model, started).await;
    let _ = sqlx::Connection::close(lock).await;
    result
}

async fn rebuild_locked(pool: &PgPool, model: &ReadModel, started: Instant) -> anyhow::Result<RebuildReport> {
    let (live, fresh) = (format!("public.{}", model.table), format!("{REBUILD_SCHEMA}.{}", model.table));
    let mut writer = pool.begin().await?;
    sqlx::query(&format!("create schema if not exists {REBUILD_SCHEMA}")).execute(&mut *writer).await?;
    sqlx::query(&format!("drop table if exists {fresh}")).execute(&mut *writer).await?;
    sqlx::query(&format!("create table {fresh} (like {live} including all)")).execute(&mut *writer).await?;
    sqlx::query(&format!("set local search_path to {REBUILD_SCHEMA}, public")).execute(&mut *writer).await?;
    let all = format!("select {EVENT_COLUMNS} from events e where e.aggregate_type = $1 order by e.global_position");
    let mut events = sqlx::query_as::<_, EventRow>(&all).bind(model.aggregate_type).fetch(pool);
    let mut replayed = 0u64;
    while let Some(row) = events.try_next().await? {
        apply(model, &mut writer, row.into()).await?;
        replayed += 1;
    }
    drop(events);
    writer.commit().await?;

    let mut swap = pool.begin().await?;
    sqlx::query(&format!("lock table {live} in exclusive mode")).execute(&mut *swap).await?;
    sqlx::query(&format!("set local search_path to {REBUILD_SCHEMA}, public")).execute(&mut *swap).await?;
    let missed = format!(
        "select {EVENT_COLUMNS} from events e
          where e.aggregate_type = $1
            and e.sequence > coalesce((select f.version from {fresh} f where f.id::text = e.aggregate_id), 0)
          order by e.global_position"
    );
    let late: Vec<EventRow> = sqlx::query_as(&missed).bind(model.aggregate_type).fetch_all(&mut *swap).await?;
    replayed += late.len() as u64;
    for row in late {
        apply(model, &mut swap, row.into()).await?;
    }
    // The live table keeps its identity (index names, grants, what migrations refer to): its
    // rows are replaced by the fresh ones in the same transaction.
    sqlx::query(&format!("delete from {live}")).execute(&mut *swap).await?;
    sqlx::query(&format!("insert into {live} select * from {fresh}")).execute(&mut *swap).await?;
    sqlx::query(&format!("drop table {fresh}")).execute(&mut *swap).await?;
    swap.commit().await?;

    let elapsed = started.elapsed();
    tracing::info!(read_model = model.name, events = replayed, duration_ms = elapsed.as_millis() as u64, "read model rebuilt");
    Ok(RebuildReport {
        events: replayed,
        duration_ms: elapsed.as_millis() as u64,
        events_per_second: replayed as f64 / elapsed.max(Duration::from_micros(1)).as_secs_f64(),
    })
}

async fn apply(model: &ReadModel, conn: &mut PgConnection, event: EventEnvelope) -> anyhow::Result<()> {
    (model.apply)(conn, &event).await.map_err(|error| {
        anyhow::Error::new(error).context(format!("replaying {} into the {} read model", event.message_id(), model.name))
    })
}

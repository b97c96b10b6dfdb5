//! The audit trail: one row per event (time, actor, action, target, outcome, correlation id).
//!
//! A row is a pure function of its event row ([`AuditRow::from_event`]), so replaying the event
//! store into a fresh table ([`rebuild`]) reproduces the live projection row for row.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;
use warp_events::EventEnvelope;

use crate::events::{EventRow, EVENT_COLUMNS};

/// The live table.
const LIVE: &str = "audit_log";
/// Where a rebuild writes before the swap.
const FRESH: &str = "audit_log_rebuild";
/// Rows per insert statement during a rebuild.
const REBUILD_BATCH: usize = 2000;

/// One audit entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct AuditRow {
    /// Position of the event in the event store; also the row's key.
    pub global_position: i64,
    pub recorded_at: DateTime<Utc>,
    /// GitHub login or `system:<service>`; `null` for events stored without an actor.
    pub actor: Option<String>,
    /// `<aggregate_type>.<what happened>`, e.g. `project.created`.
    pub action: String,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    /// `<aggregate_type>/<aggregate_id>`.
    pub target: String,
    /// The project the event concerns, when there is one.
    pub project_id: Option<Uuid>,
    /// `succeeded`, `failed` or `cancelled`, from the event type.
    pub outcome: String,
    pub correlation_id: Option<String>,
    pub request_id: Option<String>,
}

impl AuditRow {
    /// The audit row of one event.
    pub fn from_event(event: &EventEnvelope) -> Self {
        let project_id = if event.aggregate_type == warp_events::project::AGGREGATE_TYPE {
            event.aggregate_id.parse().ok()
        } else {
            event.payload_body().get("project_id").and_then(|v| v.as_str()).and_then(|v| v.parse().ok())
        };
        Self {
            global_position: event.global_position,
            recorded_at: event.recorded_at,
            actor: event.metadata.actor.clone(),
            action: action_name(&event.aggregate_type, &event.event_type),
            aggregate_type: event.aggregate_type.clone(),
            aggregate_id: event.aggregate_id.clone(),
            sequence: event.sequence,
            target: format!("{}/{}", event.aggregate_type, event.aggregate_id),
            project_id,
            outcome: outcome(&event.event_type).to_owned(),
            correlation_id: event.metadata.correlation_id.clone(),
            request_id: event.metadata.request_id.clone(),
        }
    }
}

/// `ProjectSettingsUpdated` on `project` → `project.settings_updated`.
fn action_name(aggregate_type: &str, event_type: &str) -> String {
    let mut snake = String::with_capacity(event_type.len() + 4);
    for (i, c) in event_type.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                snake.push('_');
            }
            snake.push(c.to_ascii_lowercase());
        } else {
            snake.push(c);
        }
    }
    let prefix = format!("{aggregate_type}_");
    let verb = snake.strip_prefix(&prefix).unwrap_or(&snake);
    format!("{aggregate_type}.{verb}")
}

fn outcome(event_type: &str) -> &'static str {
    if ["Failed", "TimedOut", "Rejected", "Refused"].iter().any(|end| event_type.ends_with(end)) {
        "failed"
    } else if event_type.ends_with("Cancelled") {
        "cancelled"
    } else {
        "succeeded"
    }
}

/// Records the audit row of `event` (no-op when it is already there).
pub async fn apply(conn: &mut PgConnection, event: &EventEnvelope) -> sqlx::Result<()> {
    apply_all(conn, &[event]).await
}

/// Records the audit rows of `events` in one statement (rows already there are left as they
/// are).
pub async fn apply_all(conn: &mut PgConnection, events: &[&EventEnvelope]) -> sqlx::Result<()> {
    let rows: Vec<AuditRow> = events.iter().map(|event| AuditRow::from_event(event)).collect();
    insert_rows(conn, LIVE, &rows).await
}

async fn insert_rows(conn: &mut PgConnection, table: &str, rows: &[AuditRow]) -> sqlx::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "insert into {table} (global_position, recorded_at, actor, action, aggregate_type, aggregate_id,
                              sequence, target, project_id, outcome, correlation_id, request_id)
         select * from unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[],
                              $7::bigint[], $8::text[], $9::uuid[], $10::text[], $11::text[], $12::text[])
         on conflict do nothing"
    );
    sqlx::query(&sql)
        .bind(rows.iter().map(|r| r.global_position).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.recorded_at).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.actor.clone()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.action.clone()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.aggregate_type.clone()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.aggregate_id.clone()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.sequence).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.target.clone()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.project_id).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.outcome.clone()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.correlation_id.clone()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.request_id.clone()).collect::<Vec<_>>())
        .execute(conn)
        .await?;
    Ok(())
}

/// Filters of [`list`]; all optional and combined with AND.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub project_id: Option<Uuid>,
    pub action: Option<String>,
    /// Inclusive lower bound on `recorded_at`.
    pub from: Option<DateTime<Utc>>,
    /// Exclusive upper bound on `recorded_at`.
    pub to: Option<DateTime<Utc>>,
    /// Cursor: only rows with a lower `global_position` (pages go newest first).
    pub before: Option<i64>,
    /// Only rows this login may read: its own actions and rows of projects it created
    /// (`None`: every row, for admins).
    pub visible_to: Option<String>,
    pub limit: i64,
}

/// Audit rows matching `filter`, newest first.
pub async fn list(pool: &PgPool, filter: &AuditFilter) -> sqlx::Result<Vec<AuditRow>> {
    sqlx::query_as(
        "select * from audit_log
          where ($1::text is null or actor = $1)
            and ($2::uuid is null or project_id = $2)
            and ($3::text is null or action = $3)
            and ($4::timestamptz is null or recorded_at >= $4)
            and ($5::timestamptz is null or recorded_at < $5)
            and ($6::bigint is null or global_position < $6)
            and ($8::text is null or actor = $8 or project_id in (select id from projects where created_by = $8))
          order by global_position desc
          limit $7",
    )
    .bind(&filter.actor)
    .bind(filter.project_id)
    .bind(&filter.action)
    .bind(filter.from)
    .bind(filter.to)
    .bind(filter.before)
    .bind(filter.limit)
    .bind(&filter.visible_to)
    .fetch_all(pool)
    .await
}

/// Every audit row, in position order (for comparing projections).
pub async fn all(pool: &PgPool) -> sqlx::Result<Vec<AuditRow>> {
    sqlx::query_as("select * from audit_log order by global_position").fetch_all(pool).await
}

/// What a rebuild did.
#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
pub struct RebuildReport {
    /// Events replayed.
    pub events: u64,
    /// Wall time of the whole rebuild, milliseconds.
    pub duration_ms: u64,
    /// Events replayed per second.
    pub events_per_second: f64,
}

/// Rebuilds the audit trail: replays every event in position order into a fresh table, then,
/// holding a lock that pauses live writers, replays what committed meanwhile and swaps the
/// fresh table in. Readers keep reading the old table until the swap commits.
///
/// # Errors
/// [`RebuildRunning`] when another rebuild holds the rebuild lock; database errors.
pub async fn rebuild(pool: &PgPool) -> anyhow::Result<RebuildReport> {
    let started = Instant::now();
    // A connection of its own: if this future is dropped midway, the connection closes and the
    // lock goes with it (a pooled connection would carry the lock back into the pool).
    let mut conn = pool.acquire().await?.detach();
    let locked: bool = sqlx::query_scalar("select pg_try_advisory_lock($1)")
        .bind(REBUILD_LOCK_KEY)
        .fetch_one(&mut conn)
        .await?;
    if !locked {
        return Err(RebuildRunning.into());
    }
    let result = rebuild_locked(pool, &mut conn, started).await;
    let _ = sqlx::Connection::close(conn).await;
    result
}

/// Advisory lock key held while an audit rebuild runs.
const REBUILD_LOCK_KEY: i64 = 0x7761_7270_6175_6469;

/// Another audit rebuild is running.
#[derive(Debug, thiserror::Error)]
#[error("an audit rebuild is already running")]
pub struct RebuildRunning;

async fn rebuild_locked(pool: &PgPool, conn: &mut PgConnection, started: Instant) -> anyhow::Result<RebuildReport> {
    sqlx::query(&format!("drop table if exists {FRESH}")).execute(&mut *conn).await?;
    sqlx::query(&format!("create table {FRESH} (like {LIVE} including all)")).execute(&mut *conn).await?;

    let all_events = format!("select {EVENT_COLUMNS} from events e order by e.global_position");
    let mut replayed = replay(pool, conn, &all_events).await?;

    let mut tx = pool.begin().await?;
    sqlx::query(&format!("lock table {LIVE} in exclusive mode")).execute(&mut *tx).await?;
    let missed = format!(
        "select {EVENT_COLUMNS} from events e
          where not exists (select 1 from {FRESH} f where f.global_position = e.global_position)
          order by e.global_position"
    );
    let rows: Vec<EventRow> = sqlx::query_as(&missed).fetch_all(&mut *tx).await?;
    let late: Vec<AuditRow> = rows.into_iter().map(|r| AuditRow::from_event(&r.into())).collect();
    replayed += late.len() as u64;
    insert_rows(&mut tx, FRESH, &late).await?;
    sqlx::query(&format!("drop table {LIVE}")).execute(&mut *tx).await?;
    sqlx::query(&format!("alter table {FRESH} rename to {LIVE}")).execute(&mut *tx).await?;
    tx.commit().await?;

    let elapsed = started.elapsed();
    Ok(RebuildReport {
        events: replayed,
        duration_ms: elapsed.as_millis() as u64,
        events_per_second: replayed as f64 / elapsed.max(Duration::from_micros(1)).as_secs_f64(),
    })
}

/// Streams `select` (event rows) into the fresh table in batches; returns the row count.
async fn replay(pool: &PgPool, writer: &mut PgConnection, select: &str) -> anyhow::Result<u64> {
    let mut events = sqlx::query_as::<_, EventRow>(select).fetch(pool);
    let mut batch = Vec::with_capacity(REBUILD_BATCH);
    let mut count = 0u64;
    while let Some(row) = events.try_next().await? {
        batch.push(AuditRow::from_event(&row.into()));
        if batch.len() == REBUILD_BATCH {
            insert_rows(writer, FRESH, &batch).await?;
            count += batch.len() as u64;
            batch.clear();
        }
    }
    insert_rows(writer, FRESH, &batch).await?;
    count += batch.len() as u64;
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_are_aggregate_dot_snake_case_verb() {
        assert_eq!(action_name("project", "ProjectCreated"), "project.created");
        assert_eq!(action_name("project", "ProjectSettingsUpdated"), "project.settings_updated");
        assert_eq!(action_name("job", "DeploymentRequested"), "job.deployment_requested");
    }

    #[test]
    fn outcome_follows_the_event_type() {
        assert_eq!(outcome("JobFailed"), "failed");
        assert_eq!(outcome("JobCancelled"), "cancelled");
        assert_eq!(outcome("ProjectCreated"), "succeeded");
        assert_eq!(outcome("LoginRefused"), "failed");
    }

    #[test]
    fn logins_are_session_actions() {
        assert_eq!(action_name("session", "SessionStarted"), "session.started");
        assert_eq!(action_name("session", "LoginRefused"), "session.login_refused");
        assert_eq!(action_name("session", "SessionEnded"), "session.ended");
    }
}

//! The audit trail: one row per event (time, actor, action, target, outcome, correlation id).
//!
//! A row is a pure function of its event row ([`AuditRow::from_event`]), so replaying the event
//! store into a fresh table ([`rebuild`]) reproduces the live projection row for row.

use std::time::{Duration, Instant};

use anyhow::Context;
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
const REBUILD_BATCH: usize = 5000;

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
        .bind(rows.iter().map(|r| r.actor.as_deref()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.action.as_str()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.aggregate_type.as_str()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.aggregate_id.as_str()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.sequence).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.target.as_str()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.project_id).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.outcome.as_str()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.correlation_id.as_deref()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.request_id.as_deref()).collect::<Vec<_>>())
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
    // No indexes while loading: building them once at the end is several times faster than
    // keeping six of them up to date row by row.
    sqlx::query(&format!("create table {FRESH} (like {LIVE} including defaults)")).execute(&mut *conn).await?;

    let all_events = format!("select {EVENT_COLUMNS} from events e order by e.global_position");
    let mut replayed = replay(pool, conn, &all_events).await?;
    let indexes = copy_indexes(conn).await?;

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
    for index in &indexes {
        sqlx::query(&index.restore_name()).execute(&mut *tx).await?;
    }
    tx.commit().await?;

    let elapsed = started.elapsed();
    Ok(RebuildReport {
        events: replayed,
        duration_ms: elapsed.as_millis() as u64,
        events_per_second: replayed as f64 / elapsed.max(Duration::from_micros(1)).as_secs_f64(),
    })
}

/// An index (or the constraint it backs) of the live table, copied onto the fresh table under
/// a temporary name.
struct CopiedIndex {
    /// Its name on the live table, which the copy takes after the swap.
    name: String,
    temporary: String,
    /// Backs a primary key or unique constraint (renamed as a constraint).
    constraint: bool,
}

impl CopiedIndex {
    /// The statement that gives the copy (on the swapped-in table) the live index's name.
    fn restore_name(&self) -> String {
        if self.constraint {
            format!("alter table {LIVE} rename constraint {} to {}", self.temporary, self.name)
        } else {
            format!("alter index {} rename to {}", self.temporary, self.name)
        }
    }
}

/// Creates the live table's primary key, unique constraints and indexes on the loaded fresh
/// table (named `<fresh>_<n>` until the swap).
async fn copy_indexes(conn: &mut PgConnection) -> anyhow::Result<Vec<CopiedIndex>> {
    let live: Vec<(String, Option<String>, String)> = sqlx::query_as(
        "select i.relname::text, pg_get_constraintdef(c.oid), pg_get_indexdef(x.indexrelid)
           from pg_index x
           join pg_class i on i.oid = x.indexrelid
           left join pg_constraint c on c.conindid = x.indexrelid and c.conrelid = x.indrelid
          where x.indrelid = $1::regclass
          order by i.relname",
    )
    .bind(LIVE)
    .fetch_all(&mut *conn)
    .await?;
    let mut copied = Vec::with_capacity(live.len());
    for (n, (name, constraint, index)) in live.into_iter().enumerate() {
        let temporary = format!("{FRESH}_{n}");
        let create = match &constraint {
            Some(definition) => format!("alter table {FRESH} add constraint {temporary} {definition}"),
            None => {
                // `CREATE [UNIQUE] INDEX <name> ON <table> USING <method and columns>`
                let (head, using) = index
                    .split_once(" USING ")
                    .with_context(|| format!("unexpected definition of index {name}: {index}"))?;
                let unique = if head.starts_with("CREATE UNIQUE") { "unique " } else { "" };
                format!("create {unique}index {temporary} on {FRESH} using {using}")
            }
        };
        sqlx::query(&create).execute(&mut *conn).await?;
        copied.push(CopiedIndex { name, temporary, constraint: constraint.is_some() });
    }
    Ok(copied)
}

/// Streams `select` (event rows) into the fresh table in batches; returns the row count. Reading
/// the next batch overlaps with inserting the last one.
async fn replay(pool: &PgPool, writer: &mut PgConnection, select: &str) -> anyhow::Result<u64> {
    let (batches, mut received) = tokio::sync::mpsc::channel::<Vec<AuditRow>>(2);
    let read = async move {
        let mut events = sqlx::query_as::<_, EventRow>(select).fetch(pool);
        let mut batch = Vec::with_capacity(REBUILD_BATCH);
        while let Some(row) = events.try_next().await? {
            batch.push(AuditRow::from_event(&row.into()));
            if batch.len() == REBUILD_BATCH {
                let full = std::mem::replace(&mut batch, Vec::with_capacity(REBUILD_BATCH));
                if batches.send(full).await.is_err() {
                    break;
                }
            }
        }
        if !batch.is_empty() {
            let _ = batches.send(batch).await;
        }
        anyhow::Ok(())
    };
    let write = async move {
        let mut count = 0u64;
        while let Some(batch) = received.recv().await {
            insert_rows(writer, FRESH, &batch).await?;
            count += batch.len() as u64;
        }
        anyhow::Ok(count)
    };
    let ((), count) = tokio::try_join!(read, write)?;
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

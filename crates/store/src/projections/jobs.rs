//! The `jobs` read model: one row per job at the version of its last event.
//!
//! Unlike the other read models it is not kept by a consumer: the database applies each job
//! event in the transaction that appends it (trigger `events_to_jobs`), so a job is visible
//! and runnable as soon as its `JobQueued` commits, with no relay or consumer running.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

/// A job as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct JobView {
    pub id: Uuid,
    /// `deploy`, `create_from_template`, `quick_service`, `publish_route`, `restart_tunnel`.
    pub job_type: String,
    /// The typed input (see `JobInput`).
    #[schema(value_type = Object)]
    pub input: serde_json::Value,
    pub project_id: Option<Uuid>,
    /// `project:<id>` or `tunnel`: jobs with one target run one at a time.
    pub target: String,
    /// `queued`, `running`, `succeeded`, `failed`, `cancelled`, `timed_out`.
    pub status: String,
    /// Attempts started so far.
    pub attempt: i32,
    pub max_attempts: i32,
    /// Limit on one attempt's run time, seconds.
    pub timeout_seconds: i64,
    pub cancel_requested: bool,
    /// The worker running (or that last ran) the job.
    pub worker: Option<String>,
    /// `execution_failed`, `interrupted`, `unsupported` or `internal` when failed.
    pub error_kind: Option<String>,
    pub error_message: Option<String>,
    /// Order of the job within its target's queue (also the list cursor).
    pub queue_position: i64,
    pub version: i64,
    pub created_by: Option<String>,
    pub queued_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// Replays every job event into an emptied `jobs` table, in one transaction, and returns the
/// number of events applied. The table is normally kept by the `events_to_jobs` trigger, in
/// the transaction that appends each job event (migration `20261202000100_jobs_in_append.sql`,
/// function `jobs_apply`, the one place that maps job events to rows).
pub async fn rebuild(pool: &PgPool) -> sqlx::Result<u64> {
    let mut tx = pool.begin().await?;
    let applied: i64 = sqlx::query_scalar("select jobs_rebuild()").fetch_one(&mut *tx).await?;
    tx.commit().await?;
    Ok(u64::try_from(applied).unwrap_or(0))
}

/// Filters of [`list`]; all optional and combined with AND.
#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    pub status: Option<String>,
    pub job_type: Option<String>,
    pub project_id: Option<Uuid>,
    /// Only jobs of projects this login created (`None`: every job).
    pub project_owner: Option<String>,
    /// Cursor: only jobs with a lower `queue_position` (pages go newest first).
    pub before: Option<i64>,
    pub limit: i64,
}

/// Jobs matching `filter`, newest first.
pub async fn list(pool: &PgPool, filter: &JobFilter) -> sqlx::Result<Vec<JobView>> {
    sqlx::query_as(
        "select * from jobs
          where ($1::text is null or status = $1)
            and ($2::text is null or job_type = $2)
            and ($3::uuid is null or project_id = $3)
            and ($4::bigint is null or queue_position < $4)
            and ($6::text is null or project_id in (select id from projects where created_by = $6))
          order by queue_position desc
          limit $5",
    )
    .bind(&filter.status)
    .bind(&filter.job_type)
    .bind(filter.project_id)
    .bind(filter.before)
    .bind(filter.limit)
    .bind(&filter.project_owner)
    .fetch_all(pool)
    .await
}

/// One job, if the read model has it.
pub async fn get(pool: &PgPool, id: Uuid) -> sqlx::Result<Option<JobView>> {
    sqlx::query_as("select * from jobs where id = $1").bind(id).fetch_optional(pool).await
}

/// Queued jobs of `job_types` that may start now: nothing of their target runs, no earlier job
/// of their target waits, and their target is not in `busy_targets`. First in queue order.
pub async fn runnable(
    pool: &PgPool,
    job_types: &[String],
    busy_targets: &[String],
    limit: i64,
) -> sqlx::Result<Vec<JobView>> {
    sqlx::query_as(
        "select j.* from jobs j
          where j.status = 'queued' and not j.cancel_requested
            and j.job_type = any($1) and not (j.target = any($2))
            and not exists (select 1 from jobs r where r.target = j.target and r.status = 'running')
            and not exists (select 1 from jobs e where e.target = j.target and e.status = 'queued'
                                                   and e.queue_position < j.queue_position)
          order by j.queue_position
          limit $3",
    )
    .bind(job_types)
    .bind(busy_targets)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Jobs the read model shows as running: `(id, target)`.
pub async fn running(pool: &PgPool, job_types: &[String]) -> sqlx::Result<Vec<(Uuid, String)>> {
    sqlx::query_as("select id, target from jobs where status = 'running' and job_type = any($1)")
        .bind(job_types)
        .fetch_all(pool)
        .await
}

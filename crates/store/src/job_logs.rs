//! Stored job log lines (`job_logs`), written by the job runner, read by the API.

use sqlx::PgPool;
use uuid::Uuid;
use warp_events::logs::{JobLogLine, LogStream};

/// Stores `lines` of job `job_id` (already redacted). Lines already stored are skipped, so a
/// retried flush is harmless.
pub async fn insert(pool: &PgPool, job_id: Uuid, lines: &[JobLogLine]) -> sqlx::Result<()> {
    if lines.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "insert into job_logs (job_id, seq, at, stream, line)
         select $1, * from unnest($2::bigint[], $3::timestamptz[], $4::text[], $5::text[])
         on conflict do nothing",
    )
    .bind(job_id)
    .bind(lines.iter().map(|l| l.seq).collect::<Vec<_>>())
    .bind(lines.iter().map(|l| l.at).collect::<Vec<_>>())
    .bind(lines.iter().map(|l| l.stream.as_str()).collect::<Vec<_>>())
    .bind(lines.iter().map(|l| l.line.clone()).collect::<Vec<_>>())
    .execute(pool)
    .await?;
    Ok(())
}

/// Up to `limit` lines of `job_id` with `seq > after`, in order.
pub async fn page(pool: &PgPool, job_id: Uuid, after: i64, limit: i64) -> sqlx::Result<Vec<JobLogLine>> {
    let rows: Vec<(i64, chrono::DateTime<chrono::Utc>, String, String)> = sqlx::query_as(
        "select seq, at, stream, line from job_logs where job_id = $1 and seq > $2 order by seq limit $3",
    )
    .bind(job_id)
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(seq, at, stream, line)| JobLogLine {
            seq,
            at,
            stream: match stream.as_str() {
                "stdout" => LogStream::Stdout,
                "stderr" => LogStream::Stderr,
                _ => LogStream::System,
            },
            line,
        })
        .collect())
}

/// The highest stored `seq` of `job_id` (0 when it has no lines).
pub async fn last_seq(pool: &PgPool, job_id: Uuid) -> sqlx::Result<i64> {
    sqlx::query_scalar("select coalesce(max(seq), 0) from job_logs where job_id = $1")
        .bind(job_id)
        .fetch_one(pool)
        .await
}

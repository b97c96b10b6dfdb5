//! `GET /api/jobs/{id}/logs`: stored lines as JSON pages, or stored-then-live lines as
//! Server-Sent Events.
//!
//! The stream subscribes to `warp.logs.job.<id>` first, then reads stored lines, then relays
//! live lines. The runner stores lines before it publishes them, so nothing falls between the
//! two; a line seen twice is dropped by its `seq`, and a gap (a lost live message) is filled
//! from the store. The stream ends with an `end` event when the job ends.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use uuid::Uuid;
use warp_events::logs::{JobLogLine, JobLogMessage};
use warp_store::job_logs;
use warp_store::page::clamp_limit;
use warp_store::projections::jobs;

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiPath, ApiQuery, CurrentUser};
use crate::AppState;

/// Query of `GET /api/jobs/{id}/logs`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct LogQuery {
    /// Only lines with a higher `seq` (default 0). For SSE, `Last-Event-ID` takes precedence.
    #[serde(default)]
    pub after: i64,
    /// Page size for JSON, 1-500 (default 50).
    pub limit: Option<i64>,
}

/// A page of log lines.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LogPage {
    pub lines: Vec<JobLogLine>,
    /// Pass as `after` to continue.
    pub next_after: i64,
    /// The job's status when the page was read.
    pub job_status: String,
}

/// How often a live stream re-checks whether the job ended (in case the end message was lost).
const STATUS_CHECK: Duration = Duration::from_secs(2);
const FINAL: [&str; 4] = ["succeeded", "failed", "cancelled", "timed_out"];

/// The job's log. With `Accept: text/event-stream`: SSE `line` events (`id` = seq, data a
/// `JobLogLine`), stored lines first and then live ones, resumable with `Last-Event-ID`,
/// closed by an `end` event (`{"status":…}`) when the job ends. Otherwise a JSON page.
#[utoipa::path(
    get, path = "/api/jobs/{id}/logs", tag = "jobs",
    params(("id" = Uuid, Path, description = "Job id"), LogQuery,
           ("Last-Event-ID" = Option<i64>, Header, description = "SSE: resume after this seq")),
    responses(
        (status = 200, description = "A JSON page, or text/event-stream", body = LogPage),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn job_logs(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<LogQuery>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    if query.after < 0 {
        return Err(ApiError::BadRequest("`after` must be 0 or more".into()));
    }
    let job = jobs::get(&state.pool, id).await?.ok_or_else(|| ApiError::NotFound("job not found".into()))?;
    crate::access::ensure_job(&state.pool, &user.0, job.project_id).await?;
    let wants_sse = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/event-stream"));
    if !wants_sse {
        let lines = job_logs::page(&state.pool, id, query.after, clamp_limit(query.limit)).await?;
        let next_after = lines.last().map_or(query.after, |l| l.seq);
        return Ok(axum::Json(LogPage { lines, next_after, job_status: job.status }).into_response());
    }
    let after = match headers.get("last-event-id") {
        Some(value) => value
            .to_str()
            .ok()
            .and_then(|v| v.trim().parse::<i64>().ok())
            .filter(|v| *v >= 0)
            .ok_or_else(|| ApiError::BadRequest("Last-Event-ID must be a log line seq".into()))?,
        None => query.after,
    };
    let subject = warp_events::subjects::job_logs_subject(&id.to_string());
    let live = state
        .nats
        .subscribe(subject)
        .await
        .map_err(|_| ApiError::Unavailable("live logs are not reachable".into()))?;
    let (tx, rx) = mpsc::channel(256);
    tokio::spawn(follow(state.pool.clone(), id, after, live, tx, state.shutdown.clone()));
    let stream = ReceiverStream::new(rx)
        .map(Ok::<_, Infallible>)
        .take_until(crate::access::credential_ended(state.clone(), user.0.credential));
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))).into_response())
}

/// Sends stored lines after `after`, then live ones, until the job ends or the client leaves.
async fn follow(
    pool: PgPool,
    job_id: Uuid,
    after: i64,
    mut live: async_nats::Subscriber,
    tx: mpsc::Sender<Event>,
    shutdown: warp_platform::Shutdown,
) {
    let mut last = after;
    if backfill(&pool, job_id, &mut last, i64::MAX, &tx).await.is_err() {
        return;
    }
    let mut check = tokio::time::interval(STATUS_CHECK);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tx.closed() => return,
            message = live.next() => {
                let Some(message) = message else { return };
                match serde_json::from_slice::<JobLogMessage>(&message.payload) {
                    Ok(JobLogMessage::Lines { lines }) => {
                        let first = lines.first().map_or(last + 1, |l| l.seq);
                        if first > last + 1 && backfill(&pool, job_id, &mut last, first - 1, &tx).await.is_err() {
                            return;
                        }
                        for line in lines {
                            if line.seq <= last {
                                continue;
                            }
                            last = line.seq;
                            if tx.send(line_event(&line)).await.is_err() {
                                return;
                            }
                        }
                    }
                    Ok(JobLogMessage::End { status, last_seq }) => {
                        if backfill(&pool, job_id, &mut last, last_seq, &tx).await.is_ok() {
                            let _ = tx.send(end_event(&status)).await;
                        }
                        return;
                    }
                    Err(_) => {}
                }
            }
            _ = check.tick() => {
                let status = jobs::get(&pool, job_id).await.ok().flatten().map(|j| j.status);
                if let Some(status) = status.filter(|s| FINAL.contains(&s.as_str())) {
                    // The runner stores every line before it records the outcome.
                    if backfill(&pool, job_id, &mut last, i64::MAX, &tx).await.is_ok() {
                        let _ = tx.send(end_event(&status)).await;
                    }
                    return;
                }
            }
        }
    }
}

/// Sends stored lines with `last < seq <= until`, advancing `last`. `Err` when the client left
/// or the store failed.
async fn backfill(pool: &PgPool, job_id: Uuid, last: &mut i64, until: i64, tx: &mpsc::Sender<Event>) -> Result<(), ()> {
    while *last < until {
        let lines = job_logs::page(pool, job_id, *last, 500).await.map_err(|_| ())?;
        if lines.is_empty() {
            return Ok(());
        }
        for line in lines.into_iter().take_while(|l| l.seq <= until) {
            *last = line.seq;
            tx.send(line_event(&line)).await.map_err(|_| ())?;
        }
    }
    Ok(())
}

fn line_event(line: &JobLogLine) -> Event {
    let data = serde_json::to_string(line).unwrap_or_default();
    Event::default().id(line.seq.to_string()).event("line").data(data)
}

fn end_event(status: &str) -> Event {
    Event::default().event("end").data(serde_json::json!({ "status": status }).to_string())
}

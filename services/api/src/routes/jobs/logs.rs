//! `GET /api/jobs/{id}/logs`: stored lines as JSON pages, or stored-then-live lines as
//! Server-Sent Events.
//!
//! The stream subscribes to `warp.logs.job.<id>` first, then reads stored lines, then relays
//! live lines. The runner stores lines before it publishes them, so nothing falls between the
//! two; a line seen twice is dropped by its `seq`, and a gap (a lost live message) is filled
//! from the store. The stream ends with an `end` event when the job ends.
//!
//! A client that does not keep up never makes the API buffer more than its stream budget
//! ([`crate::streams`]): the stream then falls behind, ignores live lines, and catches up from
//! the store once the client has read half of what is queued. No line is lost.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;
use warp_events::logs::{JobLogLine, JobLogMessage};
use warp_store::job_logs;
use warp_store::page::clamp_limit;
use warp_store::projections::jobs;

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiPath, ApiQuery, CurrentUser};
use crate::streams::{BoundedSender, Closed};
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
        (status = 429, description = "Too many open log streams (8 per user, 64 in all)", body = ErrorBody),
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
    let session = state.streams.open_log_session(&user.0.login)?;
    let subject = warp_events::subjects::job_logs_subject(&id.to_string());
    let live = state
        .nats
        .subscribe(subject)
        .await
        .map_err(|_| ApiError::Unavailable("live logs are not reachable".into()))?;
    let (tx, rx) = state.streams.channel(format!("job logs {id}"));
    let (pool, shutdown) = (state.pool.clone(), state.shutdown.clone());
    tokio::spawn(async move {
        follow(pool, id, after, live, tx, shutdown).await;
        drop(session);
    });
    let stream = rx
        .map(Ok::<_, Infallible>)
        .take_until(crate::access::credential_ended(state.clone(), user.0.credential));
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))).into_response())
}

/// How often a stream that fell behind tries to catch up while no live line arrives.
const CATCH_UP: Duration = Duration::from_millis(250);

/// Sends stored lines after `after`, then live ones, until the job ends or the client leaves.
async fn follow(
    pool: PgPool,
    job_id: Uuid,
    after: i64,
    mut live: async_nats::Subscriber,
    mut tx: BoundedSender,
    shutdown: warp_platform::Shutdown,
) {
    let mut feed = Feed { pool: &pool, job_id, last: after, behind: true };
    let mut check = tokio::time::interval(STATUS_CHECK);
    let mut retry = tokio::time::interval(CATCH_UP);
    // The job's final status once known: the stream ends after every stored line is out.
    let mut ended: Option<String> = None;
    loop {
        if feed.behind && tx.has_room() && feed.catch_up(&mut tx).await.is_err() {
            return;
        }
        if let (Some(status), false) = (&ended, feed.behind) {
            let data = serde_json::json!({ "status": status }).to_string();
            match tx.try_send(Event::default().event("end").data(data.clone()), data.len()) {
                Ok(true) | Err(_) => return,
                Ok(false) => {}
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tx.closed() => return,
            _ = retry.tick() => {}
            message = live.next(), if ended.is_none() => {
                let Some(message) = message else { return };
                match serde_json::from_slice::<JobLogMessage>(&message.payload) {
                    Ok(JobLogMessage::Lines { lines }) if !feed.behind => {
                        if feed.live(&mut tx, lines).is_err() {
                            return;
                        }
                    }
                    Ok(JobLogMessage::Lines { .. }) | Err(_) => {}
                    Ok(JobLogMessage::End { status, .. }) => {
                        // The runner stores every line before it records the outcome.
                        feed.behind = true;
                        ended = Some(status);
                    }
                }
            }
            _ = check.tick(), if ended.is_none() => {
                let status = jobs::get(&pool, job_id).await.ok().flatten().map(|j| j.status);
                if let Some(status) = status.filter(|s| FINAL.contains(&s.as_str())) {
                    feed.behind = true;
                    ended = Some(status);
                }
            }
        }
    }
}

/// Where one job log stream stands.
struct Feed<'a> {
    pool: &'a PgPool,
    job_id: Uuid,
    /// Highest seq queued for the client.
    last: i64,
    /// Whether lines after `last` may be missing from what was queued (the store has them).
    behind: bool,
}

impl Feed<'_> {
    /// Queues stored lines after `last` while the budget allows; `behind` stays set if it ran
    /// out first. `Err` when the client left or the store failed.
    async fn catch_up(&mut self, tx: &mut BoundedSender) -> Result<(), Closed> {
        loop {
            let lines = job_logs::page(self.pool, self.job_id, self.last, 500).await.map_err(|_| Closed)?;
            if lines.is_empty() {
                self.behind = false;
                return Ok(());
            }
            for line in lines {
                let (event, bytes) = line_event(&line);
                if !tx.try_send(event, bytes)? {
                    return Ok(());
                }
                self.last = line.seq;
            }
        }
    }

    /// Queues live `lines`; falls behind at a gap or when the budget runs out.
    fn live(&mut self, tx: &mut BoundedSender, lines: Vec<JobLogLine>) -> Result<(), Closed> {
        for line in lines {
            if line.seq <= self.last {
                continue;
            }
            if line.seq > self.last + 1 {
                self.behind = true;
                return Ok(());
            }
            let (event, bytes) = line_event(&line);
            if !tx.try_send(event, bytes)? {
                self.behind = true;
                return Ok(());
            }
            self.last = line.seq;
        }
        Ok(())
    }
}

/// The SSE event of `line` and its size in bytes.
fn line_event(line: &JobLogLine) -> (Event, usize) {
    let data = serde_json::to_string(line).unwrap_or_default();
    let bytes = data.len();
    (Event::default().id(line.seq.to_string()).event("line").data(data), bytes)
}

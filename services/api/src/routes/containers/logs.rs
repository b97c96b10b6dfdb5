//! `GET /api/containers/logs`: the live logs of every matching running container, as one
//! Server-Sent Events stream.
//!
//! Session protocol with the docker service (see `docs/ARCHITECTURE.md`): subscribe to
//! `warp.logs.container.*.<session_id>` first, then request `logs.open`; send
//! `logs.keepalive` every [`KEEPALIVE`] while the client stays; send `logs.close` when it
//! leaves. The docker service drops a session that has not been kept alive for 15 s.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use chrono::DateTime;
use futures::{Stream, StreamExt};
use serde::Deserialize;
use uuid::Uuid;
use warp_events::docker::{AnsiMode, ContainerLogLine, LogsKeptAlive, LogsOpen, LogsOpened, LogsSession};
use warp_events::subjects;

use super::docker;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiQuery, CurrentUser};
use crate::streams::BoundedSender;
use crate::AppState;

/// How often the API tells the docker service that the client is still there.
pub const KEEPALIVE: Duration = Duration::from_secs(5);
/// Most lines per container from before the stream opened.
pub const MAX_TAIL: u32 = 10_000;
/// Lines per container from before the stream opened when neither `tail` nor `since` is given.
pub const DEFAULT_TAIL: u32 = 100;

/// Query of `GET /api/containers/logs`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ContainerLogsQuery {
    /// Substring of the container name or id: 1-128 characters of `[A-Za-z0-9_.-]`. Absent:
    /// every running container.
    pub filter: Option<String>,
    /// Lines per container from before the stream opened, 0-10000. Default 100, or every line
    /// since `since` when `since` is given.
    pub tail: Option<u32>,
    /// Only lines from this time on: RFC 3339 (`2024-05-01T10:00:00Z`) or unix seconds.
    pub since: Option<String>,
    /// `keep` (default) leaves colour codes in; `strip` removes ANSI escape sequences.
    pub ansi: Option<AnsiMode>,
}

impl ContainerLogsQuery {
    /// The `logs.open` request this query asks for, or why it is invalid.
    fn into_request(self, session_id: Uuid) -> Result<LogsOpen, ApiError> {
        if let Some(filter) = &self.filter {
            let ok = (1..=128).contains(&filter.len())
                && filter.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
            if !ok {
                return Err(ApiError::BadRequest("`filter` must be 1-128 characters of A-Z a-z 0-9 _ . -".into()));
            }
        }
        if self.tail.is_some_and(|t| t > MAX_TAIL) {
            return Err(ApiError::BadRequest(format!("`tail` must be 0-{MAX_TAIL}")));
        }
        let since = self.since.as_deref().map(parse_since).transpose()?;
        let tail = self.tail.or(if since.is_some() { None } else { Some(DEFAULT_TAIL) });
        Ok(LogsOpen { session_id, filter: self.filter, tail, since, ansi: self.ansi.unwrap_or_default(), compose_projects: None })
    }
}

/// Unix seconds from `raw`: an integer ≥ 0, or an RFC 3339 time.
fn parse_since(raw: &str) -> Result<i64, ApiError> {
    let raw = raw.trim();
    let seconds = match raw.parse::<i64>() {
        Ok(seconds) => Some(seconds),
        Err(_) => DateTime::parse_from_rfc3339(raw).ok().map(|t| t.timestamp()),
    };
    seconds
        .filter(|s| (0..=i64::from(i32::MAX)).contains(s))
        .ok_or_else(|| ApiError::BadRequest("`since` must be an RFC 3339 time or unix seconds".into()))
}

/// Live logs of the matching running containers, and of matching containers that start while
/// the stream is open, as `text/event-stream`. The first event is `open` (`{"session_id",
/// "containers":[{"id","name"}]}`); each log line is a `line` event whose data is a
/// `ContainerLogLine`; an `end` event (`{"reason"}`) closes the stream if the docker service
/// lost the session. Lines longer than Docker's 16 KiB chunks arrive whole (cut after 64 KiB
/// with ` …[truncated]`), a bare `\r` ends a line, invalid UTF-8 is replaced.
#[utoipa::path(
    get, path = "/api/containers/logs", tag = "containers",
    params(ContainerLogsQuery),
    responses(
        (status = 200, description = "text/event-stream of `open`, `line` (data: ContainerLogLine) and `end` events", content_type = "text/event-stream", body = ContainerLogLine),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 429, description = "Too many open log streams (8 per user, 64 in all)", body = ErrorBody),
        (status = 503, description = "The docker service did not answer, or the engine is unreachable", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn container_logs(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(query): ApiQuery<ContainerLogsQuery>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let session_id = Uuid::now_v7();
    let mut open = query.into_request(session_id)?;
    // A member follows only the containers of their own projects.
    open.compose_projects = crate::access::visible_compose_projects(&state.pool, &user.0).await?;
    let log_session = state.streams.open_log_session(&user.0.login)?;
    let lines = state
        .nats
        .subscribe(subjects::container_logs_session_wildcard(&session_id.to_string()))
        .await
        .map_err(|_| ApiError::Unavailable("live logs are not reachable (NATS)".into()))?;
    let opened: LogsOpened = docker::request(&state, subjects::DOCKER_LOGS_OPEN, &open).await?;
    let (mut tx, rx) = state.streams.channel(format!("container logs {session_id}"));
    let hello = serde_json::json!({ "session_id": session_id, "containers": opened.containers }).to_string();
    let _ = tx.try_send(Event::default().event("open").data(hello.clone()), hello.len());
    let revoked = crate::access::credential_ended(state.clone(), user.0.credential);
    tokio::spawn(async move {
        relay(state, session_id, lines, tx).await;
        drop(log_session);
    });
    let stream = rx.map(Ok::<_, Infallible>).take_until(revoked);
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// Sends the session's lines to the client and keeps the session alive until the client
/// leaves, the server shuts down or the docker service forgets the session; then closes it.
///
/// It never waits for the client: when the stream's budget is used up, lines are dropped and
/// counted (the client gets a `dropped` event), so NATS never buffers for a slow client.
async fn relay(state: AppState, session_id: Uuid, mut lines: async_nats::Subscriber, mut tx: BoundedSender) {
    let session = LogsSession { session_id };
    // Keep-alives run on their own, so a slow client (blocking the send below) does not let
    // the docker service expire the session.
    let forgotten = tokio_util::sync::CancellationToken::new();
    let keepalive = tokio::spawn({
        let (state, session, forgotten) = (state.clone(), session.clone(), forgotten.clone());
        async move {
            let mut tick = tokio::time::interval(KEEPALIVE);
            tick.tick().await;
            loop {
                tick.tick().await;
                let reply = docker::request::<_, LogsKeptAlive>(&state, subjects::DOCKER_LOGS_KEEPALIVE, &session).await;
                if let Ok(LogsKeptAlive { known: false }) = reply {
                    forgotten.cancel();
                    return;
                }
            }
        }
    });
    loop {
        tokio::select! {
            _ = state.shutdown.cancelled() => break,
            _ = tx.closed() => break,
            _ = forgotten.cancelled() => {
                let reason = serde_json::json!({ "reason": "the docker service ended the log session" });
                let reason = reason.to_string();
                let _ = tx.try_send(Event::default().event("end").data(reason.clone()), reason.len());
                break;
            }
            message = lines.next() => {
                let Some(message) = message else { break };
                let Ok(mut line) = serde_json::from_slice::<ContainerLogLine>(&message.payload) else { continue };
                // Whatever the docker service knew, no secret of the panel, nor of the container's
                // own project, reaches a client.
                line.line = state.settings.redactor().for_project(line.compose_project.as_deref()).redact(&line.line);
                let data = serde_json::to_string(&line).expect("a log line serialises");
                let bytes = data.len();
                if tx.send_or_drop(Event::default().event("line").data(data), bytes).is_err() {
                    break;
                }
            }
        }
    }
    keepalive.abort();
    let _ = docker::request::<_, LogsKeptAlive>(&state, subjects::DOCKER_LOGS_CLOSE, &session).await;
}

#[cfg(test)]
mod tests {
    use super::parse_since;

    #[test]
    fn since_takes_unix_seconds_or_rfc3339_and_nothing_else() {
        assert_eq!(parse_since("1700000000").unwrap(), 1_700_000_000);
        assert_eq!(parse_since("2024-05-01T10:00:00Z").unwrap(), 1_714_557_600);
        assert!(parse_since("yesterday").is_err());
        assert!(parse_since("-5").is_err());
    }
}

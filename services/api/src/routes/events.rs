//! `/api/events`: the event store, paged or live.
//!
//! Positions are stream sequences of the `WARP_EVENTS` stream: the order in which the relay
//! published events, which is the order they became visible. Paging with `after=<position>`
//! therefore never skips an event that committed late with a lower `global_position`.

use std::convert::Infallible;
use std::time::Duration;

use async_nats::jetstream::consumer::{pull, DeliverPolicy};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};
use warp_events::EventEnvelope;
use warp_store::events::{self, PositionedEvent};
use warp_store::page::clamp_limit;

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiQuery, CurrentUser};
use crate::AppState;

/// Routes of this area.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_events)).routes(routes!(stream_events))
}

/// Query of `GET /api/events`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListEvents {
    /// Only events with a higher position (default 0: from the start).
    #[serde(default)]
    pub after: i64,
    /// Page size, 1-500 (default 50).
    pub limit: Option<i64>,
}

/// A page of events and the `after` of the next page.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EventPage {
    pub events: Vec<PositionedEvent>,
    /// Pass as `after` to continue; equals the request's `after` when nothing new was found.
    pub next_after: i64,
}

/// Published events in position order.
#[utoipa::path(
    get, path = "/api/events", tag = "events",
    params(ListEvents),
    responses((status = 200, body = EventPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn list_events(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(query): ApiQuery<ListEvents>,
) -> ApiResult<axum::Json<EventPage>> {
    // The raw feed carries every project's events: an operator's tool.
    user.require_admin()?;
    if query.after < 0 {
        return Err(ApiError::BadRequest("`after` must be 0 or more".into()));
    }
    let events = events::published_after(&state.pool, query.after, clamp_limit(query.limit)).await?;
    let next_after = events.last().map_or(query.after, |e| e.position);
    Ok(axum::Json(EventPage { events, next_after }))
}

/// Server-Sent Events of new events, read from NATS. Each SSE `id` is the event's position;
/// reconnect with `Last-Event-ID` to resume right after it. Without it the stream starts with
/// the next new event.
#[utoipa::path(
    get, path = "/api/events/stream", tag = "events",
    params(("Last-Event-ID" = Option<i64>, Header, description = "Resume after this position")),
    responses(
        (status = 200, description = "text/event-stream of `event` messages whose data is a PositionedEvent", content_type = "text/event-stream"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 503, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn stream_events(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    user.require_admin()?;
    let deliver_policy = match headers.get("last-event-id") {
        None => DeliverPolicy::New,
        Some(value) => {
            let start_sequence = value
                .to_str()
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .and_then(|last| last.checked_add(1))
                .ok_or_else(|| ApiError::BadRequest("Last-Event-ID must be an event position".into()))?;
            DeliverPolicy::ByStartSequence { start_sequence }
        }
    };
    let js = async_nats::jetstream::new(state.nats.clone());
    let unavailable = |_| ApiError::Unavailable("the event stream is not reachable".into());
    let stream = js.get_stream(&state.names.stream).await.map_err(unavailable)?;
    let consumer = stream
        .create_consumer(pull::OrderedConfig {
            deliver_policy,
            filter_subject: state.names.all_events(),
            ..Default::default()
        })
        .await
        .map_err(|_| ApiError::Unavailable("the event stream is not reachable".into()))?;
    let messages = consumer.messages().await.map_err(|_| ApiError::Unavailable("the event stream is not reachable".into()))?;
    let events = messages
        .take_until(state.shutdown.clone().cancelled_owned())
        .take_until(crate::access::credential_ended(state.clone(), user.0.credential))
        .take_while(|message| std::future::ready(message.is_ok()))
        .filter_map(|message| async move {
            let message = message.ok()?;
            let position = message.info().ok()?.stream_sequence;
            let event: EventEnvelope = serde_json::from_slice(&message.payload).ok()?;
            let item = PositionedEvent { position: position as i64, event };
            let data = serde_json::to_string(&item).ok()?;
            Some(Ok(Event::default().id(position.to_string()).event("event").data(data)))
        });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

//! Reading the event store back as envelopes.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::{PgExecutor, PgPool};
use warp_events::{EventEnvelope, EventMetadata};

/// Columns selected by every event read, in [`EventRow`] order.
pub const EVENT_COLUMNS: &str = "e.aggregate_type, e.aggregate_id, e.sequence, e.event_type, \
     e.event_version, e.payload, e.metadata, e.global_position, e.recorded_at";

/// One `events` row.
#[derive(Debug, sqlx::FromRow)]
pub struct EventRow {
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    pub event_type: String,
    pub event_version: String,
    pub payload: serde_json::Value,
    pub metadata: serde_json::Value,
    pub global_position: i64,
    pub recorded_at: DateTime<Utc>,
}

impl From<EventRow> for EventEnvelope {
    fn from(row: EventRow) -> Self {
        let metadata: HashMap<String, String> = match row.metadata {
            serde_json::Value::Object(map) => map
                .into_iter()
                .filter_map(|(key, value)| value.as_str().map(|v| (key, v.to_owned())))
                .collect(),
            _ => HashMap::new(),
        };
        EventEnvelope {
            aggregate_type: row.aggregate_type,
            aggregate_id: row.aggregate_id,
            sequence: row.sequence,
            event_type: row.event_type,
            event_version: row.event_version,
            global_position: row.global_position,
            recorded_at: row.recorded_at,
            payload: row.payload,
            metadata: EventMetadata::from_map(&metadata),
        }
    }
}

/// A published event and its position in the event stream (the JetStream stream sequence the
/// relay got back). Positions grow in publish order, which is commit order as the single relay
/// sees it, so `after=<position>` paging never skips a late commit.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct PositionedEvent {
    pub position: i64,
    #[serde(flatten)]
    pub event: EventEnvelope,
}

#[derive(sqlx::FromRow)]
struct PositionedRow {
    position: i64,
    #[sqlx(flatten)]
    event: EventRow,
}

/// Up to `limit` published events with a position above `after`, in position order.
pub async fn published_after(pool: &PgPool, after: i64, limit: i64) -> sqlx::Result<Vec<PositionedEvent>> {
    let sql = format!(
        "select o.stream_sequence as position, {EVENT_COLUMNS}
           from event_outbox o join events e using (global_position)
          where o.stream_sequence > $1
          order by o.stream_sequence
          limit $2"
    );
    let rows: Vec<PositionedRow> = sqlx::query_as(&sql).bind(after).bind(limit).fetch_all(pool).await?;
    Ok(rows
        .into_iter()
        .map(|row| PositionedEvent { position: row.position, event: row.event.into() })
        .collect())
}

/// Every event of one aggregate, in sequence order.
pub async fn for_aggregate(
    executor: impl PgExecutor<'_>,
    aggregate_type: &str,
    aggregate_id: &str,
) -> sqlx::Result<Vec<EventEnvelope>> {
    let sql = format!(
        "select {EVENT_COLUMNS} from events e
          where e.aggregate_type = $1 and e.aggregate_id = $2 order by e.sequence"
    );
    let rows: Vec<EventRow> =
        sqlx::query_as(&sql).bind(aggregate_type).bind(aggregate_id).fetch_all(executor).await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

//! The envelope every event travels in, on NATS and in the `/api/events` read API.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Largest serialised [`EventEnvelope`] the panel produces, bytes: the byte limits the
/// aggregates put on every free-text field (`warp_domain::bounded`) keep every event below it,
/// and it is a quarter of NATS' default 1 MiB `max_payload`. The relay refuses (and reports)
/// a row whose envelope is larger, without trying to publish it.
pub const MAX_ENVELOPE_BYTES: usize = 256 * 1024;

/// Metadata keys as stored in the `events.metadata` JSON object (a flat string map, the shape
/// `cqrs-es` persists).
pub mod keys {
    /// GitHub login of the user (or `system:<service>` for a consumer) that issued the command.
    pub const ACTOR: &str = "actor";
    /// The `x-request-id` of the HTTP request that issued the command.
    pub const REQUEST_ID: &str = "request_id";
    /// Id shared by every event that descends from one user action.
    pub const CORRELATION_ID: &str = "correlation_id";
    /// Message id (see [`crate::subjects::message_id`]) of the event that caused this command.
    pub const CAUSATION_ID: &str = "causation_id";
}

/// Who and what caused an event. Every field is optional on the wire so that older events stay
/// readable; commands issued through the API always fill `actor`, `request_id` and
/// `correlation_id`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema, utoipa::ToSchema)]
pub struct EventMetadata {
    /// GitHub login, or `system:<service>` for follow-up commands issued by a consumer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// `x-request-id` of the originating HTTP request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Id shared by every event descending from one user action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// Message id of the event that caused this one, for follow-up commands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub causation_id: Option<String>,
}

impl EventMetadata {
    /// Metadata of a command a job issues: `actor = system:<worker>`, correlation id = the job
    /// id (every event a job causes shares it).
    pub fn for_job(worker: &str, job_id: uuid::Uuid) -> Self {
        Self { actor: Some(format!("system:{worker}")), request_id: None, correlation_id: Some(job_id.to_string()), causation_id: None }
    }

    /// The flat string map `cqrs-es` stores in `events.metadata`.
    pub fn to_map(&self) -> HashMap<String, String> {
        let mut map = HashMap::new();
        let pairs = [
            (keys::ACTOR, &self.actor),
            (keys::REQUEST_ID, &self.request_id),
            (keys::CORRELATION_ID, &self.correlation_id),
            (keys::CAUSATION_ID, &self.causation_id),
        ];
        for (key, value) in pairs {
            if let Some(value) = value {
                map.insert(key.to_owned(), value.clone());
            }
        }
        map
    }

    /// Reads the metadata back from the stored map; unknown keys are ignored.
    pub fn from_map(map: &HashMap<String, String>) -> Self {
        Self {
            actor: map.get(keys::ACTOR).cloned(),
            request_id: map.get(keys::REQUEST_ID).cloned(),
            correlation_id: map.get(keys::CORRELATION_ID).cloned(),
            causation_id: map.get(keys::CAUSATION_ID).cloned(),
        }
    }
}

/// One stored event as published on `warp.events.<aggregate_type>.<aggregate_id>.<event_type>`.
///
/// `payload` is the event enum as `cqrs-es` serialises it: an object with one key, the event
/// type, e.g. `{"ProjectCreated":{"name":"shop"}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, utoipa::ToSchema)]
pub struct EventEnvelope {
    /// Aggregate type, e.g. `project`.
    pub aggregate_type: String,
    /// Aggregate id (a UUID for every aggregate the panel has).
    pub aggregate_id: String,
    /// 1-based sequence of this event within its aggregate.
    pub sequence: i64,
    /// Event type, e.g. `ProjectCreated`.
    pub event_type: String,
    /// Shape version of the payload, e.g. `1.0`.
    pub event_version: String,
    /// Position in the `events` table (`global_position`). Unique and increasing with insert
    /// time, not with commit time: do not use it as a resume watermark.
    pub global_position: i64,
    /// When the event was stored (UTC).
    pub recorded_at: DateTime<Utc>,
    /// The event itself.
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    /// Actor, request and correlation ids.
    pub metadata: EventMetadata,
}

impl EventEnvelope {
    /// The idempotency key of this event: see [`crate::subjects::message_id`].
    pub fn message_id(&self) -> String {
        crate::subjects::message_id(&self.aggregate_type, &self.aggregate_id, self.sequence)
    }

    /// The payload's inner object (the value under the event-type key), or the whole payload
    /// when it is not a one-key object.
    pub fn payload_body(&self) -> &serde_json::Value {
        match &self.payload {
            serde_json::Value::Object(map) if map.len() == 1 => {
                map.values().next().unwrap_or(&self.payload)
            }
            other => other,
        }
    }
}

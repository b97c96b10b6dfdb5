//! JSON Schema of the wire contract, generated from the Rust types.

use schemars::schema_for;

/// [`events_schema`] as committed: pretty JSON with a trailing newline.
pub fn events_schema_json() -> String {
    serde_json::to_string_pretty(&events_schema()).expect("schemas serialise") + "\n"
}

/// One JSON document holding the schema of [`crate::EventEnvelope`] and of every event enum,
/// keyed by name. Written to `schema/events.schema.json` by `warp schema`.
pub fn events_schema() -> serde_json::Value {
    serde_json::json!({
        "$comment": "Generated from the warp-events crate by `warp schema`; do not edit by hand.",
        "envelope": schema_for!(crate::EventEnvelope),
        "events": {
            crate::project::AGGREGATE_TYPE: schema_for!(crate::ProjectEvent),
            crate::settings::AGGREGATE_TYPE: schema_for!(crate::SettingsEvent),
            crate::job::AGGREGATE_TYPE: schema_for!(crate::JobEvent),
            crate::session::AGGREGATE_TYPE: schema_for!(crate::SessionEvent),
            crate::github_delivery::AGGREGATE_TYPE: schema_for!(crate::GithubDeliveryEvent),
        }
    })
}

//! The committed `schema/` files match what the code generates (run `warp schema` to refresh).

use std::path::PathBuf;

fn committed(file: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schema").join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

#[test]
fn committed_event_schema_matches_the_event_types() {
    assert!(
        committed("events.schema.json") == warp_events::schema::events_schema_json(),
        "schema/events.schema.json is stale: run `cargo run -p warp -- schema`"
    );
}

#[test]
fn committed_openapi_document_matches_the_routes() {
    assert!(
        committed("openapi.json") == warp_api::openapi_json(),
        "schema/openapi.json is stale: run `cargo run -p warp -- schema`"
    );
}

#[test]
fn the_event_schema_names_every_project_event() {
    let schema = warp_events::schema::events_schema_json();
    for event in warp_events::ProjectEvent::TYPES {
        assert!(schema.contains(event), "{event} missing from the schema");
    }
}

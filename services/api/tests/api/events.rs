//! `/api/events`: paged reads and the live SSE stream with resume.

use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

use crate::helpers::{assert_error, TestApp, CATCH_UP};
use crate::sse::{SseMessage, SseReader};

async fn events_after(app: &TestApp, after: i64) -> Value {
    let response = app.list_events(&app.admin, after).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

#[tokio::test]
async fn published_events_are_listed_in_position_order_and_paged_by_after() {
    let app = TestApp::spawn().await;
    let id = app.create_named("shop").await.to_string();
    assert_eq!(app.update_project(&app.admin, &id, &json!({ "name": "store" }), None).await.status(), StatusCode::NO_CONTENT);
    app.create_named("blog").await;

    let page = warp_test_support::eventually(CATCH_UP, "three events are published", || async {
        let page = events_after(&app, 0).await;
        (page["events"].as_array()?.len() == 3).then_some(page)
    })
    .await;
    let events = page["events"].as_array().unwrap();
    let types: Vec<&str> = events.iter().map(|e| e["event_type"].as_str().unwrap()).collect();
    assert_eq!(types, ["ProjectCreated", "ProjectRenamed", "ProjectCreated"]);
    let positions: Vec<i64> = events.iter().map(|e| e["position"].as_i64().unwrap()).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "positions increase: {positions:?}");
    assert_eq!(page["next_after"], positions[2]);

    let rest = events_after(&app, positions[0]).await;
    let rest_positions: Vec<i64> = rest["events"].as_array().unwrap().iter().map(|e| e["position"].as_i64().unwrap()).collect();
    assert_eq!(rest_positions, positions[1..]);

    let none = events_after(&app, positions[2]).await;
    assert_eq!(none["events"], json!([]));
    assert_eq!(none["next_after"], positions[2]);
}

#[tokio::test]
async fn a_negative_after_is_refused_with_400() {
    let app = TestApp::spawn().await;
    assert_error(app.list_events(&app.admin, -1).await, StatusCode::BAD_REQUEST, "bad_request").await;
}

/// The next `event` message of `reader`, failing the test when none comes.
async fn next_event(reader: &mut SseReader) -> (i64, Value) {
    let message: SseMessage = reader.next(Duration::from_secs(10)).await.expect("an SSE message within 10 s");
    assert_eq!(message.event.as_deref(), Some("event"), "{message:?}");
    let id: i64 = message.id.as_deref().expect("an id: line").parse().expect("a numeric id");
    let data: Value = serde_json::from_str(&message.data).expect("JSON data");
    assert_eq!(data["position"], id, "the SSE id is the event's position");
    (id, data)
}

async fn open_stream(app: &TestApp, last_event_id: Option<&str>) -> SseReader {
    let response = app.events_stream(&app.admin, last_event_id).await;
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/event-stream"), "{content_type}");
    SseReader::new(response)
}

#[tokio::test]
async fn the_event_stream_delivers_new_events_and_resumes_after_last_event_id() {
    let app = TestApp::spawn().await;
    let mut live = open_stream(&app, None).await;
    let first = app.create_named("shop").await.to_string();

    let (position, data) = next_event(&mut live).await;
    assert_eq!(data["event_type"], "ProjectCreated");
    assert_eq!(data["aggregate_id"], first.as_str());
    assert!(data["payload"]["ProjectCreated"].is_object(), "{data}");

    let second = app.create_named("blog").await.to_string();
    let (next_position, data) = next_event(&mut live).await;
    assert_eq!(data["aggregate_id"], second.as_str());
    assert!(next_position > position);
    drop(live);

    let mut resumed = open_stream(&app, Some(&(position - 1).to_string())).await;
    let (again, data) = next_event(&mut resumed).await;
    assert_eq!(again, position, "resuming after N starts at the first event above N");
    assert_eq!(data["aggregate_id"], first.as_str());

    let mut resumed = open_stream(&app, Some(&position.to_string())).await;
    let (after, data) = next_event(&mut resumed).await;
    assert_eq!(after, next_position);
    assert_eq!(data["aggregate_id"], second.as_str());
}

#[tokio::test]
async fn the_event_stream_without_last_event_id_skips_older_events() {
    let app = TestApp::spawn().await;
    app.create_named("old").await;
    warp_test_support::eventually(CATCH_UP, "the first event is published", || async {
        (!events_after(&app, 0).await["events"].as_array()?.is_empty()).then_some(())
    })
    .await;

    let mut live = open_stream(&app, None).await;
    let new = app.create_named("new").await.to_string();
    let (_, data) = next_event(&mut live).await;
    assert_eq!(data["aggregate_id"], new.as_str());
}

#[tokio::test]
async fn a_last_event_id_that_is_not_a_position_is_refused_with_400() {
    let app = TestApp::spawn().await;
    for bad in ["abc", "-1", "18446744073709551615"] {
        let response = app.events_stream(&app.admin, Some(bad)).await;
        assert_error(response, StatusCode::BAD_REQUEST, "bad_request").await;
    }
}

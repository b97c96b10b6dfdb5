//! Request ids: echoed to the client and stored with the events a request caused.

use reqwest::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::TestApp;

async fn create(app: &TestApp, name: &str, headers: &[(&str, &str)]) -> (String, Uuid) {
    let response = app.create_project_with_headers(&app.member, &json!({ "name": name }), headers).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let echoed = response.headers()["x-request-id"].to_str().unwrap().to_owned();
    let body: Value = response.json().await.unwrap();
    (echoed, body["id"].as_str().unwrap().parse().unwrap())
}

#[tokio::test]
async fn a_created_event_carries_the_actor_request_id_and_correlation_id() {
    let app = TestApp::spawn().await;
    let (echoed, id) = create(&app, "shop", &[("x-request-id", "test-req-1")]).await;
    assert_eq!(echoed, "test-req-1");

    let events = app.stored_events(Some(id)).await;
    assert_eq!(events.len(), 1);
    let (event_type, metadata) = &events[0];
    assert_eq!(event_type, "ProjectCreated");
    assert_eq!(metadata["actor"], app.member.login.as_str());
    assert_eq!(metadata["request_id"], "test-req-1");
    assert_eq!(metadata["correlation_id"], "test-req-1", "the correlation id defaults to the request id");

    let (_, id) = create(&app, "blog", &[("x-request-id", "test-req-2"), ("x-correlation-id", "flow-7")]).await;
    let events = app.stored_events(Some(id)).await;
    assert_eq!(events[0].1["request_id"], "test-req-2");
    assert_eq!(events[0].1["correlation_id"], "flow-7");
}

#[tokio::test]
async fn the_events_api_shows_the_same_metadata_as_the_store() {
    let app = TestApp::spawn().await;
    let (_, id) = create(&app, "shop", &[("x-request-id", "test-req-1")]).await;
    let events = warp_test_support::eventually(crate::helpers::CATCH_UP, "the event is published", || async {
        let body: Value = app.list_events(&app.admin, 0).await.json().await.ok()?;
        let events = body["events"].as_array()?.clone();
        (!events.is_empty()).then_some(events)
    })
    .await;
    assert_eq!(events[0]["aggregate_id"], id.to_string());
    assert_eq!(events[0]["metadata"]["actor"], app.member.login.as_str());
    assert_eq!(events[0]["metadata"]["request_id"], "test-req-1");
    assert_eq!(events[0]["metadata"]["correlation_id"], "test-req-1");
}

#[tokio::test]
async fn an_invalid_request_id_is_replaced_by_a_generated_one() {
    let app = TestApp::spawn().await;
    let long = "a".repeat(200);
    for (name, sent) in [("one", "has spaces"), ("two", long.as_str()), ("three", "semi;colon"), ("four", "")] {
        let (echoed, id) = create(&app, name, &[("x-request-id", sent)]).await;
        assert_ne!(echoed, sent);
        assert!(Uuid::parse_str(&echoed).is_ok(), "generated request id {echoed:?} is a UUID");
        let events = app.stored_events(Some(id)).await;
        assert_eq!(events[0].1["request_id"], echoed.as_str(), "the stored id is the echoed one");
    }
}

#[tokio::test]
async fn every_response_echoes_a_request_id_even_errors() {
    let app = TestApp::spawn().await;
    let response = app.healthz().await;
    let generated = response.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(Uuid::parse_str(&generated).is_ok());

    let response = app.get_project(&app.admin, &Uuid::new_v4().to_string()).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(response.headers().contains_key("x-request-id"));
}

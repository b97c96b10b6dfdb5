//! `/healthz`: public, and honest about a dependency that is down.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use warp_test_support::{eventually, NatsServer};

use crate::helpers::TestApp;

#[tokio::test]
async fn healthz_answers_ok_without_a_token_when_everything_is_up() {
    let app = TestApp::spawn().await;
    let response = app.healthz().await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.json::<Value>().await.unwrap();
    assert_eq!(body, json!({ "status": "ok", "postgres": "ok", "nats": "ok", "outbox": {"pending": 0, "stuck": 0} }));
}

#[tokio::test]
async fn healthz_reports_an_event_that_can_never_be_published() {
    let app = TestApp::spawn().await;
    let huge = "x".repeat(300 * 1024);
    sqlx::query(
        "insert into events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
         values ('project', $1, 1, 'ProjectCreated', '1.0', $2, '{}')",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(json!({"ProjectCreated": {"name": huge, "description": null, "subdomain": null}}))
    .execute(&app.db.pool)
    .await
    .unwrap();
    let body = eventually(Duration::from_secs(20), "healthz reports the stuck row", || async {
        let body: Value = app.healthz().await.json().await.ok()?;
        (body["outbox"]["stuck"] == 1).then_some(body)
    })
    .await;
    assert_eq!(body["outbox"]["pending"], 1, "{body}");
    assert_eq!(body["status"], "ok", "Postgres and NATS still answer: {body}");
}

#[tokio::test]
async fn healthz_answers_503_naming_nats_when_nats_goes_down() {
    let mut nats = NatsServer::start().await;
    let app = TestApp::spawn_on_nats(&nats.url()).await;
    assert_eq!(app.healthz().await.status(), StatusCode::OK);

    nats.stop();
    let body = eventually(Duration::from_secs(20), "healthz reports nats down", || async {
        let response = app.healthz().await;
        if response.status() != StatusCode::SERVICE_UNAVAILABLE {
            return None;
        }
        response.json::<Value>().await.ok()
    })
    .await;
    assert_eq!(body["status"], "degraded");
    assert_eq!(body["postgres"], "ok");
    assert!(body["nats"].as_str().is_some_and(|n| n.starts_with("failed")), "{body}");

    nats.start_again().await;
    eventually(Duration::from_secs(20), "healthz recovers", || async {
        (app.healthz().await.status() == StatusCode::OK).then_some(())
    })
    .await;
}

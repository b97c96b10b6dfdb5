//! Live streams are bounded: a client that never reads costs at most its budget and is told
//! what it missed, and log streams are capped per user and in total.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use warp_store::tokens::Role;
use warp_test_support::docker::TestContainer;

use crate::helpers::{assert_error, Auth, TestApp, Token, CATCH_UP};
use crate::sse::SseReader;

/// Lines the container prints in one burst, each 50,000 bytes.
const BURST_LINES: u64 = 400;

#[tokio::test]
async fn a_client_that_does_not_read_gets_a_dropped_count_and_then_the_live_lines_again() {
    let app = TestApp::spawn_with_docker().await;
    let script = format!(
        "sleep 2; i=0; while [ $i -lt {BURST_LINES} ]; do head -c 50000 /dev/zero | tr '\\0' z; echo; i=$((i+1)); done; \
         sleep 1; echo burst-done; exec sleep 3600"
    );
    let container = TestContainer::run("warp-burst", &[], &script);
    let path = format!("/api/containers/logs?filter={}&tail=0", container.name);
    let response = app.request(Method::GET, &path, Auth::Bearer(&app.admin.secret)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let mut reader = SseReader::new(response);
    assert_eq!(reader.next(Duration::from_secs(20)).await.unwrap().event.as_deref(), Some("open"));

    // The client reads nothing while 20 MB of log lines go by.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let (mut received, mut dropped) = (0u64, 0u64);
    loop {
        let message = reader.next(Duration::from_secs(30)).await.expect("the stream goes on");
        match message.event.as_deref() {
            Some("dropped") => dropped += serde_json::from_str::<Value>(&message.data).unwrap()["count"].as_u64().unwrap(),
            Some("line") => {
                let line: Value = serde_json::from_str(&message.data).unwrap();
                if line["line"] == "burst-done" {
                    break;
                }
                received += 1;
            }
            _ => {}
        }
    }
    assert!(dropped > 0, "lines were dropped and the stream said so ({received} received)");
    // Every line was either delivered or counted (Docker may deliver a long line in pieces).
    assert!(received + dropped >= BURST_LINES, "{received} received + {dropped} dropped");
    assert!(received < BURST_LINES, "the API did not hold the whole burst for a client that does not read");
}

async fn job_log_stream(app: &TestApp, token: &Token, job: &str) -> reqwest::Response {
    app.client
        .get(format!("{}/api/jobs/{job}/logs", app.address))
        .bearer_auth(&token.secret)
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn log_streams_past_the_per_user_and_the_total_cap_are_refused_with_429() {
    let app = TestApp::spawn().await;
    // A queued job (no runner takes it) whose log stream stays open.
    let body = json!({"name": "quiet", "source": {"folder": {"path": "quiet"}}});
    let accepted: Value = app.deploy_existing(&app.admin, &body).await.json().await.unwrap();
    let job = accepted["job_id"].as_str().unwrap().to_owned();
    warp_test_support::eventually(CATCH_UP, "the job is readable", || async {
        (app.get_job(&app.admin, &job).await.status() == StatusCode::OK).then_some(())
    })
    .await;

    let mut open = Vec::new();
    for _ in 0..8 {
        let response = job_log_stream(&app, &app.admin, &job).await;
        assert_eq!(response.status(), StatusCode::OK);
        open.push(response);
    }
    let refused = job_log_stream(&app, &app.admin, &job).await;
    let error = assert_error(refused, StatusCode::TOO_MANY_REQUESTS, "too_many_streams").await;
    assert!(error["message"].as_str().unwrap().contains("at most 8"), "{error}");

    // Closing one lets the user open another.
    drop(open.pop());
    let again = warp_test_support::eventually(CATCH_UP, "a closed stream frees its place", || async {
        let response = job_log_stream(&app, &app.admin, &job).await;
        (response.status() == StatusCode::OK).then_some(response)
    })
    .await;
    open.push(again);

    // Seven more users fill the panel's 64 places; the next user is refused.
    for i in 0..7 {
        let user = app.new_token(&format!("viewer-{i}"), Role::Admin).await;
        for _ in 0..8 {
            let response = job_log_stream(&app, &user, &job).await;
            assert_eq!(response.status(), StatusCode::OK);
            open.push(response);
        }
    }
    let late = app.new_token("latecomer", Role::Admin).await;
    let error = assert_error(job_log_stream(&app, &late, &job).await, StatusCode::TOO_MANY_REQUESTS, "too_many_streams").await;
    assert!(error["message"].as_str().unwrap().contains("64 log streams"), "{error}");
    let refused = app.request(Method::GET, "/api/containers/logs", Auth::Bearer(&late.secret)).await;
    assert_error(refused, StatusCode::TOO_MANY_REQUESTS, "too_many_streams").await;
}

//! `/api/jobs`: listing, reading, cancelling, and following a job's log (JSON and SSE).

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use uuid::Uuid;
use warp_domain::JobCommand;
use warp_events::job::DeployInput;
use warp_events::EventMetadata;
use warp_jobs::process::ProcessSpec;
use warp_jobs::{Executor, JobContext, JobFailure, Runner, RunnerConfig};
use warp_test_support::eventually;

use crate::helpers::{assert_error, TestApp, Token};
use crate::sse::SseReader;

const WAIT: Duration = Duration::from_secs(30);

/// Runs `sh -c <script>` (test fixture only; the panel never starts a shell).
#[derive(Clone)]
struct Script(&'static str);

impl Executor for Script {
    type Input = DeployInput;

    async fn run(&self, _input: DeployInput, job: &JobContext) -> Result<(), JobFailure> {
        job.run(&ProcessSpec::new("sh", ["-c", self.0])).await
    }
}

fn start_runner(app: &TestApp, script: &'static str) {
    let config = RunnerConfig { worker: "test-worker".into(), poll_interval: Duration::from_millis(100), ..Default::default() };
    let runner = Runner::new(app.db.pool.clone(), app.docker_nats.clone(), app.redactor.clone(), config).register(Script(script));
    tokio::spawn(Arc::new(runner).run(app.shutdown()));
}

/// Queues a deploy job (as the deploy endpoints do); the API shows it at once.
async fn queue(app: &TestApp, token: &Token) -> Uuid {
    let id = Uuid::now_v7();
    let cqrs = warp_store::event_store::job_cqrs(app.db.pool.clone());
    let queue = JobCommand::Queue { input: DeployInput { project_id: Uuid::now_v7() }.into(), timeout_seconds: None };
    warp_store::event_store::execute_job(&cqrs, id, queue, &EventMetadata { actor: Some("alice-admin".into()), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(get(app, token, id).await.status(), StatusCode::OK, "a queued job is visible with no lag");
    id
}

async fn get(app: &TestApp, token: &Token, id: Uuid) -> reqwest::Response {
    app.client.get(format!("{}/api/jobs/{id}", app.address)).bearer_auth(&token.secret).send().await.unwrap()
}

async fn job_status(app: &TestApp, id: Uuid, status: &str) -> Value {
    eventually(WAIT, &format!("the job is {status}"), || async {
        let job: Value = get(app, &app.admin, id).await.json().await.ok()?;
        (job["status"] == status).then_some(job)
    })
    .await
}

async fn stream(app: &TestApp, id: Uuid, last_event_id: Option<&str>) -> SseReader {
    let mut request = app
        .client
        .get(format!("{}/api/jobs/{id}/logs", app.address))
        .bearer_auth(&app.admin.secret)
        .header("accept", "text/event-stream");
    if let Some(last) = last_event_id {
        request = request.header("last-event-id", last);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    SseReader::new(response)
}

/// Reads `line` events until `end`: (seq, line) pairs and the end status.
async fn read_to_end(reader: &mut SseReader) -> (Vec<(i64, String)>, String) {
    let mut lines = Vec::new();
    loop {
        let message = reader.next(WAIT).await.expect("the stream ends with an end event");
        let data: Value = serde_json::from_str(&message.data).unwrap();
        match message.event.as_deref() {
            Some("line") => {
                let seq = data["seq"].as_i64().unwrap();
                assert_eq!(message.id.as_deref(), Some(seq.to_string().as_str()), "the SSE id is the seq");
                lines.push((seq, data["line"].as_str().unwrap().to_owned()));
            }
            Some("end") => return (lines, data["status"].as_str().unwrap().to_owned()),
            other => panic!("unexpected event {other:?}"),
        }
    }
}

fn numbers(lines: &[(i64, String)]) -> Vec<u32> {
    lines.iter().filter_map(|(_, l)| l.parse().ok()).collect()
}

fn assert_gap_free(lines: &[(i64, String)], first: i64) {
    let seqs: Vec<i64> = lines.iter().map(|(s, _)| *s).collect();
    let expected: Vec<i64> = (first..first + seqs.len() as i64).collect();
    assert_eq!(seqs, expected, "every seq once, in order");
}

#[tokio::test]
async fn a_client_streaming_a_job_that_prints_ten_thousand_lines_gets_them_all_in_order() {
    let app = TestApp::spawn().await;
    let id = queue(&app, &app.admin).await;
    let mut reader = stream(&app, id, None).await;
    start_runner(&app, "seq 1 10000");
    let (lines, status) = read_to_end(&mut reader).await;
    assert_eq!(status, "succeeded");
    assert_gap_free(&lines, 1);
    assert_eq!(numbers(&lines), (1..=10000).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_client_that_connects_mid_job_gets_the_earlier_lines_then_the_live_ones() {
    let app = TestApp::spawn().await;
    let id = queue(&app, &app.admin).await;
    start_runner(&app, "seq 1 300; sleep 1; seq 301 600");
    eventually(WAIT, "the first half is stored", || async {
        let page: Value = app
            .client
            .get(format!("{}/api/jobs/{id}/logs?after=290&limit=50", app.address))
            .bearer_auth(&app.admin.secret)
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        page["lines"].as_array()?.iter().any(|l| l["line"] == "300").then_some(())
    })
    .await;
    let mut reader = stream(&app, id, None).await;
    let (lines, status) = read_to_end(&mut reader).await;
    assert_eq!(status, "succeeded");
    assert_gap_free(&lines, 1);
    assert_eq!(numbers(&lines), (1..=600).collect::<Vec<_>>());

    // Resuming after line seq 400 gives exactly what follows it.
    let mut resumed = stream(&app, id, Some("400")).await;
    let (rest, _) = read_to_end(&mut resumed).await;
    assert_gap_free(&rest, 401);
    assert_eq!(rest.len() as i64, lines.last().unwrap().0 - 400);
}

#[tokio::test]
async fn log_pages_follow_after_and_limit() {
    let app = TestApp::spawn().await;
    let id = queue(&app, &app.admin).await;
    start_runner(&app, "seq 1 20");
    job_status(&app, id, "succeeded").await;
    let page: Value = app
        .client
        .get(format!("{}/api/jobs/{id}/logs?after=3&limit=5", app.address))
        .bearer_auth(&app.admin.secret)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let seqs: Vec<i64> = page["lines"].as_array().unwrap().iter().map(|l| l["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, vec![4, 5, 6, 7, 8]);
    assert_eq!(page["next_after"], 8);
    assert_eq!(page["job_status"], "succeeded");
}

#[tokio::test]
async fn cancelling_a_running_job_stops_it_and_a_finished_job_cannot_be_cancelled() {
    let app = TestApp::spawn().await;
    let id = queue(&app, &app.admin).await;
    start_runner(&app, "echo started; sleep 60");
    job_status(&app, id, "running").await;
    let cancel = |token: &Token| {
        app.client.post(format!("{}/api/jobs/{id}/cancel", app.address)).bearer_auth(&token.secret).send()
    };
    let accepted = cancel(&app.admin).await.unwrap();
    assert_eq!(accepted.status(), StatusCode::ACCEPTED);
    assert_eq!(accepted.json::<Value>().await.unwrap()["job_id"], id.to_string());
    let job = job_status(&app, id, "cancelled").await;
    assert_eq!(job["cancel_requested"], true);
    assert_error(cancel(&app.admin).await.unwrap(), StatusCode::CONFLICT, "conflict").await;

    let unknown = app.client.post(format!("{}/api/jobs/{}/cancel", app.address, Uuid::now_v7())).bearer_auth(&app.admin.secret).send();
    assert_error(unknown.await.unwrap(), StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn jobs_are_listed_newest_first_and_filtered_by_status_type_and_project() {
    let app = TestApp::spawn().await;
    let first = queue(&app, &app.admin).await;
    let second = queue(&app, &app.admin).await;
    let list = |query: &'static str| {
        app.client.get(format!("{}/api/jobs{query}", app.address)).bearer_auth(&app.admin.secret).send()
    };
    let all: Value = list("").await.unwrap().json().await.unwrap();
    let ids: Vec<&str> = all["items"].as_array().unwrap().iter().map(|j| j["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![second.to_string(), first.to_string()]);
    let queued: Value = list("?status=queued&type=deploy").await.unwrap().json().await.unwrap();
    assert_eq!(queued["items"].as_array().unwrap().len(), 2);
    let none: Value = list("?status=running").await.unwrap().json().await.unwrap();
    assert!(none["items"].as_array().unwrap().is_empty());
    let page: Value = list("?limit=1").await.unwrap().json().await.unwrap();
    assert_eq!(page["items"][0]["id"], second.to_string());
    assert!(page["next_cursor"].is_i64());
    let job: Value = get(&app, &app.admin, first).await.json().await.unwrap();
    let by_project = format!("{}/api/jobs?project={}", app.address, job["project_id"].as_str().unwrap());
    let filtered: Value = app.client.get(by_project).bearer_auth(&app.admin.secret).send().await.unwrap().json().await.unwrap();
    assert_eq!(filtered["items"].as_array().unwrap().len(), 1);

    assert_error(list("?status=exploded").await.unwrap(), StatusCode::BAD_REQUEST, "bad_request").await;
    assert_error(list("?type=rm -rf").await.unwrap(), StatusCode::BAD_REQUEST, "bad_request").await;
    assert_error(get(&app, &app.admin, Uuid::now_v7()).await, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn a_secret_setting_printed_by_a_job_is_redacted_from_its_log_and_error() {
    let app = TestApp::spawn().await;
    let canary = format!("ghp_CANARY{}", Uuid::new_v4().simple());
    let settings = serde_json::json!({ "github_api_url": crate::fakes::unreachable(), "github_token": canary });
    assert_eq!(app.put_settings(&app.admin, &settings, None).await.status(), StatusCode::OK);
    let script: &'static str = Box::leak(format!("echo using {canary}; echo {canary} >&2; exit 4").into_boxed_str());
    let id = queue(&app, &app.admin).await;
    start_runner(&app, script);
    let job = job_status(&app, id, "failed").await;
    let page = app
        .client
        .get(format!("{}/api/jobs/{id}/logs?limit=500", app.address))
        .bearer_auth(&app.admin.secret)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("using [REDACTED]"), "{page}");
    assert!(!page.contains(&canary) && !job.to_string().contains(&canary));
    let stored: i64 = sqlx::query_scalar("select count(*) from job_logs where line like '%' || $1 || '%'")
        .bind(&canary)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(stored, 0, "no stored line holds the secret");
}

//! `GET /api/containers` and `GET /health/docker` against this machine's real Docker Engine,
//! through an in-process docker service (`TestApp::spawn_with_docker`).

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::Value;
use warp_test_support::docker::{docker, TestContainer};
use warp_test_support::eventually;

use crate::helpers::{assert_error, Auth, TestApp};

async fn get_json(app: &TestApp, path: &str) -> (StatusCode, Value) {
    let response = app.request(Method::GET, path, Auth::Bearer(&app.admin.secret)).await;
    (response.status(), response.json().await.expect("a JSON body"))
}

#[tokio::test]
async fn a_running_container_is_listed_with_its_published_port_and_compose_labels() {
    let app = TestApp::spawn_with_docker().await;
    let container = TestContainer::run(
        "warp-list",
        &[
            "-p", "127.0.0.1::8080",
            "--label", "com.docker.compose.project=shop",
            "--label", "com.docker.compose.service=web",
        ],
        "exec sleep 3600",
    );
    let published = docker(&["port", &container.id, "8080/tcp"]).unwrap();
    let host_port: u16 = published.trim().rsplit(':').next().unwrap().parse().unwrap();

    let (status, body) = get_json(&app, "/api/containers").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let listed = body["containers"].as_array().unwrap();
    let mine = listed.iter().find(|c| c["name"] == container.name.as_str()).unwrap_or_else(|| panic!("{body}"));
    assert_eq!(mine["id"], container.id.as_str());
    assert_eq!(mine["image"], "warp-test-busybox:latest");
    assert_eq!(mine["state"], "running");
    assert_eq!(mine["health"], Value::Null, "no healthcheck, no health");
    assert_eq!(mine["compose_project"], "shop");
    assert_eq!(mine["compose_service"], "web");
    assert_eq!(
        mine["ports"],
        serde_json::json!([{ "host_ip": "127.0.0.1", "host_port": host_port, "container_port": 8080, "protocol": "tcp" }])
    );
    let started: chrono::DateTime<chrono::Utc> = mine["started_at"].as_str().unwrap().parse().unwrap();
    assert!((chrono::Utc::now() - started).num_seconds().abs() < 120, "started_at {started}");
}

#[tokio::test]
async fn a_container_with_a_healthcheck_shows_its_health() {
    let app = TestApp::spawn_with_docker().await;
    let container = TestContainer::run(
        "warp-health",
        &["--health-cmd", "true", "--health-interval", "1s", "--health-start-period", "0s"],
        "exec sleep 3600",
    );
    let health = eventually(Duration::from_secs(20), "the container turns healthy", || async {
        let (_, body) = get_json(&app, "/api/containers").await;
        let mine = body["containers"].as_array()?.iter().find(|c| c["name"] == container.name.as_str())?.clone();
        (mine["health"] == "healthy").then_some(mine["health"].clone())
    })
    .await;
    assert_eq!(health, "healthy");
}

#[tokio::test]
async fn docker_health_reports_the_engine_version_and_the_compose_front_end() {
    let app = TestApp::spawn_with_docker().await;
    let response = app.request(Method::GET, "/health/docker", Auth::None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok", "{body}");
    assert_eq!(body["engine_reachable"], true);
    let engine = docker(&["version", "--format", "{{.Server.Version}} {{.Server.APIVersion}}"]).unwrap();
    let (version, api) = engine.trim().split_once(' ').unwrap();
    assert_eq!(body["engine_version"], version);
    assert_eq!(body["api_version"], api);
    // This machine has Debian's docker-compose v1 and no compose plugin.
    assert_eq!(body["compose"]["front_end"], "docker-compose", "{body}");
    assert!(body["compose"]["version"].as_str().unwrap().starts_with("1."), "{body}");
}

#[tokio::test]
async fn without_a_docker_service_container_reads_answer_503_naming_it() {
    let app = TestApp::spawn().await;
    let response = app.request(Method::GET, "/api/containers", Auth::Bearer(&app.member.secret)).await;
    let error = assert_error(response, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
    assert!(error["message"].as_str().unwrap().contains("docker service"), "{error}");
    let response = app.request(Method::GET, "/api/containers/logs", Auth::Bearer(&app.member.secret)).await;
    assert_error(response, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;

    let response = app.request(Method::GET, "/health/docker", Auth::None).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "unavailable");
    assert!(body["reason"].as_str().unwrap().contains("docker service"), "{body}");

    let response = app.request(Method::GET, "/api/containers", Auth::None).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

#[tokio::test]
async fn an_unreachable_engine_answers_503_with_the_reason() {
    let app = TestApp::spawn().await;
    app.start_docker_service("/nonexistent/docker.sock").await;
    let response = app.request(Method::GET, "/health/docker", Auth::None).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["engine_reachable"], false);
    assert!(body["reason"].as_str().unwrap().contains("not reachable"), "{body}");
    let response = app.request(Method::GET, "/api/containers", Auth::Bearer(&app.member.secret)).await;
    let error = assert_error(response, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
    assert!(error["message"].as_str().unwrap().contains("/nonexistent/docker.sock"), "{error}");
}

#[tokio::test]
async fn a_member_lists_and_follows_only_the_containers_of_their_own_projects() {
    let app = TestApp::spawn_with_docker().await;
    let response = app.deploy_existing(&app.member, &serde_json::json!({"name": "mine", "source": {"folder": {"path": "mine"}}})).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let project: uuid::Uuid = response.json::<Value>().await.unwrap()["project_id"].as_str().unwrap().parse().unwrap();
    let view = app.project_eventually(project, "has a compose project", |p| p["compose_project"].is_string()).await;
    let compose = view["compose_project"].as_str().unwrap();
    let mine = TestContainer::run("warp-mine", &["--label", &format!("com.docker.compose.project={compose}")], "echo mine; exec sleep 3600");
    let theirs = TestContainer::run("warp-theirs", &["--label", "com.docker.compose.project=someone-else"], "echo theirs; exec sleep 3600");

    let names = |body: &Value| -> Vec<String> {
        body["containers"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap().to_owned()).collect()
    };
    let response = app.request(Method::GET, "/api/containers", Auth::Bearer(&app.member.secret)).await;
    let listed = names(&response.json::<Value>().await.unwrap());
    assert!(listed.contains(&mine.name) && !listed.contains(&theirs.name), "{listed:?}");
    let (_, body) = get_json(&app, "/api/containers").await;
    assert!(names(&body).contains(&theirs.name), "an admin sees every container");

    let path = "/api/containers/logs?filter=warp-";
    let response = app.request(Method::GET, path, Auth::Bearer(&app.member.secret)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let mut reader = crate::sse::SseReader::new(response);
    let opened = reader.next(Duration::from_secs(20)).await.expect("an open event");
    let opened: Value = serde_json::from_str(&opened.data).unwrap();
    let followed: Vec<&str> = opened["containers"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(followed, [mine.name.as_str()], "a member follows only their own containers");
}

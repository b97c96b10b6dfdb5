//! Local mode: the panel edits a real `config.yml`, keeps backups, restarts cloudflared (a
//! command, or a stand-in cloudflared container on this machine's Docker Engine built from
//! the local busybox image) and brings the previous file back when it does not come back.

use std::path::{Path, PathBuf};

use reqwest::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;
use warp_test_support::docker::TestContainer;

use crate::helpers::TestApp;
use crate::tunnel::{app_with_tunnel, project, route};

const FILE: &str = "tunnel: 6ff42ae2-765d-4adf-8112-31c55c1551ef
credentials-file: /etc/cloudflared/creds.json
loglevel: info
ingress:
  - hostname: before.example.net
    service: http://before:1
    originRequest:
      noTLSVerify: true
  - hostname: after.example.net
    service: ssh://after:22
";

fn folder() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("warp-cloudflared-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn backups(path: &Path) -> usize {
    let dir = path.parent().unwrap();
    std::fs::read_dir(dir).unwrap().filter_map(Result::ok).filter(|e| e.file_name().to_string_lossy().contains("warp-backup")).count()
}

fn ingress(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    let yaml: serde_json::Value = serde_norway::from_str(&text).unwrap();
    yaml["ingress"].as_array().unwrap().clone()
}

async fn local_app(path: &Path, restart: Value) -> (TestApp, warp_test_support::fake_cloudflare::FakeCloudflare) {
    let mut settings = json!({"tunnel_mode": "local", "cloudflared_config_path": path.to_str().unwrap()});
    for (k, v) in restart.as_object().unwrap() {
        settings[k] = v.clone();
    }
    let (app, fake) = app_with_tunnel(600, settings).await;
    fake.set_tunnel(json!({"remote_config": false}));
    (app, fake)
}

#[tokio::test]
async fn a_local_file_without_a_catch_all_gets_the_route_between_foreign_rules_and_one_catch_all_last() {
    let dir = folder();
    let path = dir.join("config.yml");
    std::fs::write(&path, FILE).unwrap();
    let (app, _fake) = local_app(&path, json!({"cloudflared_restart": "command", "cloudflared_restart_command": ["/bin/true"]})).await;
    let id = project(&app, "shop", "shop").await;
    route(&app, id, "http://localhost:8080", "published").await;

    let rules = ingress(&path);
    let hosts: Vec<Value> = rules.iter().map(|r| r["hostname"].clone()).collect();
    assert_eq!(hosts, [json!("before.example.net"), json!("after.example.net"), json!("shop.apps.example.com"), Value::Null]);
    assert_eq!(rules[3]["service"], "http_status:404");
    assert_eq!(rules[0]["originRequest"]["noTLSVerify"], true);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("loglevel: info") && text.contains("credentials-file: /etc/cloudflared/creds.json"), "{text}");
    assert_eq!(backups(&path), 1, "the previous file is kept");
    let status: Value = app.tunnel(&app.admin, "status").await.json().await.unwrap();
    assert_eq!(status["warnings"], json!([]), "{status}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn a_restart_that_fails_brings_back_the_previous_file_and_fails_the_job_saying_so() {
    let dir = folder();
    let path = dir.join("config.yml");
    std::fs::write(&path, FILE).unwrap();
    let (app, _fake) = local_app(&path, json!({"cloudflared_restart": "command", "cloudflared_restart_command": ["/bin/false"]})).await;
    let id = project(&app, "shop", "shop").await;
    let project = route(&app, id, "http://localhost:8080", "failed").await;
    let message = project["route"]["message"].as_str().unwrap();
    assert!(message.contains("did not come back") && message.contains("restored the previous config.yml"), "{message}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), FILE, "the previous file is back");
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn a_token_run_tunnel_with_a_local_file_is_a_warning_in_status_and_health() {
    let dir = folder();
    let path = dir.join("config.yml");
    std::fs::write(&path, format!("{FILE}  - service: http_status:404\n")).unwrap();
    let (app, fake) = local_app(&path, json!({})).await;
    fake.set_tunnel(json!({"remote_config": true}));
    let status: Value = app.tunnel(&app.admin, "status").await.json().await.unwrap();
    let warnings = status["warnings"].as_array().unwrap();
    assert!(warnings.iter().any(|w| w.as_str().unwrap().contains("with a token")), "{status}");
    let health: Value = app.tunnel_health().await.json().await.unwrap();
    assert!(health["warnings"].as_array().unwrap().iter().any(|w| w.as_str().unwrap().contains("ignores")), "{health}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// A stand-in cloudflared: reads the mounted folder's config.yml at start and stays up,
/// unless the file routes `crash.apps.example.com`.
fn stand_in(dir: &Path) -> TestContainer {
    let mount = format!("{}:/etc/cloudflared", dir.display());
    TestContainer::run(
        "cloudflared",
        &["-v", &mount],
        "if grep -q crash.apps.example.com /etc/cloudflared/config.yml; then echo bad config; exit 1; fi; echo started; trap 'exit 0' TERM; sleep 3600 & wait",
    )
}

fn started_at(name: &str) -> String {
    warp_test_support::docker::docker(&["inspect", "--format", "{{.State.StartedAt}}", name]).unwrap().trim().to_owned()
}

#[tokio::test]
async fn a_stand_in_cloudflared_container_is_restarted_and_one_that_fails_to_start_gets_the_previous_file_back() {
    let dir = folder();
    let path = dir.join("config.yml");
    std::fs::write(&path, format!("{FILE}  - service: http_status:404\n")).unwrap();
    let cloudflared = stand_in(&dir);
    let (app, _fake) = local_app(&path, json!({"cloudflared_restart": "container", "cloudflared_container": cloudflared.name})).await;
    app.start_docker_service("/var/run/docker.sock").await;
    let first_start = started_at(&cloudflared.name);

    let id = project(&app, "shop", "shop").await;
    route(&app, id, "http://localhost:8080", "published").await;
    assert_ne!(started_at(&cloudflared.name), first_start, "the engine saw the container restart");
    let running = warp_test_support::docker::docker(&["inspect", "--format", "{{.State.Running}}", &cloudflared.name]).unwrap();
    assert_eq!(running.trim(), "true");
    let good = std::fs::read_to_string(&path).unwrap();
    assert!(good.contains("shop.apps.example.com"));
    let status: Value = app.tunnel(&app.admin, "status").await.json().await.unwrap();
    assert_eq!(status["warnings"], json!([]), "the container sees the edited file at a default path: {status}");

    let crash = project(&app, "crash", "crash").await;
    let failed = route(&app, crash, "http://localhost:8081", "failed").await;
    let message = failed["route"]["message"].as_str().unwrap();
    assert!(message.contains("did not come back") && message.contains("runs with it again"), "{message}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), good, "the previous file is back");
    let running = warp_test_support::docker::docker(&["inspect", "--format", "{{.State.Running}}", &cloudflared.name]).unwrap();
    assert_eq!(running.trim(), "true", "the stand-in runs again with the previous file");
    let shop = app.get_project(&app.admin, &id.to_string()).await.json::<Value>().await.unwrap();
    assert_eq!(shop["route"]["state"], "published", "the earlier route is unaffected");
    assert_eq!(StatusCode::OK, app.get_project(&app.admin, &crash.to_string()).await.status());
    drop(cloudflared);
    std::fs::remove_dir_all(dir).unwrap();
}

fn docker(args: &[&str]) -> String {
    warp_test_support::docker::docker(args).unwrap_or_else(|e| panic!("docker {args:?}: {e}"))
}

#[tokio::test]
async fn a_route_to_a_container_connects_the_cloudflared_container_to_its_network() {
    let dir = folder();
    let path = dir.join("config.yml");
    std::fs::write(&path, "ingress:\n  - service: http_status:404\n").unwrap();
    let network = format!("warp-test-net-{}", &Uuid::new_v4().simple().to_string()[..8]);
    docker(&["network", "create", &network]);
    let service = TestContainer::run("svc", &["--network", &network], "trap 'exit 0' TERM; sleep 3600 & wait");
    let cloudflared = stand_in(&dir);
    let (app, _fake) = local_app(&path, json!({"cloudflared_restart": "container", "cloudflared_container": cloudflared.name})).await;
    app.start_docker_service("/var/run/docker.sock").await;

    let id = project(&app, "svc", "svc").await;
    route(&app, id, &format!("http://{}:80", service.name), "published").await;
    let networks = docker(&["inspect", "--format", "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}", &cloudflared.name]);
    assert!(networks.split_whitespace().any(|n| n == network), "cloudflared is on {networks}");
    drop((cloudflared, service));
    let _ = warp_test_support::docker::docker(&["network", "rm", &network]);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn a_cloudflared_container_run_with_a_token_or_another_config_path_is_a_warning() {
    let dir = folder();
    let path = dir.join("config.yml");
    std::fs::write(&path, "ingress:\n  - service: http_status:404\n").unwrap();
    let mount = format!("{}:/etc/cloudflared", dir.display());
    let cloudflared = TestContainer::run(
        "cloudflared",
        &["-v", &mount, "-e", "TUNNEL_TOKEN=eyJcanary-token-value"],
        "trap 'exit 0' TERM; sleep 3600 & wait",
    );
    let (app, _fake) = local_app(&path, json!({"cloudflared_restart": "container", "cloudflared_container": cloudflared.name})).await;
    app.start_docker_service("/var/run/docker.sock").await;
    let status = app.tunnel(&app.admin, "status").await.text().await.unwrap();
    assert!(status.contains("runs the tunnel with a token"), "{status}");
    assert!(!status.contains("eyJcanary-token-value"), "the token's value is never shown");

    let elsewhere = folder();
    let other = elsewhere.join("config.yml");
    std::fs::write(&other, "ingress:\n  - service: http_status:404\n").unwrap();
    let put = app.put_settings(&app.admin, &json!({"cloudflared_config_path": other.to_str().unwrap()}), None).await;
    assert_eq!(put.status(), StatusCode::OK);
    let status = app.tunnel(&app.admin, "status").await.text().await.unwrap();
    assert!(status.contains("does not mount"), "{status}");
    drop(cloudflared);
    std::fs::remove_dir_all(dir).unwrap();
    std::fs::remove_dir_all(elsewhere).unwrap();
}

async fn restart(app: &TestApp, token: &crate::helpers::Token) -> reqwest::Response {
    app.client.post(format!("{}/api/tunnel/restart", app.address)).bearer_auth(&token.secret).send().await.unwrap()
}

#[tokio::test]
async fn an_admin_restarts_the_stand_in_cloudflared_as_a_job_and_a_remote_tunnel_refuses_saying_why() {
    let dir = folder();
    let path = dir.join("config.yml");
    std::fs::write(&path, format!("{FILE}  - service: http_status:404\n")).unwrap();
    let cloudflared = stand_in(&dir);
    let (app, _fake) = local_app(&path, json!({"cloudflared_restart": "container", "cloudflared_container": cloudflared.name})).await;
    app.start_docker_service("/var/run/docker.sock").await;
    let first_start = started_at(&cloudflared.name);

    assert_eq!(restart(&app, &app.member).await.status(), StatusCode::FORBIDDEN);
    let response = restart(&app, &app.admin).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let location = response.headers()[reqwest::header::LOCATION].to_str().unwrap().to_owned();
    let job_id = response.json::<Value>().await.unwrap()["job_id"].as_str().unwrap().to_owned();
    assert_eq!(location, format!("/api/jobs/{job_id}"));
    let job = app.job_finished(&job_id, std::time::Duration::from_secs(60)).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!((job["job_type"].clone(), job["target"].clone()), (json!("restart_tunnel"), json!("tunnel")), "{job}");
    assert_ne!(started_at(&cloudflared.name), first_start, "the engine saw the container restart");
    assert!(app.job_log_text(&app.admin, &job_id).await.contains("is running again"));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), format!("{FILE}  - service: http_status:404\n"), "the file is untouched");

    let remote = json!({"tunnel_mode": "remote"});
    assert_eq!(app.put_settings(&app.admin, &remote, None).await.status(), StatusCode::OK);
    let restarted_at = started_at(&cloudflared.name);
    let job_id = restart(&app, &app.admin).await.json::<Value>().await.unwrap()["job_id"].as_str().unwrap().to_owned();
    let job = app.job_finished(&job_id, std::time::Duration::from_secs(60)).await;
    assert_eq!(job["status"], "failed", "{job}");
    assert!(job.to_string().contains("remote mode"), "{job}");
    assert_eq!(started_at(&cloudflared.name), restarted_at, "nothing was restarted");
    drop(cloudflared);
    std::fs::remove_dir_all(dir).unwrap();
}

//! Deploys on this machine's real Docker Engine: git sources over HTTPS from a local server,
//! folder sources, compose (whichever front end is installed), ports, rollback, cancel,
//! stop/start/remove, quick services and the deploy env canary.
//!
//! Fixture images build `FROM` the local busybox image: nothing is pulled.

use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;
use warp_test_support::compose_fixtures::{self, ComposeCleanup};
use warp_test_support::docker::{docker, TestContainer};
use warp_test_support::git::{FixtureFolder, GitServer};

use crate::helpers::{assert_error, TestApp};

/// Longest a deploy of a fixture may take here (builds on 2 busy cores).
const DEPLOY: Duration = Duration::from_secs(240);

/// One test's panel, git server and workspaces root, with the compose projects it deployed
/// removed at the end.
struct Deploys {
    app: TestApp,
    git: GitServer,
    root: FixtureFolder,
    cleanups: std::sync::Mutex<Vec<ComposeCleanup>>,
}

impl Deploys {
    async fn start() -> Self {
        let t = Self::without_runner().await;
        t.app.start_deploy_runner(Some(t.git.ca_file().to_path_buf()));
        t
    }

    /// The panel with no deploy runner yet (the test starts its own).
    async fn without_runner() -> Self {
        let app = TestApp::spawn_with_docker().await;
        let git = GitServer::start().await;
        let root = FixtureFolder::new("apps");
        let root_dir = root.root().canonicalize().unwrap();
        let put = app.put_settings(&app.admin, &json!({"workspaces_root": root_dir.to_str().unwrap()}), None).await;
        assert_eq!(put.status(), StatusCode::OK, "{}", put.text().await.unwrap());
        Self { app, git, root, cleanups: Default::default() }
    }

    /// `POST /api/projects/deploy-existing`; returns (project id, job id).
    async fn deploy_existing(&self, body: Value) -> (Uuid, String) {
        let response = self.app.deploy_existing(&self.app.admin, &body).await;
        assert_eq!(response.status(), StatusCode::ACCEPTED, "{}", response.text().await.unwrap());
        let accepted: Value = response.json().await.unwrap();
        let project: Uuid = accepted["project_id"].as_str().unwrap().parse().unwrap();
        self.track(project).await;
        (project, accepted["job_id"].as_str().unwrap().to_owned())
    }

    /// Removes the project's compose project when the test ends.
    async fn track(&self, project: Uuid) {
        let view = self.app.project_eventually(project, "has a compose project", |p| p["compose_project"].is_string()).await;
        let name = view["compose_project"].as_str().unwrap().to_owned();
        self.cleanups.lock().unwrap().push(ComposeCleanup::new(name));
    }

    /// `POST /api/projects/{id}/<action>`; returns the job id.
    async fn action(&self, project: Uuid, action: &str, body: Option<&Value>) -> String {
        let response = self.app.project_action(&self.app.admin, project, action, body).await;
        assert_eq!(response.status(), StatusCode::ACCEPTED, "{}", response.text().await.unwrap());
        let accepted: Value = response.json().await.unwrap();
        accepted["job_id"].as_str().unwrap().to_owned()
    }

    /// Waits for the job and asserts its final status, printing its log otherwise.
    async fn finished(&self, job: &str, status: &str) -> Value {
        let done = self.app.job_finished(job, DEPLOY).await;
        if done["status"] != status {
            let log = self.app.job_log_text(&self.app.admin, job).await;
            panic!("job {job} ended {} (wanted {status}): {done}\nlog:\n{log}", done["status"]);
        }
        done
    }

    fn folder(&self, name: &str) -> FixtureFolder {
        // A folder in the same root: the root is removed with `self.root`.
        let folder = FixtureFolder::inside(self.root.root(), name);
        folder
    }
}

impl Drop for Deploys {
    fn drop(&mut self) {
        for cleanup in self.cleanups.lock().unwrap().iter() {
            cleanup.clean();
        }
    }
}

/// A port nobody listens on now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The body `GET http://127.0.0.1:<port>/` answers, retried for a few seconds.
async fn page(port: u16) -> Option<String> {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(2)).build().unwrap();
    for _ in 0..20 {
        if let Ok(response) = client.get(format!("http://127.0.0.1:{port}/")).send().await {
            if response.status() == StatusCode::OK {
                return response.text().await.ok();
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    None
}

fn containers_of(compose_project: &str) -> Vec<String> {
    let label = format!("label=com.docker.compose.project={compose_project}");
    docker(&["ps", "-aq", "--filter", &label]).unwrap().lines().map(str::to_owned).collect()
}

/// The payloads of project `id`'s events of type `kind`, in order.
async fn payloads(app: &TestApp, id: Uuid, kind: &str) -> Vec<Value> {
    sqlx::query_scalar(
        "select payload::jsonb -> event_type from events where aggregate_id = $1 and event_type = $2 order by sequence",
    )
    .bind(id.to_string())
    .bind(kind)
    .fetch_all(&app.db.pool)
    .await
    .unwrap()
}

fn write_tree(dir: &Path, files: &[(&str, String)]) {
    for (path, contents) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
    }
}

#[tokio::test]
async fn deploys_a_two_service_repo_serves_its_page_and_redeploys_a_new_commit_in_place() {
    let t = Deploys::start().await;
    let port = free_port();
    let repo = t.git.create_repo("shop");
    repo.write_all(compose_fixtures::two_service_project(port, "version one\n"));
    let first = repo.commit("first");

    let (project, job) = t
        .deploy_existing(json!({"name": "My.App_", "source": {"git": {"url": repo.url(), "ref": "main"}}, "subdomain": "shop"}))
        .await;
    t.finished(&job, "succeeded").await;
    assert_eq!(page(port).await.as_deref(), Some("version one\n"));

    let view = t.app.project_eventually(project, "running", |p| p["status"] == "running").await;
    let compose = view["compose_project"].as_str().unwrap();
    let valid = regex_like_compose_name(compose);
    assert!(valid && compose.starts_with("warp-my-app-"), "compose project name {compose:?}");
    assert_eq!(view["deployment"]["commit"], first.as_str());
    let services: Vec<&str> = view["deployment"]["services"].as_array().unwrap().iter().map(|s| s["service"].as_str().unwrap()).collect();
    assert_eq!(services, ["api", "web"]);
    let web = &view["deployment"]["services"][1];
    assert_eq!(web["state"], "running");
    assert_eq!(web["ports"][0]["host_port"], port);
    assert!(web["image_id"].as_str().unwrap().starts_with("sha256:"), "{web}");
    let routes = payloads(&t.app, project, "RouteRequested").await;
    assert_eq!(routes, [json!({"subdomain": "shop", "service_url": format!("http://localhost:{port}")})]);

    // A new commit, same port: our own containers are not a conflict.
    repo.write("web/Dockerfile", compose_fixtures::web_service_dockerfile("version two\n"));
    let second = repo.commit("second");
    let job = t.action(project, "deploy", None).await;
    t.finished(&job, "succeeded").await;
    assert_eq!(page(port).await.as_deref(), Some("version two\n"));
    let view = t.app.project_eventually(project, "second commit", |p| p["deployment"]["commit"] == second.as_str()).await;
    assert_eq!(view["status"], "running");
    let log = t.app.job_log_text(&t.app.admin, &job).await;
    assert!(log.contains(&format!("ports free: {port}/tcp")), "{log}");
}

/// `[a-z0-9][a-z0-9_-]*`, at most 63 characters: what both compose front ends accept.
fn regex_like_compose_name(name: &str) -> bool {
    name.len() <= 63
        && name.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

#[tokio::test]
async fn a_redeploy_whose_service_never_turns_healthy_fails_and_the_previous_commit_keeps_serving() {
    let t = Deploys::start().await;
    let port = free_port();
    let repo = t.git.create_repo("steady");
    repo.write_all(compose_fixtures::two_service_project(port, "good\n"));
    let good = repo.commit("good");
    let (project, job) = t.deploy_existing(json!({"name": "steady", "source": {"git": {"url": repo.url(), "ref": "main"}}})).await;
    t.finished(&job, "succeeded").await;

    repo.write_all(compose_fixtures::unhealthy_project(port, "bad\n"));
    repo.commit("never healthy");
    let job = t.action(project, "deploy", None).await;
    let failed = t.finished(&job, "failed").await;
    let error = failed["error_message"].as_str().unwrap_or_default();
    assert!(error.contains("service web is unhealthy"), "{failed}");

    assert_eq!(page(port).await.as_deref(), Some("good\n"), "the previous version serves again");
    let failures = payloads(&t.app, project, "DeploymentFailed").await;
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!(failures[0]["rolled_back_to"], good.as_str());
    let view = t.app.project_eventually(project, "rolled back", |p| p["last_error"].is_string()).await;
    assert_eq!(view["status"], "running");
    assert_eq!(view["deployment"]["commit"], good.as_str());
}

#[tokio::test]
async fn a_compose_file_with_an_error_fails_with_composes_message_and_changes_nothing_running() {
    let t = Deploys::start().await;
    let port = free_port();
    let folder = t.folder("site");
    folder.write_all(compose_fixtures::two_service_project(port, "site\n"));
    let (project, job) = t.deploy_existing(json!({"name": "site", "source": {"folder": {"path": "site"}}})).await;
    t.finished(&job, "succeeded").await;
    let compose = t.app.project_eventually(project, "running", |p| p["status"] == "running").await["compose_project"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = containers_of(&compose);

    folder.write(compose_fixtures::COMPOSE_FILE, compose_fixtures::broken_compose());
    let job = t.action(project, "deploy", None).await;
    let failed = t.finished(&job, "failed").await;
    let text = failed.to_string();
    assert!(text.contains("the compose file is invalid"), "{text}");
    let log = t.app.job_log_text(&t.app.admin, &job).await;
    // Compose's own words (v1: a YAML parser error; v2: "yaml: …") reach the job and its log.
    assert!(log.to_lowercase().contains("yaml") || log.contains("while parsing"), "{log}");
    assert_eq!(containers_of(&compose), before, "nothing running was touched");
    assert_eq!(page(port).await.as_deref(), Some("site\n"));
    let view = t.app.project_eventually(project, "the failure is shown", |p| p["last_error"].is_string()).await;
    assert_eq!(view["status"], "running", "the running version is still the settled state: {view}");
}

#[tokio::test]
async fn ports_held_by_a_listener_on_ipv6_any_or_by_another_project_fail_the_deploy_early_naming_the_holder() {
    let t = Deploys::start().await;
    let port = free_port();
    let listener = std::net::TcpListener::bind(("::", port)).unwrap();
    let folder = t.folder("blocked");
    folder.write_all(compose_fixtures::two_service_project(port, "blocked\n"));
    let (project, job) = t.deploy_existing(json!({"name": "blocked", "source": {"folder": {"path": "blocked"}}})).await;
    let failed = t.finished(&job, "failed").await.to_string();
    assert!(failed.contains(&format!("conflict: port {port}/tcp (service web) is already in use by host process")), "{failed}");
    assert!(failed.contains(&format!("(pid {})", std::process::id())) && failed.contains("on ::"), "{failed}");
    let compose = t.app.get_project(&t.app.admin, &project.to_string()).await.json::<Value>().await.unwrap()["compose_project"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(containers_of(&compose).is_empty(), "compose never ran");
    let view = t.app.project_eventually(project, "the failure is shown", |p| p["last_error"].is_string()).await;
    assert_eq!(view["status"], "failed", "a first deploy that failed leaves nothing serving: {view}");
    assert!(view["last_error"].as_str().unwrap().contains(&format!("port {port}/tcp")), "{view}");
    drop(listener);

    let first = t.folder("first");
    first.write_all(compose_fixtures::two_service_project(port, "first\n"));
    let (_, job) = t.deploy_existing(json!({"name": "First", "source": {"folder": {"path": "first"}}})).await;
    t.finished(&job, "succeeded").await;
    let second = t.folder("second");
    second.write_all(compose_fixtures::two_service_project(port, "second\n"));
    let (_, job) = t.deploy_existing(json!({"name": "Second", "source": {"folder": {"path": "second"}}})).await;
    let failed = t.finished(&job, "failed").await.to_string();
    assert!(failed.contains("of project First"), "{failed}");
    assert_eq!(page(port).await.as_deref(), Some("first\n"));
}

#[tokio::test]
async fn cancelling_a_deploy_during_a_long_build_stops_the_build() {
    let t = Deploys::start().await;
    let folder = t.folder("slow");
    folder.write_all(compose_fixtures::slow_build_project(free_port(), 300));
    let (project, job) = t.deploy_existing(json!({"name": "slow", "source": {"folder": {"path": "slow"}}})).await;
    let deadline = tokio::time::Instant::now() + DEPLOY;
    while !t.app.job_log_text(&t.app.admin, &job).await.contains("building 2") {
        assert!(tokio::time::Instant::now() < deadline, "the slow build never started");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert_eq!(t.app.cancel_job(&t.app.admin, &job).await.status(), StatusCode::ACCEPTED);
    let done = t.app.job_finished(&job, Duration::from_secs(60)).await;
    assert_eq!(done["status"], "cancelled", "{done}");
    let view = t.app.project_eventually(project, "the cancel is recorded", |p| p["last_job_status"] == "cancelled").await;
    assert_eq!(view["status"], "failed", "{view}");
    assert_eq!(view["last_action"], "deploy");
    let mut left = String::from("?");
    for _ in 0..40 {
        left = docker(&["ps", "-q", "--filter", "label=warp.test.fixture=slow-build"]).unwrap();
        if left.trim().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(left.trim().is_empty(), "the build container is still running: {left}");
}

#[tokio::test]
async fn compose_paths_and_symlinks_out_of_the_checkout_are_refused() {
    let t = Deploys::start().await;
    for bad in ["../../etc/x.yml", "/etc/hostname", "a/../../x.yml"] {
        let response = t
            .app
            .deploy_existing(&t.app.admin, &json!({"name": "escape", "source": {"folder": {"path": "x"}}, "compose_file": bad}))
            .await;
        let body = assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(body["field"], "compose_file", "{body}");
    }
    let folder = t.folder("linked");
    folder.write_all(compose_fixtures::two_service_project(free_port(), "x\n"));
    let outside = t.root.root().parent().unwrap().join(format!("outside-{}.yml", Uuid::new_v4().simple()));
    std::fs::write(&outside, compose_fixtures::two_service_compose(free_port())).unwrap();
    std::os::unix::fs::symlink(&outside, folder.path().join("link.yml")).unwrap();
    let (_, job) = t
        .deploy_existing(json!({"name": "linked", "source": {"folder": {"path": "linked"}}, "compose_file": "link.yml"}))
        .await;
    let failed = t.finished(&job, "failed").await.to_string();
    std::fs::remove_file(&outside).unwrap();
    assert!(failed.contains("compose_file"), "{failed}");
}

#[tokio::test]
async fn stop_start_and_remove_drive_the_compose_project_and_keep_volumes_unless_asked() {
    let t = Deploys::start().await;
    let port = free_port();
    let folder = t.folder("cycle");
    folder.write_all(compose_fixtures::two_service_project(port, "cycle\n"));
    let (project, job) = t.deploy_existing(json!({"name": "cycle", "source": {"folder": {"path": "cycle"}}})).await;
    t.finished(&job, "succeeded").await;

    let job = t.action(project, "stop", None).await;
    t.finished(&job, "succeeded").await;
    assert_eq!(page(port).await, None, "stopped containers serve nothing");
    let view = t.app.project_eventually(project, "stopped", |p| p["status"] == "stopped").await;
    let states = |view: &Value| -> Vec<String> {
        view["deployment"]["services"].as_array().unwrap().iter().map(|s| s["state"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(states(&view), ["exited", "exited"], "the engine's view after the stop: {view}");

    let job = t.action(project, "start", None).await;
    t.finished(&job, "succeeded").await;
    assert_eq!(page(port).await.as_deref(), Some("cycle\n"));
    let view = t.app.project_eventually(project, "running", |p| p["status"] == "running").await;
    assert_eq!(states(&view), ["running", "running"], "{view}");

    let job = t.action(project, "remove", Some(&json!({"volumes": false}))).await;
    t.finished(&job, "succeeded").await;
    let view = t.app.project_eventually(project, "removed", |p| p["status"] == "removed").await;
    assert!(containers_of(view["compose_project"].as_str().unwrap()).is_empty());
    let removed = payloads(&t.app, project, "ProjectRemoved").await;
    assert_eq!(removed[0]["volumes_removed"], false);
}

#[tokio::test]
async fn a_quick_service_for_a_running_container_checks_its_port_and_requests_the_route() {
    let t = Deploys::start().await;
    let container = TestContainer::run("warp-quick", &[], "mkdir -p /www && echo hi > /www/index.html && exec httpd -f -p 8080 -h /www");
    let response = t
        .app
        .quick_service(&t.app.admin, &json!({"name": "quick", "container": container.name, "target_port": 8080, "subdomain": "quick"}))
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED, "{}", response.text().await.unwrap());
    let accepted: Value = response.json().await.unwrap();
    t.finished(accepted["job_id"].as_str().unwrap(), "succeeded").await;
    let project: Uuid = accepted["project_id"].as_str().unwrap().parse().unwrap();
    let routes = payloads(&t.app, project, "RouteRequested").await;
    assert_eq!(routes, [json!({"subdomain": "quick", "service_url": format!("http://{}:8080", container.name)})]);
    let view = t.app.project_eventually(project, "running", |p| p["status"] == "running").await;
    assert_eq!(view["kind"], "quick_service");

    // A host port nobody answers on: the job fails and says so on the project.
    let silent = free_port();
    let response = t.app.quick_service(&t.app.admin, &json!({"name": "silent", "host_port": silent, "subdomain": "silent"})).await;
    let accepted: Value = response.json().await.unwrap();
    let failed = t.finished(accepted["job_id"].as_str().unwrap(), "failed").await.to_string();
    assert!(failed.contains("nothing answers"), "{failed}");
    let silent_project: Uuid = accepted["project_id"].as_str().unwrap().parse().unwrap();
    let view = t.app.project_eventually(silent_project, "the failure is shown", |p| p["last_error"].is_string()).await;
    assert_eq!(view["status"], "failed", "{view}");
    assert!(view["last_error"].as_str().unwrap().contains("nothing answers"), "{view}");

    // A host port that answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let host_port = listener.local_addr().unwrap().port();
    let response = t.app.quick_service(&t.app.admin, &json!({"name": "host", "host_port": host_port, "subdomain": "host"})).await;
    let accepted: Value = response.json().await.unwrap();
    t.finished(accepted["job_id"].as_str().unwrap(), "succeeded").await;

    // A container that does not run: refused before anything is recorded.
    let missing = t
        .app
        .quick_service(&t.app.admin, &json!({"name": "missing", "container": "warp-no-such-container", "subdomain": "missing"}))
        .await;
    let body = assert_error(missing, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(body["field"], "container");
    let both = t.app.quick_service(&t.app.admin, &json!({"name": "both", "container": "x1", "host_port": 80, "subdomain": "b"})).await;
    assert_error(both, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
}

#[tokio::test]
async fn a_deploy_env_canary_never_leaves_the_env_file_even_when_the_failed_deploy_prints_it() {
    let t = Deploys::start().await;
    let canary = format!("canary-{}", Uuid::new_v4().simple());
    let mut live = t.app.nats_client.subscribe(">").await.unwrap();
    warp_test_support::nats_round_trip(&t.app.nats_client).await;
    let folder = t.folder("leaky");
    // Compose interpolates the secret into an image name that does not exist, so compose's
    // own error output contains it.
    let compose = "version: \"3.8\"\nservices:\n  web:\n    image: \"warp-missing-${SECRET_TOKEN}:latest\"\n".to_owned();
    write_tree(folder.path(), &[("compose.yaml", compose)]);
    let (project, job) = t
        .deploy_existing(json!({"name": "leaky", "source": {"folder": {"path": "leaky"}}, "env": {"SECRET_TOKEN": canary}}))
        .await;
    let failed = t.finished(&job, "failed").await.to_string();
    let log = t.app.job_log_text(&t.app.admin, &job).await;
    assert!(log.contains("warp-missing-[REDACTED]"), "compose printed the value and it was masked:\n{log}");
    assert!(!log.contains(&canary), "{log}");
    assert!(!failed.contains(&canary), "{failed}");

    // A container that prints the value and exits: its last log lines go into the failure.
    let image = warp_test_support::docker::busybox_image();
    let compose = format!(
        "version: \"3.8\"\nservices:\n  web:\n    image: {image}\n    environment:\n      SECRET_TOKEN: \"${{SECRET_TOKEN}}\"\n    command: [\"sh\", \"-c\", \"echo token=$$SECRET_TOKEN; exit 3\"]\n"
    );
    write_tree(folder.path(), &[("compose.yaml", compose)]);
    let job = t.action(project, "deploy", None).await;
    let failed = t.finished(&job, "failed").await.to_string();
    assert!(failed.contains("exited with code 3") && failed.contains("token=[REDACTED]"), "{failed}");
    assert!(!failed.contains(&canary), "{failed}");
    let recorded = payloads(&t.app, project, "DeploymentFailed").await;
    assert!(recorded.last().unwrap()["message"].as_str().unwrap().contains("token=[REDACTED]"), "{recorded:?}");

    let project_view = t.app.get_project(&t.app.admin, &project.to_string()).await.text().await.unwrap();
    assert!(project_view.contains("SECRET_TOKEN") && !project_view.contains(&canary), "{project_view}");
    let events: Vec<String> = sqlx::query_scalar("select payload::text || metadata::text from events")
        .fetch_all(&t.app.db.pool)
        .await
        .unwrap();
    assert!(events.iter().all(|e| !e.contains(&canary)));
    let stored: Vec<Vec<u8>> = sqlx::query_scalar("select ciphertext from project_env_secrets").fetch_all(&t.app.db.pool).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert!(!String::from_utf8_lossy(&stored[0]).contains(&canary), "stored encrypted");
    let env_file = PathBuf::from(t.root.root()).join(".warp/projects").join(project.to_string()).join("deploy.env");
    assert!(!env_file.exists(), "the env file is removed after the run");
    // Nothing on NATS carried it either (events, job logs, container logs).
    let mut seen = 0;
    while let Ok(Some(message)) = tokio::time::timeout(Duration::from_millis(500), futures::StreamExt::next(&mut live)).await {
        seen += 1;
        assert!(!String::from_utf8_lossy(&message.payload).contains(&canary), "{}", message.subject);
    }
    assert!(seen > 0, "the subscription saw the deploy's messages");

    // A process that starts later (a restarted docker service or API) masks it from start-up.
    let fresh = warp_platform::redact::Redactor::default();
    let store = warp_store::deploy_env::DeployEnvStore::new(t.app.db.pool.clone(), t.app.settings.keyring().clone());
    assert_eq!(store.register_all(&fresh).await.unwrap(), 1);
    let own = fresh.for_project(Some(&project.to_string()));
    assert_eq!(own.redact(&format!("token={canary};")), "token=[REDACTED];");
    let compose = t.app.get_project(&t.app.admin, &project.to_string()).await.json::<Value>().await.unwrap()["compose_project"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(fresh.for_project(Some(&compose)).redact(&canary), "[REDACTED]", "its containers' logs too");
    assert_eq!(fresh.redact(&canary), canary, "a project's values mask only that project's output");
}

#[tokio::test]
async fn a_first_deploy_cancelled_while_queued_shows_the_project_failed_with_the_cancel() {
    // No runner: the job stays queued until it is cancelled. The docker service's handlers
    // run: they record on the project what no worker could.
    let app = TestApp::spawn().await;
    app.start_docker_handlers();
    let response = app.deploy_existing(&app.member, &json!({"name": "queued", "source": {"folder": {"path": "queued"}}})).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let accepted: Value = response.json().await.unwrap();
    let (project, job) = (accepted["project_id"].as_str().unwrap().to_owned(), accepted["job_id"].as_str().unwrap().to_owned());
    let view = app.project_eventually(project.parse().unwrap(), "the deploy is queued", |p| p["last_job_status"] == "queued").await;
    assert_eq!((view["kind"].as_str(), view["status"].as_str(), view["last_action"].as_str()), (Some("compose"), Some("created"), Some("deploy")));
    assert_eq!(view["source"], json!({"folder": {"path": "queued"}}));
    assert_eq!(app.cancel_job(&app.member, &job).await.status(), StatusCode::ACCEPTED);
    let view = app.project_eventually(project.parse().unwrap(), "the cancel is recorded", |p| p["last_error"].is_string()).await;
    assert_eq!(view["last_job_status"], "cancelled", "{view}");
    assert_eq!(view["status"], "failed", "the project never deployed: {view}");
    assert_eq!(view["last_error"], "the deploy job was cancelled before it started");
}

#[tokio::test]
async fn a_failed_redeploy_of_a_folder_rolls_back_to_the_previous_images() {
    let t = Deploys::start().await;
    let port = free_port();
    let folder = t.folder("images");
    folder.write_all(compose_fixtures::two_service_project(port, "first build\n"));
    let (project, job) = t.deploy_existing(json!({"name": "images", "source": {"folder": {"path": "images"}}})).await;
    t.finished(&job, "succeeded").await;
    let first_job = job;

    // The new build's web exits at once.
    let image = warp_test_support::docker::busybox_image();
    folder.write("web/Dockerfile", format!("FROM {image}\nCMD [\"false\"]\n"));
    let job = t.action(project, "deploy", None).await;
    let failed = t.finished(&job, "failed").await.to_string();
    assert!(failed.contains("service web stopped"), "{failed}");
    assert_eq!(page(port).await.as_deref(), Some("first build\n"), "the previous images serve again");
    let failures = payloads(&t.app, project, "DeploymentFailed").await;
    assert_eq!(failures[0]["rolled_back_to"], format!("images of job {first_job}"));
}

#[tokio::test]
async fn a_first_deploy_from_a_mistyped_folder_is_fixed_by_changing_the_source_and_deploying_again() {
    let t = Deploys::start().await;
    let port = free_port();
    let folder = t.folder("real");
    folder.write_all(compose_fixtures::two_service_project(port, "fixed\n"));
    let (project, job) = t.deploy_existing(json!({"name": "typo", "source": {"folder": {"path": "reall"}}})).await;
    let failed = t.finished(&job, "failed").await.to_string();
    assert!(failed.contains("is not a folder under the workspaces root"), "{failed}");
    let view = t.app.project_eventually(project, "the failure is shown", |p| p["status"] == "failed").await;
    assert!(view["last_error"].as_str().unwrap().contains("is not a folder under the workspaces root"), "{view}");

    let both = t.app.update_project(&t.app.admin, &project.to_string(), &json!({"source": {"folder": {"path": "a"}, "git": {"url": "https://github.com/a/b.git"}}}), None).await;
    let body = assert_error(both, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(body["field"], "source");
    let fixed = t.app.update_project(&t.app.admin, &project.to_string(), &json!({"source": {"folder": {"path": "real"}}}), None).await;
    assert_eq!(fixed.status(), StatusCode::NO_CONTENT);
    t.app.project_eventually(project, "the new source", |p| p["source"]["folder"]["path"] == "real").await;
    let job = t.action(project, "deploy", None).await;
    t.finished(&job, "succeeded").await;
    assert_eq!(page(port).await.as_deref(), Some("fixed\n"));

    // A plain project has no source to change.
    let plain = t.app.create_named("plain").await;
    let refused = t.app.update_project(&t.app.admin, &plain.to_string(), &json!({"compose_file": "compose.yaml"}), None).await;
    assert_error(refused, StatusCode::CONFLICT, "conflict").await;
}

#[tokio::test]
async fn removing_a_project_whose_folder_is_gone_removes_its_containers_by_label() {
    let t = Deploys::start().await;
    let folder = t.folder("gone");
    folder.write_all(compose_fixtures::two_service_project(free_port(), "gone\n"));
    let (project, job) = t.deploy_existing(json!({"name": "gone", "source": {"folder": {"path": "gone"}}})).await;
    t.finished(&job, "succeeded").await;
    let compose = t.app.project_eventually(project, "running", |p| p["status"] == "running").await["compose_project"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(containers_of(&compose).len(), 2);
    std::fs::remove_dir_all(folder.path()).unwrap();

    let job = t.action(project, "remove", None).await;
    t.finished(&job, "succeeded").await;
    assert!(containers_of(&compose).is_empty());
    let label = format!("label=com.docker.compose.project={compose}");
    assert_eq!(docker(&["network", "ls", "-q", "--filter", &label]).unwrap().trim(), "", "its network is gone too");
    t.app.project_eventually(project, "removed", |p| p["status"] == "removed").await;
}

#[tokio::test]
async fn a_deploy_runs_with_the_relay_and_the_read_model_service_stopped_and_its_job_answers_at_once() {
    let app = TestApp::spawn_without_pipeline().await;
    app.start_deploy_runner(None);
    let root = FixtureFolder::new("bare-apps");
    let root_dir = root.root().canonicalize().unwrap();
    let put = app.put_settings(&app.admin, &json!({"workspaces_root": root_dir.to_str().unwrap()}), None).await;
    assert_eq!(put.status(), StatusCode::OK);
    let port = free_port();
    let folder = FixtureFolder::inside(root.root(), "bare");
    folder.write_all(compose_fixtures::two_service_project(port, "no pipeline\n"));

    let response = app.deploy_existing(&app.admin, &json!({"name": "bare", "source": {"folder": {"path": "bare"}}})).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let accepted: Value = response.json().await.unwrap();
    let project: Uuid = accepted["project_id"].as_str().unwrap().parse().unwrap();
    let name = warp_domain::validate::ProjectName::try_from("bare".to_owned()).unwrap();
    let _cleanup = ComposeCleanup::new(warp_domain::validate::ComposeProjectName::for_project(&name, project).as_str());
    // At once, with no consumer running: the job and its log are there.
    let job = app.client.get(format!("{}{location}", app.address)).bearer_auth(&app.admin.secret).send().await.unwrap();
    assert_eq!(job.status(), StatusCode::OK);
    let logs = app.client.get(format!("{}{location}/logs", app.address)).bearer_auth(&app.admin.secret).send().await.unwrap();
    assert_eq!(logs.status(), StatusCode::OK);

    let done = app.job_finished(accepted["job_id"].as_str().unwrap(), DEPLOY).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(page(port).await.as_deref(), Some("no pipeline\n"));
}

#[tokio::test]
async fn a_first_deploy_whose_worker_dies_shows_the_project_failed_as_interrupted() {
    let t = Deploys::without_runner().await;
    let doomed = t.app.spawn_deploy_runner(None, warp_platform::Shutdown::new());
    let folder = t.folder("doomed");
    folder.write_all(compose_fixtures::slow_build_project(free_port(), 300));
    let (project, job) = t.deploy_existing(json!({"name": "doomed", "source": {"folder": {"path": "doomed"}}})).await;
    let deadline = tokio::time::Instant::now() + DEPLOY;
    while !t.app.job_log_text(&t.app.admin, &job).await.contains("building 2") {
        assert!(tokio::time::Instant::now() < deadline, "the slow build never started");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    doomed.abort(); // like a killed worker: nothing records the outcome
    let _ = doomed.await;

    t.app.start_deploy_runner(None);
    let done = t.finished(&job, "failed").await;
    assert_eq!(done["error_kind"], "interrupted", "{done}");
    let view = t.app.project_eventually(project, "the interruption is recorded", |p| p["status"] == "failed").await;
    assert!(view["last_error"].as_str().unwrap().starts_with("interrupted"), "{view}");
}

/// One compose file per policy rule and syntax, and what the refusal must say.
fn policy_fixtures(outside: &str) -> Vec<(&'static str, String, &'static str)> {
    let image = warp_test_support::docker::busybox_image();
    let web = |extra: &str| format!("services:\n  web:\n    image: {image}\n    command: [\"sleep\", \"60\"]\n{extra}");
    vec![
        ("privileged", web("    privileged: true\n"), "service web: privileged: privileged: true (rule privileged)"),
        ("capability", web("    cap_add: [SYS_ADMIN]\n"), "service web: cap_add: capability SYS_ADMIN (rule cap_add)"),
        ("device", web("    devices: ['/dev/null:/dev/evil']\n"), "(rule devices)"),
        ("hostnet", web("    network_mode: host\n"), "service web: network_mode: network_mode: host (rule host_namespaces)"),
        ("hostpid", web("    pid: host\n"), "service web: pid: pid: host (rule host_namespaces)"),
        ("seccomp", web("    security_opt: ['seccomp:unconfined']\n"), "service web: security_opt: seccomp:unconfined (rule security_opt)"),
        ("rootshort", web("    volumes: ['/:/host']\n"), "service web: volumes: bind mount of / (outside the project folder) (rule bind_mounts)"),
        ("bindlong", web(&format!("    volumes:\n    - type: bind\n      source: {outside}\n      target: /x\n")), "(rule bind_mounts)"),
        (
            "namedbind",
            web("    volumes: ['data:/data']\n") + &format!("volumes:\n  data:\n    driver_opts: {{type: none, o: bind, device: {outside}}}\n"),
            "(rule bind_mounts)",
        ),
        ("socket", web("    volumes: ['/var/run/docker.sock:/var/run/docker.sock']\n"), "(rule docker_socket)"),
        ("context", format!("services:\n  web:\n    build: {outside}\n"), "(rule build_context)"),
        ("imagetag", format!("services:\n  web:\n    build: .\n    image: {image}\n"), "would replace the image"),
    ]
}

#[tokio::test]
async fn the_compose_policy_refuses_each_rule_naming_service_and_key_and_starts_nothing() {
    let t = Deploys::start().await;
    let outside = FixtureFolder::new("outside");
    let outside_dir = outside.root().canonicalize().unwrap().display().to_string();
    for (name, compose, wanted) in policy_fixtures(&outside_dir) {
        let folder = t.folder(name);
        folder.write("compose.yaml", compose);
        folder.write("Dockerfile", format!("FROM {}\n", warp_test_support::docker::busybox_image()));
        let (project, job) = t.deploy_existing(json!({"name": name, "source": {"folder": {"path": name}}})).await;
        let failed = t.finished(&job, "failed").await.to_string();
        assert!(failed.contains(wanted), "{name}: {failed}");
        let view = t.app.get_project(&t.app.admin, &project.to_string()).await.json::<Value>().await.unwrap();
        assert!(containers_of(view["compose_project"].as_str().unwrap()).is_empty(), "{name}: nothing started");
    }

    // An admin lifts one rule for one project: that rule no longer refuses it.
    let folder = t.folder("allowed");
    folder.write("compose.yaml", policy_fixtures(&outside_dir)[1].1.clone());
    let (project, job) = t.deploy_existing(json!({"name": "allowed", "source": {"folder": {"path": "allowed"}}})).await;
    t.finished(&job, "failed").await;
    let url = format!("{}/api/projects/{project}/compose-policy", t.app.address);
    let by_member = t.app.client.put(&url).bearer_auth(&t.app.member.secret).json(&json!({"allow": ["cap_add"]})).send().await.unwrap();
    assert_eq!(by_member.status(), StatusCode::NOT_FOUND, "a member never reaches another user's project");
    let set = t.app.client.put(&url).bearer_auth(&t.app.admin.secret).json(&json!({"allow": ["cap_add"]})).send().await.unwrap();
    assert_eq!(set.status(), StatusCode::OK);
    let job = t.action(project, "deploy", None).await;
    t.finished(&job, "succeeded").await;
    let view = t.app.project_eventually(project, "the exception shows", |p| p["compose_exceptions"] == json!(["cap_add"])).await;
    assert_eq!(view["status"], "running");
    let audit = t.app.client.get(format!("{}/api/audit", t.app.address)).bearer_auth(&t.app.admin.secret).send().await.unwrap();
    assert!(audit.text().await.unwrap().contains("project.compose_policy_exceptions_set"), "the exception is audited");

    // A clean compose file passes.
    let port = free_port();
    let clean = t.folder("clean");
    clean.write_all(compose_fixtures::two_service_project(port, "clean\n"));
    let (_, job) = t.deploy_existing(json!({"name": "clean", "source": {"folder": {"path": "clean"}}})).await;
    t.finished(&job, "succeeded").await;
    assert_eq!(page(port).await.as_deref(), Some("clean\n"));
}

#[tokio::test]
async fn a_folder_belongs_to_one_project_and_a_link_into_the_panels_folder_is_refused() {
    let t = Deploys::start().await;
    let port = free_port();
    let folder = t.folder("owned");
    folder.write_all(compose_fixtures::two_service_project(port, "owned\n"));
    let (_, job) = t.deploy_existing(json!({"name": "Owned", "source": {"folder": {"path": "owned"}}})).await;
    t.finished(&job, "succeeded").await;

    // The same folder through a symlink, by the same user: named.
    std::os::unix::fs::symlink(folder.root(), t.root.root().join("alias")).unwrap();
    let (_, job) = t.deploy_existing(json!({"name": "alias", "source": {"folder": {"path": "alias"}}})).await;
    let failed = t.finished(&job, "failed").await.to_string();
    assert!(failed.contains("overlaps the folder of project Owned"), "{failed}");

    // By another user: the project is not named.
    let response = t.app.deploy_existing(&t.app.member, &json!({"name": "theirs", "source": {"folder": {"path": "owned"}}})).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let accepted: Value = response.json().await.unwrap();
    let failed = t.finished(accepted["job_id"].as_str().unwrap(), "failed").await.to_string();
    assert!(failed.contains("overlaps the folder of another user's project"), "{failed}");
    assert!(!failed.contains("Owned"), "{failed}");

    // A link into .warp/, where checkouts and env files live.
    std::fs::create_dir_all(t.root.root().join(".warp")).unwrap();
    std::os::unix::fs::symlink(t.root.root().join(".warp"), t.root.root().join("sneaky")).unwrap();
    let (_, job) = t.deploy_existing(json!({"name": "sneaky", "source": {"folder": {"path": "sneaky"}}})).await;
    let failed = t.finished(&job, "failed").await.to_string();
    assert!(failed.contains("resolves into .warp/"), "{failed}");
}

#[tokio::test]
async fn a_deploy_env_value_reaches_the_container_byte_exact_and_values_compose_cannot_carry_are_refused() {
    let t = Deploys::start().await;
    let folder = t.folder("exact");
    let image = warp_test_support::docker::busybox_image();
    // The container prints its value as hex (the value itself would be masked in the log).
    let compose = format!(
        "services:\n  web:\n    image: {image}\n    environment:\n      VAL: \"${{VAL}}\"\n    command:\n      - sh\n      - -c\n      - 'echo \"hex=$$(printf %s \"$$VAL\" | od -An -tx1 -v | tr -d \" \\n\")\"; exit 3'\n"
    );
    write_tree(folder.path(), &[("compose.yaml", compose)]);
    let value = " $HOME \"q\" # not a comment $$ $X é\ttab  ";
    let body = json!({"name": "exact", "source": {"folder": {"path": "exact"}}, "env": {"VAL": value}});
    let (project, job) = t.deploy_existing(body).await;
    let failed = t.finished(&job, "failed").await.to_string();
    let hex: String = value.bytes().map(|b| format!("{b:02x}")).collect();
    assert!(failed.contains(&format!("hex={hex}")), "the container saw exactly {value:?}: {failed}");

    for bad in ["C:\\dir", "tail\\", "a${X}b", "it's"] {
        let response = t.app.project_action(&t.app.admin, project, "deploy", Some(&json!({"env": {"VAL": bad}}))).await;
        let error = assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(error["field"], "env.VAL", "{bad:?}: {error}");
        assert!(!error.to_string().contains(bad), "the value is not quoted back: {error}");
    }
}

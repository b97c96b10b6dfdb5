//! GitHub repositories: create a project from an allowlisted template (the github service's
//! `create_from_template` job against the fake GitHub, real git over HTTPS, the real Docker
//! Engine for the deploy), and list the repositories the token can see.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use futures::StreamExt as _;
use reqwest::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;
use warp_test_support::compose_fixtures::{self, ComposeCleanup};
use warp_test_support::fake_github::FakeGithub;
use warp_test_support::git::{FixtureFolder, GitServer};

use crate::helpers::{assert_error, TestApp};

/// Longest a creation plus its deploy may take here (builds on 2 busy cores).
const JOB: Duration = Duration::from_secs(240);

/// One test's panel with the github service, a fake GitHub serving repositories from a real
/// git server, a template `octo/template-web` holding a compose project, and a token.
struct Github {
    app: TestApp,
    git: GitServer,
    fake: FakeGithub,
    root: FixtureFolder,
    token: String,
    port: u16,
}

impl Github {
    /// With `docker`, the app has a docker service (for deploys); a new repository may take
    /// `clone_wait` to become clonable.
    async fn start(docker: bool, clone_wait: Duration) -> Self {
        let app = if docker { TestApp::spawn_with_docker().await } else { TestApp::spawn().await };
        let git = GitServer::start().await;
        let fake = FakeGithub::start().await;
        fake.with_git(git.host());
        let token = format!("ghp_CANARY{}", Uuid::new_v4().simple());
        fake.add_token("octo", 7, &token, "repo");
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let template = git.create_repo("octo/template-web");
        template.write_all(compose_fixtures::two_service_project(port, "from the template\n"));
        template.commit("template");
        fake.add_repo("octo/template-web", true, false);
        let root = FixtureFolder::new("apps");
        let settings = json!({
            "github_api_url": fake.url,
            "github_web_url": git.host().base_url(),
            "github_token": token,
            "template_repos": ["octo/template-web", "octo/other-template"],
            "workspaces_root": root.root().canonicalize().unwrap().to_str().unwrap(),
        });
        let put = app.put_settings(&app.admin, &settings, None).await;
        assert_eq!(put.status(), StatusCode::OK, "{}", put.text().await.unwrap());
        app.start_github_service(Some(git.ca_file().to_path_buf()), clone_wait, Duration::from_secs(30)).await;
        Self { app, git, fake, root, token, port }
    }

    /// `POST /api/projects/from-template`; returns (project id, job id).
    async fn create(&self, body: Value) -> (Uuid, String) {
        let response = self.app.create_from_template(&self.app.admin, &body).await;
        assert_eq!(response.status(), StatusCode::ACCEPTED, "{}", response.text().await.unwrap());
        let accepted: Value = response.json().await.unwrap();
        (accepted["project_id"].as_str().unwrap().parse().unwrap(), accepted["job_id"].as_str().unwrap().to_owned())
    }

    async fn finished(&self, job: &str, status: &str) -> (Value, String) {
        let done = self.app.job_finished(job, JOB).await;
        let log = self.app.job_log_text(&self.app.admin, job).await;
        assert_eq!(done["status"], status, "job {job}: {done}\nlog:\n{log}");
        (done, log)
    }

    fn project_dir(&self, project: Uuid) -> std::path::PathBuf {
        self.root.root().canonicalize().unwrap().join(".warp/projects").join(project.to_string())
    }

    /// The token and the forms git's auth header would show it in.
    fn secret_forms(&self) -> Vec<String> {
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("x-access-token:{}", self.token));
        vec![self.token.clone(), basic]
    }
}

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Every process's command line, read from /proc until `stop`.
fn sample_command_lines(stop: Arc<std::sync::atomic::AtomicBool>) -> std::thread::JoinHandle<(usize, Vec<String>)> {
    std::thread::spawn(move || {
        let (mut git_seen, mut lines) = (0, Vec::new());
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
                if let Ok(raw) = std::fs::read(entry.path().join("cmdline")) {
                    let line = String::from_utf8_lossy(&raw).replace('\0', " ");
                    if line.starts_with("git ") && line.contains("fetch") {
                        git_seen += 1;
                    }
                    lines.push(line);
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        (git_seen, lines)
    })
}

#[tokio::test]
async fn a_private_repository_from_a_template_is_created_cloned_once_clonable_and_deployed_and_the_token_shows_nowhere() {
    let logs = Captured::default();
    let installed = tracing_subscriber::fmt().with_writer(logs.clone()).with_env_filter("debug").with_ansi(false).try_init();
    assert!(installed.is_ok(), "run this test in its own process (cargo nextest) so its logs can be captured");
    tracing::info!("log capture works");
    let t = Github::start(true, Duration::from_secs(60)).await;
    t.app.start_deploy_runner(Some(t.git.ca_file().to_path_buf()));
    let mut nats = t.app.nats_client.subscribe(">").await.unwrap();
    // A new repository is not clonable for 3 s, and each git answer is slow, so the clone's
    // processes can be seen in /proc.
    t.fake.set_clone_delay(Duration::from_secs(3));
    t.git.set_delay(Duration::from_millis(300));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = sample_command_lines(stop.clone());

    let (project, job) = t.create(json!({"name": "shop", "template": "octo/template-web", "private": true, "deploy": true})).await;
    let (_, log) = t.finished(&job, "succeeded").await;
    let cleanup = ComposeCleanup::new(t.app.project_eventually(project, "compose", |p| p["compose_project"].is_string()).await["compose_project"].as_str().unwrap().to_owned());
    assert!(log.contains("created octo/shop"), "{log}");
    assert!(log.contains("not clonable yet"), "the job waited for the new repository: {log}");
    assert!(log.contains("deploy queued"), "{log}");
    assert_eq!(t.fake.generated(), [("octo/template-web".to_owned(), "octo/shop".to_owned(), true, false)]);

    // The project shows the repository and deploys from its default branch.
    let view = t.app.project_eventually(project, "cloned", |p| p["repository"]["state"] == "cloned").await;
    assert_eq!(view["repository"]["repo"], "octo/shop");
    assert_eq!(view["repository"]["html_url"], format!("{}/octo/shop", t.git.host().base_url()));
    assert_eq!(view["source"], json!({"github": {"repo": "octo/shop", "ref": "main"}}));
    let checkout = t.project_dir(project).join("checkout");
    assert_eq!(std::fs::read_to_string(checkout.join("compose.yaml")).unwrap(), compose_fixtures::two_service_compose(t.port));

    // The deploy the job queued fetched the private repository with the token too.
    let view = t.app.project_eventually(project, "deploy requested", |p| p["last_action"] == "deploy").await;
    let deploy = view["last_job_id"].as_str().unwrap().to_owned();
    let (_, deploy_log) = t.finished(&deploy, "succeeded").await;
    t.app.project_eventually(project, "running", |p| p["status"] == "running").await;
    assert!(deploy_log.contains("with the panel's GitHub token"), "{deploy_log}");
    let client = reqwest::Client::builder().timeout(Duration::from_secs(2)).build().unwrap();
    let page = client.get(format!("http://127.0.0.1:{}/", t.port)).send().await.unwrap().text().await.unwrap();
    assert_eq!(page, "from the template\n");
    let authorizations = t.git.authorizations();
    assert!(!authorizations.is_empty(), "git authenticated to the private repository");

    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (git_seen, command_lines) = sampler.join().unwrap();
    assert!(git_seen > 0, "a git fetch was seen in /proc while it ran");

    // Nowhere: command lines, logs, job logs, events, NATS, the checkout's git config,
    // the workspace, API answers.
    let mut seen = command_lines;
    seen.push(log.clone());
    seen.push(deploy_log);
    seen.push(std::fs::read_to_string(checkout.join(".git/config")).unwrap());
    for entry in walk(&t.project_dir(project)) {
        if entry.is_file() && !entry.components().any(|c| c.as_os_str() == "objects") {
            seen.push(String::from_utf8_lossy(&std::fs::read(&entry).unwrap()).into_owned());
        }
    }
    let stored: Vec<(String, String)> = sqlx::query_as("select payload::text, metadata::text from events").fetch_all(&t.app.db.pool).await.unwrap();
    seen.extend(stored.into_iter().map(|(p, m)| p + &m));
    seen.push(t.app.get_project(&t.app.admin, &project.to_string()).await.text().await.unwrap());
    seen.push(t.app.get_job(&t.app.admin, &job).await.text().await.unwrap());
    seen.push(t.app.get_settings(&t.app.admin).await.text().await.unwrap());
    while let Ok(Some(message)) = tokio::time::timeout(Duration::from_millis(200), nats.next()).await {
        seen.push(String::from_utf8_lossy(&message.payload).into_owned());
    }
    seen.push(String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned());
    assert!(seen.last().unwrap().contains("log capture works"), "logs were captured");
    for text in &seen {
        for secret in t.secret_forms() {
            assert!(!text.contains(&secret), "the token leaked into: {text:.2000}");
        }
    }
    drop(cleanup);
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[tokio::test]
async fn a_name_that_exists_on_github_fails_the_job_as_a_conflict_and_leaves_no_workspace() {
    let t = Github::start(false, Duration::from_secs(60)).await;
    t.fake.add_repo("octo/shop", false, false);
    let (project, job) = t.create(json!({"name": "shop", "template": "octo/template-web", "private": false})).await;
    let (done, log) = t.finished(&job, "failed").await;
    assert!(done["error_message"].to_string().contains("conflict: a repository named octo/shop already exists on GitHub"), "{done}");
    assert!(!log.contains("stays there"), "nothing was created: {log}");
    let view = t.app.project_eventually(project, "failed", |p| p["repository"]["state"] == "failed").await;
    assert_eq!(view["status"], "failed");
    assert_eq!(view["repository"]["repo_left"], false);
    assert!(view["last_error"].as_str().unwrap().contains("already exists"), "{view}");
    assert!(!t.project_dir(project).exists(), "no workspace was left");
    assert!(t.fake.generated().is_empty());
}

#[tokio::test]
async fn a_repository_that_never_becomes_clonable_fails_the_job_removes_the_workspace_and_says_the_repository_stays() {
    let t = Github::start(false, Duration::from_secs(3)).await;
    t.fake.set_clone_delay(Duration::from_secs(3600));
    let (project, job) = t.create(json!({"name": "stuck", "template": "octo/template-web", "private": false})).await;
    let done = t.app.job_finished(&job, JOB).await;
    let log = t.app.job_log_text(&t.app.admin, &job).await;
    assert_eq!(done["status"], "failed", "{done}\n{log}");
    assert!(log.contains("octo/stuck was created on GitHub and stays there"), "{log}");
    assert!(log.contains("removed the half-created workspace"), "{log}");
    let view = t.app.project_eventually(project, "failed", |p| p["repository"]["state"] == "failed").await;
    assert_eq!(view["repository"]["repo_left"], true);
    assert_eq!(view["repository"]["repo"], "octo/stuck");
    assert!(!t.project_dir(project).exists(), "the half-created workspace was removed");
}

#[tokio::test]
async fn a_template_that_is_not_allowlisted_is_refused_with_422_naming_it_and_nothing_changes() {
    let t = Github::start(false, Duration::from_secs(60)).await;
    t.fake.add_repo("evil/template", true, false);
    let response = t.app.create_from_template(&t.app.admin, &json!({"name": "shop", "template": "evil/template", "private": false})).await;
    let error = assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(error["field"], "template");
    assert!(error["message"].as_str().unwrap().contains("evil/template"), "{error}");
    for bad in [json!({"name": "my shop", "template": "octo/template-web", "private": false}), json!({"name": "shop", "template": "octo", "private": false})] {
        let response = t.app.create_from_template(&t.app.admin, &bad).await;
        assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    }
    let projects: Vec<(String,)> = sqlx::query_as("select aggregate_id from events where aggregate_type = 'project'").fetch_all(&t.app.db.pool).await.unwrap();
    assert!(projects.is_empty(), "no project was recorded: {projects:?}");
    assert!(t.fake.generated().is_empty());
    assert!(!t.fake.requests().iter().any(|r| r.contains("generate")));
}

#[tokio::test]
async fn the_repository_list_reads_every_page_filters_pages_by_cursor_is_cached_and_reports_the_rate_limit() {
    let t = Github::start(false, Duration::from_secs(60)).await;
    for i in 0..230 {
        t.fake.add_repo(&format!("octo/app-{i:03}"), false, i % 2 == 0);
    }
    let response = t.app.github_repos(&t.app.admin, &[("limit", "100")]).await;
    let status = response.status();
    let first: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["total"], 231, "230 apps and the template");
    assert_eq!(first["items"].as_array().unwrap().len(), 100);
    assert_eq!(first["cached"], false);
    let reads = t.fake.requests().iter().filter(|r| *r == "GET /user/repos").count();
    assert_eq!(reads, 3, "three pages of 100 were read from GitHub");
    assert!(first["rate_limit"]["remaining"].as_u64().unwrap() < 5000, "{}", first["rate_limit"]);
    assert!(first["rate_limit"]["reset_at"].is_string());

    // Paging through it: every repository once, in order, from the cache.
    let mut names: Vec<String> = first["items"].as_array().unwrap().iter().map(|r| r["full_name"].as_str().unwrap().to_owned()).collect();
    let mut cursor = first["next_cursor"].as_str().map(str::to_owned);
    while let Some(after) = cursor {
        let page: Value = t.app.github_repos(&t.app.admin, &[("limit", "100"), ("cursor", &after)]).await.json().await.unwrap();
        assert_eq!(page["cached"], true);
        names.extend(page["items"].as_array().unwrap().iter().map(|r| r["full_name"].as_str().unwrap().to_owned()));
        cursor = page["next_cursor"].as_str().map(str::to_owned);
    }
    assert_eq!(names.len(), 231);
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    assert_eq!(t.fake.requests().iter().filter(|r| *r == "GET /user/repos").count(), 3, "the cache answered");

    let found: Value = t.app.github_repos(&t.app.member, &[("q", "APP-12")]).await.json().await.unwrap();
    let names: Vec<&str> = found["items"].as_array().unwrap().iter().map(|r| r["full_name"].as_str().unwrap()).collect();
    assert_eq!(names, ["octo/app-120", "octo/app-121", "octo/app-122", "octo/app-123", "octo/app-124", "octo/app-125", "octo/app-126", "octo/app-127", "octo/app-128", "octo/app-129"]);
    assert_eq!(found["items"][0]["private"], true);
    assert_eq!(found["next_cursor"], Value::Null);

    let bad = t.app.github_repos(&t.app.admin, &[("q", "a b")]).await;
    assert_error(bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
}

#[tokio::test]
async fn a_used_up_rate_limit_answers_429_with_when_it_resets_and_the_template_job_fails_saying_so() {
    let t = Github::start(false, Duration::from_secs(60)).await;
    let reset = chrono::Utc::now().timestamp() as u64 + 600;
    t.fake.set_rate_limit(0, reset);
    let response = t.app.github_repos(&t.app.admin, &[]).await;
    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((500..=600).contains(&retry_after), "Retry-After {retry_after}");
    let error = assert_error(response, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    let reset_at = chrono::DateTime::from_timestamp(reset as i64, 0).unwrap().to_rfc3339();
    assert!(error["message"].as_str().unwrap().contains(&reset_at), "{error}");

    let (project, job) = t.create(json!({"name": "later", "template": "octo/template-web", "private": false})).await;
    let (done, _) = t.finished(&job, "failed").await;
    assert!(done["error_message"].to_string().contains("rate limit"), "{done}");
    let view = t.app.project_eventually(project, "failed", |p| p["repository"]["state"] == "failed").await;
    assert_eq!(view["repository"]["repo_left"], false);
}

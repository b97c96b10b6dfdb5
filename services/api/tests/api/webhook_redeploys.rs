//! Redeploy on push, end to end: the github service (consumer `github`, `ensure_webhook`) with
//! the fake GitHub, real repositories on the HTTPS git server, and (for the redeploy) real
//! deploys on this machine's Docker Engine.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;
use warp_test_support::compose_fixtures::{self, ComposeCleanup};
use warp_test_support::fake_github::{FakeGithub, PushDelivery};
use warp_test_support::eventually;
use warp_test_support::git::{FixtureFolder, GitServer};

use crate::helpers::TestApp;
use crate::webhooks::SECRET;

/// The panel's GitHub token in these tests (the fake knows it as octocat's).
const TOKEN: &str = "ghp_webhookTests0123456789abcdefABCDEF";
/// The panel's public URL: hooks deliver to `<this>/hooks/github`.
const PUBLIC_URL: &str = "https://panel.example.com";
/// Longest a fixture deploy may take here.
const DEPLOY: Duration = Duration::from_secs(240);

struct Hooked {
    app: TestApp,
    git: GitServer,
    github: FakeGithub,
    _root: FixtureFolder,
}

impl Hooked {
    /// The panel, the fake GitHub (octocat admin of `octo-org/shop`), the git server as
    /// `github_web_url`, and the github service; with `docker`, the deploy runner too.
    async fn start(docker: bool) -> Self {
        let app = if docker { TestApp::spawn_with_docker().await } else { TestApp::spawn().await };
        let git = GitServer::start().await;
        let github = FakeGithub::start().await;
        github.add_token("octocat", 1, TOKEN, "repo,admin:repo_hook");
        github.add_repo_admin("octo-org/shop", "octocat");
        let root = FixtureFolder::new("hooks");
        let settings = json!({
            "workspaces_root": root.root().canonicalize().unwrap().to_str().unwrap(),
            "github_api_url": github.url, "github_web_url": git.host().base_url(), "github_token": TOKEN,
            "public_url": PUBLIC_URL, "github_webhook_secret": SECRET,
        });
        let put = app.put_settings(&app.admin, &settings, None).await;
        assert_eq!(put.status(), StatusCode::OK, "{}", put.text().await.unwrap());
        if docker {
            app.start_deploy_runner(Some(git.ca_file().to_path_buf()));
        }
        app.start_github_service(Some(git.ca_file().to_path_buf()), Duration::from_secs(30), Duration::ZERO).await;
        Self { app, git, github, _root: root }
    }

    /// Deploys `repo` at `git_ref` from GitHub; returns (project, job).
    async fn deploy_github(&self, name: &str, repo: &str, git_ref: &str) -> (Uuid, String) {
        let body = json!({"name": name, "source": {"github": {"repo": repo, "ref": git_ref}}});
        let response = self.app.deploy_existing(&self.app.admin, &body).await;
        assert_eq!(response.status(), StatusCode::ACCEPTED, "{}", response.text().await.unwrap());
        let accepted: Value = response.json().await.unwrap();
        (accepted["project_id"].as_str().unwrap().parse().unwrap(), accepted["job_id"].as_str().unwrap().to_owned())
    }

    async fn succeeded(&self, job: &str) {
        let done = self.app.job_finished(job, DEPLOY).await;
        let log = self.app.job_log_text(&self.app.admin, job).await;
        assert_eq!(done["status"], "succeeded", "{done}\n{log}");
        assert!(!log.contains(SECRET) && !log.contains(TOKEN), "no secret in the job log");
    }

    /// The project's deploy jobs, oldest first.
    async fn deploy_jobs(&self, project: Uuid) -> Vec<Uuid> {
        sqlx::query_scalar("select id from jobs where project_id = $1 and job_type = 'deploy' order by queue_position")
            .bind(project)
            .fetch_all(&self.app.db.pool)
            .await
            .unwrap()
    }
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

#[tokio::test]
async fn a_signed_push_to_the_deployed_branch_redeploys_at_the_new_commit_and_nothing_else_does() {
    let t = Hooked::start(true).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let repo = t.git.create_repo("octo-org/shop");
    repo.write_all(compose_fixtures::two_service_project(port, "version one\n"));
    let first = repo.commit("first");
    let (project, job) = t.deploy_github("shop", "octo-org/shop", "main").await;
    let view = t.app.project_eventually(project, "has a compose project", |p| p["compose_project"].is_string()).await;
    let _cleanup = ComposeCleanup::new(view["compose_project"].as_str().unwrap());
    t.succeeded(&job).await;
    assert_eq!(page(port).await.as_deref(), Some("version one\n"));

    // An archived project deployed from the same repository and branch (its own deploy fails
    // on the port, which does not matter: it is archived before any push).
    let (archived, archived_job) = t.deploy_github("shop-old", "octo-org/shop", "main").await;
    t.app.job_finished(&archived_job, DEPLOY).await;
    assert_eq!(t.app.archive_project(&t.app.admin, &archived.to_string()).await.status(), StatusCode::NO_CONTENT);
    t.app.project_eventually(archived, "archived", |p| p["archived"] == true).await;

    // A push to another branch and a deletion of main: recorded, nothing redeployed.
    repo.branch("dev");
    let dev = repo.commit("on dev");
    let other_branch = PushDelivery::new("octo-org/shop", "refs/heads/dev", &dev);
    assert_eq!(other_branch.send(&t.app.address, Some(SECRET)).await.status(), StatusCode::ACCEPTED);
    let deletion = PushDelivery::new("octo-org/shop", "refs/heads/main", &first).deletion();
    assert_eq!(deletion.send(&t.app.address, Some(SECRET)).await.status(), StatusCode::ACCEPTED);

    // The push GitHub sends for a new commit on main (its repo spelled as GitHub spells it).
    repo.checkout("main");
    repo.write("web/Dockerfile", compose_fixtures::web_service_dockerfile("version two\n"));
    let second = repo.commit("second");
    let delivery = PushDelivery::new("Octo-Org/Shop", "refs/heads/main", &second);
    let response = delivery.send(&t.app.address, Some(SECRET)).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);

    let view = eventually(DEPLOY, "redeployed at the pushed commit", || async {
        let view: Value = t.app.get_project(&t.app.admin, &project.to_string()).await.json().await.ok()?;
        (view["deployment"]["commit"] == second.as_str()).then_some(view)
    })
    .await;
    assert_eq!(view["status"], "running");
    assert_eq!(page(port).await.as_deref(), Some("version two\n"));
    let jobs = t.deploy_jobs(project).await;
    assert_eq!(jobs.len(), 2, "the first deploy and the push's redeploy, nothing for the other branch or the deletion: {jobs:?}");
    t.succeeded(&jobs[1].to_string()).await;
    let (actor,): (String,) = sqlx::query_as("select metadata->>'actor' from events where aggregate_id = $1 and event_type = 'JobQueued'")
        .bind(jobs[1].to_string())
        .fetch_one(&t.app.db.pool)
        .await
        .unwrap();
    assert!(actor.starts_with("system:github@"), "queued by the github service: {actor}");

    // GitHub redelivers the same delivery: nothing is queued again.
    let replay = delivery.send(&t.app.address, Some(SECRET)).await;
    assert_eq!(replay.json::<Value>().await.unwrap()["outcome"], "duplicate");
    // A later push is handled after the replay, so once it is queued the replay was too.
    let third = repo.commit("third");
    PushDelivery::new("octo-org/shop", "refs/heads/main", &third).send(&t.app.address, Some(SECRET)).await;
    eventually(DEPLOY, "the third push is queued", || async { (t.deploy_jobs(project).await.len() == 3).then_some(()) }).await;
    let requested: i64 = sqlx::query_scalar("select count(*) from events where aggregate_id = $1 and event_type = 'DeploymentRequested'")
        .bind(project.to_string())
        .fetch_one(&t.app.db.pool)
        .await
        .unwrap();
    assert_eq!(requested, 3);
    let archived_jobs = t.deploy_jobs(archived).await;
    assert_eq!(archived_jobs.len(), 1, "the archived project is never redeployed");
    let last = t.deploy_jobs(project).await[2];
    t.succeeded(&last.to_string()).await;
}

#[tokio::test]
async fn the_panel_creates_its_webhook_once_updates_a_stale_one_and_says_plainly_when_it_may_not() {
    let t = Hooked::start(false).await;
    t.git.create_repo("octo-org/shop").commit("first");
    let (project, _) = t.deploy_github("shop", "octo-org/shop", "main").await;
    let view = t.app.project_eventually(project, "the webhook is active", |p| p["webhook"]["state"] == "active").await;
    assert_eq!(view["webhook"]["change"], "created");
    assert_eq!(view["webhook"]["url"], format!("{PUBLIC_URL}/hooks/github"));
    let hooks = t.github.hooks_of("octo-org/shop");
    assert_eq!(hooks.len(), 1, "{hooks:?}");
    let hook = &hooks[0];
    assert_eq!(
        (hook.url.as_str(), hook.content_type.as_str(), hook.insecure_ssl.as_str(), hook.secret.as_deref(), hook.events.clone(), hook.active),
        (format!("{PUBLIC_URL}/hooks/github").as_str(), "json", "0", Some(SECRET), vec!["push".to_owned()], true)
    );
    assert_eq!(view["webhook"]["hook_id"], hook.id);

    // The source changes (another branch): the hook is there as wanted, nothing is sent.
    let patch = t.app.update_project(&t.app.admin, &project.to_string(), &json!({"source": {"github": {"repo": "octo-org/shop", "ref": "dev"}}}), None).await;
    assert_eq!(patch.status(), StatusCode::NO_CONTENT, "{}", patch.text().await.unwrap());
    let first_job = view["webhook"]["job_id"].clone();
    let view = t.app.project_eventually(project, "checked again", |p| p["webhook"]["job_id"] != first_job).await;
    assert_eq!(view["webhook"]["change"], "unchanged");
    assert_eq!(t.github.hooks_of("octo-org/shop").len(), 1, "not twice");
    let posts = t.github.requests().iter().filter(|r| *r == "POST /repos/octo-org/shop/hooks").count();
    assert_eq!(posts, 1);
    assert!(!t.github.requests().iter().any(|r| r.starts_with("PATCH")), "nothing to update");

    // A hook to the panel added by hand with other settings is updated, not duplicated.
    t.github.add_repo_admin("octo-org/blog", "octocat");
    t.git.create_repo("octo-org/blog").commit("first");
    let manual = t.github.add_hook("octo-org/blog", &format!("{PUBLIC_URL}/hooks/github"), &["push", "issues"], "form", false);
    let (blog, _) = t.deploy_github("blog", "octo-org/blog", "main").await;
    let view = t.app.project_eventually(blog, "the blog's webhook is active", |p| p["webhook"]["state"] == "active").await;
    assert_eq!((view["webhook"]["change"].clone(), view["webhook"]["hook_id"].clone()), (json!("updated"), json!(manual)));
    let hooks = t.github.hooks_of("octo-org/blog");
    assert_eq!(hooks.len(), 1);
    assert_eq!((hooks[0].events.clone(), hooks[0].content_type.as_str(), hooks[0].active, hooks[0].secret.as_deref()),
               (vec!["push".to_owned()], "json", true, Some(SECRET)));

    // A repository the token may only read (403), and one it cannot see (404).
    t.github.add_repo_reader("octo-org/locked", "octocat");
    for (name, repo, status) in [("locked", "octo-org/locked", "403"), ("hidden", "octo-org/hidden", "404")] {
        t.git.create_repo(repo).commit("first");
        let (id, _) = t.deploy_github(name, repo, "main").await;
        let view = t.app.project_eventually(id, "the webhook failed", |p| p["webhook"]["state"] == "failed").await;
        let message = view["webhook"]["message"].as_str().unwrap();
        assert!(message.contains("admin rights") && message.contains(repo) && message.contains(status), "{message}");
        assert!(t.github.hooks_of(repo).is_empty());
    }

    // The secret is in no event, no job log and no answer.
    let events: Vec<String> = sqlx::query_scalar("select payload::text || metadata::text from events").fetch_all(&t.app.db.pool).await.unwrap();
    assert!(events.iter().all(|e| !e.contains(SECRET) && !e.contains(TOKEN)));
    let logs: Vec<String> = sqlx::query_scalar("select line from job_logs").fetch_all(&t.app.db.pool).await.unwrap();
    assert!(logs.iter().any(|l| l.contains("push webhook")), "the jobs logged what they did");
    assert!(logs.iter().all(|l| !l.contains(SECRET) && !l.contains(TOKEN)));
    let listed = t.app.list_projects(&t.app.admin, &[]).await.text().await.unwrap();
    assert!(!listed.contains(SECRET));
}

#[tokio::test]
async fn without_a_public_url_no_webhook_is_created() {
    let t = Hooked::start(false).await;
    let put = t.app.put_settings(&t.app.admin, &json!({"public_url": null}), None).await;
    assert_eq!(put.status(), StatusCode::OK);
    t.git.create_repo("octo-org/shop").commit("first");
    let (project, _) = t.deploy_github("shop", "octo-org/shop", "main").await;
    // A later project whose webhook is created shows the consumer got past the first one.
    t.github.add_repo_admin("octo-org/blog", "octocat");
    t.git.create_repo("octo-org/blog").commit("first");
    let put = t.app.put_settings(&t.app.admin, &json!({"public_url": PUBLIC_URL}), None).await;
    assert_eq!(put.status(), StatusCode::OK);
    let (blog, _) = t.deploy_github("blog", "octo-org/blog", "main").await;
    t.app.project_eventually(blog, "the blog's webhook is active", |p| p["webhook"]["state"] == "active").await;
    let view = t.app.project_eventually(project, "read", |_| true).await;
    assert!(view["webhook"].is_null(), "{view}");
    assert!(t.github.hooks_of("octo-org/shop").is_empty());
}

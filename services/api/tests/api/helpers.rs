//! [`TestApp`]: the API, the relay and the projection consumers of one test, over a database
//! and a stream of its own, with one method per endpoint.

use std::time::Duration;

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::Value;
use uuid::Uuid;
use warp_consumer_kit::ConsumerOptions;
use warp_platform::redact::Redactor;
use warp_platform::secret_key::SecretKey;
use warp_platform::{NatsNames, NatsUser, Shutdown};
use warp_store::settings::SettingsStore;
use warp_relay::RelayArgs;
use warp_store::tokens::{self, Role};
use warp_test_support::{eventually, TestDb, TestNats};

/// How long the asynchronous parts (relay, projections) may take to catch up.
pub const CATCH_UP: Duration = Duration::from_secs(15);

/// Login tunables of every test app: org memberships are re-checked after 1 s, GitHub calls
/// give up after 2 s.
pub static LOGIN_OPTIONS: std::sync::LazyLock<warp_api::login::LoginOptions> = std::sync::LazyLock::new(|| {
    warp_api::login::LoginOptions {
        state_ttl: Duration::from_secs(600),
        recheck_every: Duration::from_secs(1),
        github_timeout: Duration::from_secs(2),
    }
});

/// An API token of the test: its id, owner and secret.
#[derive(Debug, Clone)]
pub struct Token {
    pub id: Uuid,
    pub login: String,
    pub secret: String,
}

/// What `Authorization` a raw request carries.
#[derive(Debug, Clone, Copy)]
pub enum Auth<'a> {
    None,
    Bearer(&'a str),
}

/// The whole API of one test. Dropping it stops every task it started.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub db: TestDb,
    pub admin: Token,
    pub member: Token,
    /// The master key the settings store was opened with.
    pub key: SecretKey,
    /// The redactor the settings store registers secrets with.
    pub redactor: Redactor,
    /// This test's NATS connection (the `test` user, for probes) and stream names.
    pub nats_client: async_nats::Client,
    /// Connections as the API's, the docker service's and the cloudflare service's NATS users
    /// (job runners in tests run as the docker service, whose runner they stand for).
    pub api_nats: async_nats::Client,
    pub docker_nats: async_nats::Client,
    pub cloudflare_nats: async_nats::Client,
    pub github_nats: async_nats::Client,
    pub names: NatsNames,
    /// This test's docker host name (unique, so only this test's docker service answers).
    pub docker_host: String,
    /// The API's settings store (same database and key).
    pub settings: SettingsStore,
    shutdown: Shutdown,
    /// Owns this test's stream: it is deleted when the app is dropped.
    _stream: TestNats,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl TestApp {
    /// An app on the shared NATS server.
    pub async fn spawn() -> Self {
        Self::spawn_with(TestNats::new().await, true).await
    }

    /// An app whose every NATS connection goes to `url` (e.g. a private `NatsServer`).
    pub async fn spawn_on_nats(url: &str) -> Self {
        Self::spawn_with(TestNats::at(url).await, true).await
    }

    /// An app with an in-process docker service on this machine's real Docker Engine.
    pub async fn spawn_with_docker() -> Self {
        let app = Self::spawn().await;
        app.start_docker_service("/var/run/docker.sock").await;
        app
    }

    /// Starts a docker service for this app's docker host on the engine at `socket`.
    pub async fn start_docker_service(&self, socket: &str) {
        let config = warp_docker::DockerConfig::new(&self.docker_host, socket);
        let service = warp_docker::DockerService::bind(self.docker_nats.clone(), config).await.expect("bind the docker service");
        tokio::spawn(service.run(self.shutdown.clone()));
        // The service subscribes on its own connection: NATS orders one connection's messages
        // only, so wait until a request from the API's connection gets an answer (any answer).
        let subject = warp_events::subjects::docker_request_subject(&self.docker_host, warp_events::subjects::DOCKER_HEALTH);
        eventually(CATCH_UP, "the docker service answers the API's connection", || async {
            self.api_nats.request(subject.clone(), "{}".into()).await.ok().map(|_| ())
        })
        .await;
    }

    /// Starts the docker service's job runner (deploy, stop, start, remove, quick service)
    /// and its event handlers for this app on the real engine, trusting `git_ca_file` for
    /// https remotes.
    pub fn start_deploy_runner(&self, git_ca_file: Option<std::path::PathBuf>) {
        self.spawn_deploy_runner(git_ca_file, self.shutdown.clone());
    }

    /// Like [`TestApp::start_deploy_runner`], stopped by `stop` (or by aborting the task, which
    /// is like killing the worker: no cleanup runs).
    pub fn spawn_deploy_runner(&self, git_ca_file: Option<std::path::PathBuf>, stop: Shutdown) -> tokio::task::JoinHandle<()> {
        let config = warp_docker::DockerConfig::new(&self.docker_host, "/var/run/docker.sock");
        let args = warp_docker::DockerJobArgs { git_ca_file, max_parallel_jobs: 2 };
        let mut jobs = warp_docker::JobsConfig::from_args(&config, &args);
        jobs.runner.poll_interval = Duration::from_millis(200);
        jobs.runner.cancel_poll = Duration::from_millis(100);
        jobs.runner.kill_grace = Duration::from_secs(3);
        jobs.runner.recovery_interval = Duration::from_millis(500);
        let (pool, nats, settings) = (self.db.pool.clone(), self.docker_nats.clone(), self.settings.clone());
        let names = self.names.clone();
        tokio::spawn(async move {
            if let Err(error) = warp_docker::run_jobs(pool, nats, names, settings, &config, jobs, stop).await {
                panic!("the deploy runner failed: {error:#}");
            }
        })
    }

    /// Starts only the docker service's event handlers (no job runs).
    pub fn start_docker_handlers(&self) {
        let (pool, nats, names, stop) = (self.db.pool.clone(), self.docker_nats.clone(), self.names.clone(), self.shutdown.clone());
        tokio::spawn(warp_docker::run_handlers(pool, nats, names, "test-handlers".into(), stop));
    }

    /// An app with neither the relay nor the read-model service: only what the API and the
    /// job runners write synchronously is there.
    pub async fn spawn_without_pipeline() -> Self {
        Self::spawn_full(TestNats::new().await, false, false).await
    }

    /// Starts the cloudflare service (consumer, sweeper, job runner) for this app; it asks the
    /// docker service of this app's docker host to restart a cloudflared container.
    pub fn start_cloudflare_service(&self) {
        let mut config = warp_cloudflare::CloudflareConfig::from_args(
            &warp_cloudflare::CloudflareArgs {
                cloudflare_max_attempts: 3,
                cloudflare_sweep_ms: 100,
                cloudflared_backups: 3,
                cloudflared_restart_timeout: 20,
                cloudflare_max_parallel_jobs: 4,
            },
            &self.docker_host,
        );
        config.retry.base_backoff = Duration::from_millis(50);
        config.runner.poll_interval = Duration::from_millis(100);
        let options = ConsumerOptions {
            base_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_millis(500),
            reconnect_delay: Duration::from_millis(100),
            ..ConsumerOptions::default()
        };
        let (pool, nats, names, settings, stop) =
            (self.db.pool.clone(), self.cloudflare_nats.clone(), self.names.clone(), self.settings.clone(), self.shutdown.clone());
        tokio::spawn(async move {
            if let Err(error) = warp_cloudflare::run(pool, nats, names, settings, config, options, stop).await {
                panic!("the cloudflare service failed: {error:#}");
            }
        });
    }

    /// Starts the github service (consumer, request service, job runner) for this app; git
    /// trusts `git_ca_file`, a new repository may take `clone_wait` to become clonable, and
    /// listings are cached for `list_cache_ttl`.
    pub async fn start_github_service(&self, git_ca_file: Option<std::path::PathBuf>, clone_wait: Duration, list_cache_ttl: Duration) {
        let mut config = warp_github::GithubConfig::from_args(&warp_github::GithubArgs {
            github_max_parallel_jobs: 2,
            github_clone_wait_seconds: clone_wait.as_secs(),
            github_list_cache_seconds: 0,
            github_api_timeout_seconds: 10,
            github_git_ca_file: git_ca_file,
        });
        config.list_cache_ttl = list_cache_ttl;
        config.runner.poll_interval = Duration::from_millis(100);
        config.runner.cancel_poll = Duration::from_millis(100);
        let options = ConsumerOptions {
            base_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_millis(500),
            reconnect_delay: Duration::from_millis(100),
            ..ConsumerOptions::default()
        };
        let (pool, nats, names, settings, stop) =
            (self.db.pool.clone(), self.github_nats.clone(), self.names.clone(), self.settings.clone(), self.shutdown.clone());
        tokio::spawn(async move {
            if let Err(error) = warp_github::run(pool, nats, names, settings, config, options, stop).await {
                panic!("the github service failed: {error:#}");
            }
        });
        // It subscribes on its own connection: wait until the API's connection reaches it.
        let subject = warp_events::subjects::github_request_subject(&self.names.stream, "ping");
        eventually(CATCH_UP, "the github service answers the API's connection", || async {
            self.api_nats.request(subject.clone(), "{}".into()).await.ok().map(|_| ())
        })
        .await;
    }

    /// `POST /api/projects/from-template`.
    pub async fn create_from_template(&self, token: &Token, body: &Value) -> Response {
        self.post(token, "/api/projects/from-template", body).await
    }

    /// `GET /api/github/repos` with `query`.
    pub async fn github_repos(&self, token: &Token, query: &[(&str, &str)]) -> Response {
        self.client.get(format!("{}/api/github/repos", self.address)).bearer_auth(&token.secret).query(query).send().await.unwrap()
    }

    /// An app whose read models never catch up (no projection consumers run).
    pub async fn spawn_without_projections() -> Self {
        Self::spawn_with(TestNats::new().await, false).await
    }

    async fn spawn_with(nats: TestNats, projections: bool) -> Self {
        Self::spawn_full(nats, true, projections).await
    }

    async fn spawn_full(nats: TestNats, relay: bool, projections: bool) -> Self {
        let db = TestDb::new().await;
        nats.apply_definitions().await;
        let shutdown = Shutdown::new();

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the api");
        let api_port = listener.local_addr().unwrap().port();
        let address = format!("http://{}", listener.local_addr().unwrap());
        let key = SecretKey::generate();
        let redactor = Redactor::default();
        let settings = SettingsStore::open(db.pool.clone(), &key, redactor.clone()).await.expect("open the settings store");
        let docker_host = format!("t{}", Uuid::new_v4().simple());
        // Every service connects as its own NATS user, as in production.
        let api_nats = nats.connect_as(NatsUser::Api).await;
        let docker_nats = nats.connect_as(NatsUser::Docker).await;
        let cloudflare_nats = nats.connect_as(NatsUser::Cloudflare).await;
        let github_nats = nats.connect_as(NatsUser::Github).await;
        let state = warp_api::AppState::new(db.pool.clone(), api_nats.clone(), nats.names.clone(), settings.clone())
            .with_docker_host(docker_host.clone())
            .with_panel_ports([api_port])
            .with_login_options(LOGIN_OPTIONS.clone());
        let (nats_client, test_names) = (nats.client.clone(), nats.names.clone());
        tokio::spawn(warp_api::serve_on(state, listener, shutdown.clone()));

        if relay {
            let relay = RelayArgs { batch_size: 64, poll_ms: 50 };
            let (pool, client, names, stop) = (db.pool.clone(), nats.connect_as(NatsUser::Relay).await, nats.names.clone(), shutdown.clone());
            tokio::spawn(async move { warp_relay::run(pool, client, names, &relay, stop).await });
        }

        let options = ConsumerOptions {
            base_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_millis(500),
            reconnect_delay: Duration::from_millis(100),
            ..ConsumerOptions::default()
        };
        let (pool, client, names) = (db.pool.clone(), nats.connect_as(NatsUser::ReadModels).await, nats.names.clone());
        if projections {
            tokio::spawn(warp_read_models::run(pool, client, names, options, shutdown.clone()));
        }

        let admin = create_token(&db, "alice-admin", Role::Admin).await;
        let member = create_token(&db, "bob-member", Role::Member).await;
        let client = reqwest::Client::builder().connect_timeout(Duration::from_secs(5)).build().unwrap();
        Self {
            address,
            client,
            db,
            admin,
            member,
            key,
            redactor,
            nats_client,
            api_nats,
            docker_nats,
            cloudflare_nats,
            github_nats,
            names: test_names,
            docker_host,
            settings,
            shutdown,
            _stream: nats,
        }
    }

    /// The token that stops every task of this app (for in-process workers).
    pub fn shutdown(&self) -> Shutdown {
        self.shutdown.clone()
    }

    /// A further token for `login`.
    pub async fn new_token(&self, login: &str, role: Role) -> Token {
        create_token(&self.db, login, role).await
    }

    /// Any request, for tests that walk the route table.
    pub async fn request(&self, method: Method, path: &str, auth: Auth<'_>) -> Response {
        let builder = self.client.request(method, format!("{}{path}", self.address));
        let builder = match auth {
            Auth::None => builder,
            Auth::Bearer(secret) => builder.bearer_auth(secret),
        };
        builder.send().await.expect("send the request")
    }

    fn call(&self, method: Method, path: &str, token: &Token) -> RequestBuilder {
        self.client.request(method, format!("{}{path}", self.address)).bearer_auth(&token.secret)
    }

    // --- /api/projects -------------------------------------------------------------------

    pub async fn create_project(&self, token: &Token, body: &Value) -> Response {
        self.create_project_with_headers(token, body, &[]).await
    }

    /// `POST /api/projects` with extra headers (`x-request-id`, `x-correlation-id`).
    pub async fn create_project_with_headers(&self, token: &Token, body: &Value, headers: &[(&str, &str)]) -> Response {
        let mut request = self.call(Method::POST, "/api/projects", token).json(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.unwrap()
    }

    /// `POST /api/projects` with `body` sent as is, as JSON.
    pub async fn create_project_raw(&self, token: &Token, body: &str) -> Response {
        let request = self.call(Method::POST, "/api/projects", token);
        request.header("content-type", "application/json").body(body.to_owned()).send().await.unwrap()
    }

    pub async fn list_projects(&self, token: &Token, query: &[(&str, &str)]) -> Response {
        self.call(Method::GET, "/api/projects", token).query(query).send().await.unwrap()
    }

    /// `GET /api/projects/{id}`; `id` is a string so tests can send a malformed one.
    pub async fn get_project(&self, token: &Token, id: &str) -> Response {
        self.call(Method::GET, &format!("/api/projects/{id}"), token).send().await.unwrap()
    }

    pub async fn update_project(&self, token: &Token, id: &str, body: &Value, if_match: Option<&str>) -> Response {
        let mut request = self.call(Method::PATCH, &format!("/api/projects/{id}"), token).json(body);
        if let Some(version) = if_match {
            request = request.header("if-match", version);
        }
        request.send().await.unwrap()
    }

    pub async fn archive_project(&self, token: &Token, id: &str) -> Response {
        self.call(Method::POST, &format!("/api/projects/{id}/archive"), token).send().await.unwrap()
    }

    // --- /api/audit, /api/events, operations ---------------------------------------------

    pub async fn deploy_existing(&self, token: &Token, body: &Value) -> Response {
        self.post(token, "/api/projects/deploy-existing", body).await
    }

    pub async fn quick_service(&self, token: &Token, body: &Value) -> Response {
        self.post(token, "/api/projects/quick-service", body).await
    }

    /// `POST /api/projects/{id}/<action>` (`deploy`, `stop`, `start`, `remove`) with `body`.
    pub async fn project_action(&self, token: &Token, id: Uuid, action: &str, body: Option<&Value>) -> Response {
        let builder = self.client.post(format!("{}/api/projects/{id}/{action}", self.address)).bearer_auth(&token.secret);
        let builder = match body {
            Some(body) => builder.json(body),
            None => builder,
        };
        builder.send().await.expect("send")
    }

    pub async fn get_job(&self, token: &Token, id: &str) -> Response {
        self.client.get(format!("{}/api/jobs/{id}", self.address)).bearer_auth(&token.secret).send().await.expect("send")
    }

    pub async fn cancel_job(&self, token: &Token, id: &str) -> Response {
        self.client.post(format!("{}/api/jobs/{id}/cancel", self.address)).bearer_auth(&token.secret).send().await.expect("send")
    }

    /// The job's stored log lines as text, one per line (every page).
    pub async fn job_log_text(&self, token: &Token, id: &str) -> String {
        let mut text = Vec::new();
        let mut after = 0i64;
        loop {
            let response = self
                .client
                .get(format!("{}/api/jobs/{id}/logs?after={after}&limit=500", self.address))
                .bearer_auth(&token.secret)
                .send()
                .await
                .expect("send");
            let body: Value = response.json().await.expect("json log page");
            let lines = body.get("lines").and_then(Value::as_array).cloned().unwrap_or_default();
            if lines.is_empty() {
                return text.join("\n");
            }
            text.extend(lines.iter().filter_map(|l| l.get("line").and_then(Value::as_str).map(str::to_owned)));
            after = body.get("next_after").and_then(Value::as_i64).unwrap_or(after + lines.len() as i64);
        }
    }

    /// Waits (up to `within`) until job `id` ended; returns it.
    pub async fn job_finished(&self, id: &str, within: Duration) -> Value {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let job: Value = self.get_job(&self.admin, id).await.json().await.unwrap_or_default();
            let status = job.get("status").and_then(Value::as_str).unwrap_or_default();
            if matches!(status, "succeeded" | "failed" | "cancelled" | "timed_out") {
                return job;
            }
            if tokio::time::Instant::now() > deadline {
                let log = self.job_log_text(&self.admin, id).await;
                panic!("job {id} did not finish within {within:?} (status {status:?}); log:\n{log}");
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    async fn post(&self, token: &Token, path: &str, body: &Value) -> Response {
        self.client.post(format!("{}{path}", self.address)).bearer_auth(&token.secret).json(body).send().await.expect("send")
    }

    pub async fn list_audit(&self, token: &Token, query: &[(&str, &str)]) -> Response {
        self.call(Method::GET, "/api/audit", token).query(query).send().await.unwrap()
    }

    pub async fn rebuild_audit(&self, token: &Token) -> Response {
        self.call(Method::POST, "/api/admin/audit/rebuild", token).send().await.unwrap()
    }

    pub async fn list_events(&self, token: &Token, after: i64) -> Response {
        self.call(Method::GET, "/api/events", token).query(&[("after", after)]).send().await.unwrap()
    }

    /// `GET /api/events/stream`, optionally resuming after `last_event_id`; the body streams.
    pub async fn events_stream(&self, token: &Token, last_event_id: Option<&str>) -> Response {
        let mut request = self.call(Method::GET, "/api/events/stream", token).header("accept", "text/event-stream");
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        request.send().await.unwrap()
    }

    pub async fn list_dead_letters(&self, token: &Token) -> Response {
        self.call(Method::GET, "/api/dead-letters", token).send().await.unwrap()
    }

    pub async fn list_tokens(&self, token: &Token) -> Response {
        self.call(Method::GET, "/api/tokens", token).send().await.unwrap()
    }

    pub async fn revoke_token(&self, token: &Token, id: Uuid) -> Response {
        self.call(Method::DELETE, &format!("/api/tokens/{id}"), token).send().await.unwrap()
    }

    // --- /api/settings -----------------------------------------------------------------------

    pub async fn get_settings(&self, token: &Token) -> Response {
        self.call(Method::GET, "/api/settings", token).send().await.unwrap()
    }

    pub async fn put_settings(&self, token: &Token, body: &Value, if_match: Option<&str>) -> Response {
        let mut request = self.call(Method::PUT, "/api/settings", token).json(body);
        if let Some(version) = if_match {
            request = request.header("if-match", version);
        }
        request.send().await.unwrap()
    }

    /// A second API over the same database (a restart), with `key`; its address, or the error
    /// the settings store gave when opening.
    pub async fn spawn_api_again(&self, key: &SecretKey) -> anyhow::Result<String> {
        let settings = SettingsStore::open(self.db.pool.clone(), key, Redactor::default()).await?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = format!("http://{}", listener.local_addr()?);
        let state = warp_api::AppState::new(self.db.pool.clone(), self.api_nats.clone(), self.names.clone(), settings);
        tokio::spawn(warp_api::serve_on(state, listener, self.shutdown.clone()));
        Ok(address)
    }

    /// `PUT /api/projects/{id}/route`.
    pub async fn put_route(&self, token: &Token, id: Uuid, body: &Value) -> Response {
        self.call(Method::PUT, &format!("/api/projects/{id}/route"), token).json(body).send().await.unwrap()
    }

    /// `DELETE /api/projects/{id}/route`.
    pub async fn delete_route(&self, token: &Token, id: Uuid) -> Response {
        self.call(Method::DELETE, &format!("/api/projects/{id}/route"), token).send().await.unwrap()
    }

    /// `GET /api/tunnel/status`, `GET /api/tunnel/config-preview`.
    pub async fn tunnel(&self, token: &Token, what: &str) -> Response {
        self.call(Method::GET, &format!("/api/tunnel/{what}"), token).send().await.unwrap()
    }

    /// `GET /health/tunnel`.
    pub async fn tunnel_health(&self) -> Response {
        self.client.get(format!("{}/health/tunnel", self.address)).send().await.unwrap()
    }

    pub async fn healthz(&self) -> Response {
        self.client.get(format!("{}/healthz", self.address)).send().await.unwrap()
    }

    // --- shortcuts -----------------------------------------------------------------------

    /// Creates a project named `name` as the admin and returns its id (asserting 201).
    pub async fn create_named(&self, name: &str) -> Uuid {
        let response = self.create_project(&self.admin, &serde_json::json!({ "name": name })).await;
        assert_eq!(response.status(), StatusCode::CREATED, "creating {name:?}");
        let body: Value = response.json().await.unwrap();
        body["id"].as_str().unwrap().parse().unwrap()
    }

    /// The project as `GET /api/projects/{id}` shows it once `ready` holds for it.
    pub async fn project_eventually(&self, id: Uuid, what: &str, ready: impl Fn(&Value) -> bool) -> Value {
        eventually(CATCH_UP, what, || async {
            let response = self.get_project(&self.admin, &id.to_string()).await;
            if response.status() != StatusCode::OK {
                return None;
            }
            let body: Value = response.json().await.ok()?;
            ready(&body).then_some(body)
        })
        .await
    }

    /// `GET /api/audit` items for `query` once there are exactly `count`.
    pub async fn audit_eventually(&self, query: &[(&str, &str)], count: usize) -> Vec<Value> {
        eventually(CATCH_UP, &format!("the audit trail holds {count} rows for {query:?}"), || async {
            let body: Value = self.list_audit(&self.admin, query).await.json().await.ok()?;
            let items = body["items"].as_array()?.clone();
            (items.len() == count).then_some(items)
        })
        .await
    }

    /// Rows of the `events` table, optionally of one aggregate.
    pub async fn stored_events(&self, aggregate_id: Option<Uuid>) -> Vec<(String, Value)> {
        sqlx::query_as(
            "select event_type, metadata::jsonb from events
              where $1::text is null or aggregate_id = $1 order by global_position",
        )
        .bind(aggregate_id.map(|id| id.to_string()))
        .fetch_all(&self.db.pool)
        .await
        .unwrap()
    }
}

/// The body of `GET /api/events?after=0` once it lists at least `count` events.
pub async fn eventually_events(app: &TestApp, count: usize) -> String {
    eventually(CATCH_UP, &format!("/api/events lists {count} events"), || async {
        let text = app.list_events(&app.admin, 0).await.text().await.ok()?;
        let body: Value = serde_json::from_str(&text).ok()?;
        (body["events"].as_array()?.len() >= count).then_some(text)
    })
    .await
}

async fn create_token(db: &TestDb, login: &str, role: Role) -> Token {
    let (info, secret) = tokens::create(&db.pool, login, "test", role).await.expect("create a token");
    Token { id: info.id, login: info.login, secret }
}

/// Asserts `response` is the JSON error body with `status` and `code`; returns `error`.
pub async fn assert_error(response: Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(response.status(), status, "status of {}", response.url());
    let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    assert!(content_type.starts_with("application/json"), "error content type was {content_type:?}");
    let body: Value = response.json().await.expect("a JSON error body");
    let error = &body["error"];
    assert_eq!(error["code"], code, "error body {body}");
    assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()), "error body {body} has a message");
    error.clone()
}

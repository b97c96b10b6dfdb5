//! The docker service: the only process that talks to a Docker Engine. It follows the shape
//! every reacting service has (docs/ARCHITECTURE.md, "The shape of a service"):
//!
//! # Layout
//! - [`config`]: its settings (`WARP_DOCKER_HOST_NAME`, `DOCKER_HOST`, job options),
//!   [`DockerConfig`].
//! - [`client`]: [`client::DockerClient`], bollard over the unix socket with API version
//!   negotiation (the engine may be older than bollard's default API); [`compose`]: which
//!   compose front end exists (`docker compose` v2 or `docker-compose` v1).
//! - [`handlers`]: one file per event it reacts to (consumer `docker-jobs`): queue a requested
//!   job, record the end of a job whose worker could not.
//! - [`jobs`]: one file per job type it runs (`deploy`, `stop`, `start`, `remove`,
//!   `quick_service`), each an executor with its own input, and the steps they share.
//! - [`requests`]: one file per NATS request-reply action (`containers`, `health`, `ports`,
//!   `logs.open`, `logs.keepalive`, `logs.close`, and for the cloudflare service's cloudflared
//!   `restart_container`, `container_info`, `connect_network`): the API never opens the Docker socket; it
//!   asks on `warp.docker.<host>.<action>` and relays the log lines published on
//!   `warp.logs.container.<container_id>.<session_id>` (see docs/ARCHITECTURE.md, "Docker
//!   service"). [`ports`]: who holds a host port; [`sessions`], [`follow`], [`frames`]: log
//!   sessions, their streams, Docker's log frames as whole lines.
//! - [`run`]: the request-reply service; [`run_jobs`]: the job runner and the consumer (needs
//!   the database). One process serves one Docker host; `<host>` is `WARP_DOCKER_HOST_NAME`.

pub mod client;
pub mod compose;
pub mod config;
pub mod jobs;
pub mod follow;
pub mod frames;
pub mod handlers;
pub mod ports;
pub mod requests;
pub mod sessions;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use futures::StreamExt;
use warp_events::subjects;
use warp_platform::Shutdown;

pub use config::{DockerArgs, DockerConfig, DockerHostArgs, DockerJobArgs, DockerSocketArgs};

/// What every request action can reach.
pub struct Context {
    pub config: DockerConfig,
    pub nats: async_nats::Client,
    pub client: client::DockerClient,
    /// The compose front end (detected again while none is found).
    pub compose: Arc<compose::Compose>,
    pub sessions: sessions::Sessions,
    /// Parent of every session's cancellation token.
    pub shutdown: tokio_util::sync::CancellationToken,
}

/// A docker service subscribed to its request subjects and ready to answer.
pub struct DockerService {
    ctx: Arc<Context>,
    requests: async_nats::Subscriber,
}

impl DockerService {
    /// Detects the compose front end, subscribes to `warp.docker.<host>.>` and waits until
    /// the NATS server has the subscription. The engine is reached lazily: an engine that is
    /// down now is reported by `health` and retried on each request.
    pub async fn bind(nats: async_nats::Client, config: DockerConfig) -> anyhow::Result<Self> {
        let compose = Arc::new(compose::Compose::detect_now().await);
        let subject = subjects::docker_requests_wildcard(&config.host_name);
        let requests = nats.subscribe(subject.clone()).await.with_context(|| format!("subscribing to {subject}"))?;
        nats.flush().await.context("flushing the docker subscription")?;
        let client = client::DockerClient::new(&config.socket);
        if let Err(failure) = client.engine().await {
            tracing::warn!(reason = %failure.message, "docker engine not reachable yet");
        }
        let sessions = sessions::Sessions::new(config.session_idle);
        let shutdown = tokio_util::sync::CancellationToken::new();
        let ctx = Context { config, nats, client, compose, sessions, shutdown };
        tracing::info!(docker.host = %ctx.config.host_name, subject = %subject, "docker service listening");
        Ok(Self { ctx: Arc::new(ctx), requests })
    }

    /// Answers requests until `shutdown`, then stops every log session.
    pub async fn run(mut self, shutdown: Shutdown) -> anyhow::Result<()> {
        let prefix = format!("{}.{}.", subjects::DOCKER_REQUEST_PREFIX, subjects::token(&self.ctx.config.host_name));
        let mut reap = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = reap.tick() => { self.ctx.sessions.reap(); }
                message = self.requests.next() => {
                    let Some(message) = message else { anyhow::bail!("the NATS subscription of the docker service ended") };
                    let Some(reply_to) = message.reply.clone() else { continue };
                    let action = message.subject.as_str().strip_prefix(&prefix).unwrap_or_default().to_owned();
                    let ctx = self.ctx.clone();
                    tokio::spawn(async move {
                        let reply = requests::dispatch(&ctx, &action, &message.payload).await;
                        if let Err(error) = ctx.nats.publish(reply_to, reply.into()).await {
                            tracing::warn!(error = %error, action = %action, "replying to a docker request failed");
                        }
                    });
                }
            }
        }
        self.ctx.shutdown.cancel();
        Ok(())
    }
}

/// Binds and runs the docker service until `shutdown`.
pub async fn run(nats: async_nats::Client, config: DockerConfig, shutdown: Shutdown) -> anyhow::Result<()> {
    DockerService::bind(nats, config).await?.run(shutdown).await
}

/// What the job runner of a docker service needs beyond [`DockerConfig`].
pub struct JobsConfig {
    /// Git options of deploys (e.g. a CA file for an https remote with a private CA).
    pub git: jobs::steps::git::GitOptions,
    /// Runner settings; `worker` defaults to `docker@<host>:<pid>`.
    pub runner: warp_jobs::RunnerConfig,
}

impl JobsConfig {
    /// The job settings `args` select for the docker host `config` serves.
    pub fn from_args(config: &DockerConfig, args: &DockerJobArgs) -> Self {
        let runner = warp_jobs::RunnerConfig {
            worker: format!("docker@{}:{}", config.host_name, std::process::id()),
            max_parallel: args.max_parallel_jobs.max(1),
            ..Default::default()
        };
        Self { git: jobs::steps::git::GitOptions { ca_file: args.git_ca_file.clone() }, runner }
    }
}

/// Runs this Docker host's jobs (deploy, stop, start, remove, quick service) and its event
/// handlers (consumer `docker-jobs`) until `shutdown`. Needs the database (jobs, events, deploy
/// env) and the opened settings store (workspaces root; its redactor masks deploy env values in
/// every log line). Jobs start as soon as they are queued: the runner reads the `jobs` read
/// model, which the database keeps in the appending transaction; the handlers need the relay.
pub async fn run_jobs(
    pool: sqlx::PgPool,
    nats: async_nats::Client,
    names: warp_platform::NatsNames,
    settings: warp_store::settings::SettingsStore,
    config: &DockerConfig,
    jobs: JobsConfig,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let env = warp_store::deploy_env::DeployEnvStore::new(pool.clone(), settings.keyring().clone());
    let masked = env.register_all(settings.redactor()).await?;
    tracing::info!(deploy_env.values = masked, "deploy env values registered with the redactor");
    let services = Arc::new(jobs::DeployServices {
        pool: pool.clone(),
        env,
        projects: warp_store::event_store::project_cqrs(pool.clone()),
        docker: Arc::new(client::DockerClient::new(&config.socket)),
        compose: Arc::new(compose::Compose::detect_now().await),
        git: jobs.git,
        worker: jobs.runner.worker.clone(),
        settings: settings.clone(),
    });
    let worker = jobs.runner.worker.clone();
    let runner = Arc::new(services.register(warp_jobs::Runner::new(pool.clone(), nats.clone(), settings.redactor().clone(), jobs.runner)));
    let (r, h) = tokio::join!(runner.run(shutdown.clone()), run_handlers(pool, nats, names, worker, shutdown));
    r.and(h)
}

/// Runs the docker service's event handlers ([`handlers`], consumer `docker-jobs`) until
/// `shutdown`, issuing follow-up commands as `system:<worker>`. Part of [`run_jobs`].
pub async fn run_handlers(
    pool: sqlx::PgPool,
    nats: async_nats::Client,
    names: warp_platform::NatsNames,
    worker: String,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let reactions = handlers::Reactions {
        pool: pool.clone(),
        projects: warp_store::event_store::project_cqrs(pool.clone()),
        jobs: warp_store::event_store::job_cqrs(pool.clone()),
        worker,
    };
    let config = warp_platform::nats::consumer_config("docker-jobs", &names)?;
    let js = async_nats::jetstream::new(nats);
    let options = warp_consumer_kit::ConsumerOptions::default();
    warp_consumer_kit::Consumer::new(pool, js, names, config, reactions, options)?.run(shutdown).await
}

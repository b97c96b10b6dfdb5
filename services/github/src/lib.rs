//! The github service: the only process that talks to the GitHub API. It creates projects'
//! repositories from allowlisted templates, clones them into the projects' workspaces, and
//! lists the repositories the panel's token can see for the API. It follows the shape every
//! reacting service has (docs/ARCHITECTURE.md, "The shape of a service that reacts").
//!
//! # Layout
//! - [`config`]: process settings ([`GithubArgs`], [`GithubConfig`]).
//! - [`client`]: [`client::GithubApi`], the GitHub REST calls the panel makes, and its
//!   octocrab implementation (rate-limit headers read, typed errors, the token never in one).
//! - [`handlers`]: consumer `github`, one file per event it reacts to.
//! - [`jobs`]: one file per job type it runs, each an executor with its own input.
//! - [`requests`]: one file per NATS request-reply action (`warp.github.<action>`): the API
//!   never calls GitHub itself.
//! - [`run`]: the consumer, the request service and the job runner until shutdown.

pub mod client;
pub mod config;
pub mod handlers;
pub mod jobs;
pub mod requests;

use std::sync::Arc;

use secrecy::SecretString;
use sqlx::PgPool;
use uuid::Uuid;
use warp_consumer_kit::{Consumer, ConsumerOptions};
use warp_domain::{Project, ProjectCommand};
use warp_events::settings::SecretName;
use warp_events::EventMetadata;
use warp_jobs::{JobContext, JobFailure};
use warp_platform::{nats, NatsNames, Shutdown};
use warp_store::event_store::{self, JobCqrs, ProjectCqrs};
use warp_store::settings::{CurrentSettings, SettingsStore};

pub use config::{GithubArgs, GithubConfig};

use crate::client::{GithubApi, GithubClient};

/// What the handlers, jobs and requests reach.
pub struct Services {
    pub pool: PgPool,
    pub settings: SettingsStore,
    pub projects: ProjectCqrs,
    pub jobs: JobCqrs,
    pub config: GithubConfig,
    /// Repository listings by API URL and token fingerprint ([`requests::repos`]).
    pub repo_cache: std::sync::Mutex<std::collections::HashMap<String, requests::repos::CachedList>>,
}

impl Services {
    /// The services over `pool`.
    pub fn new(pool: PgPool, settings: SettingsStore, config: GithubConfig) -> Self {
        let projects = event_store::project_cqrs(pool.clone());
        let jobs = event_store::job_cqrs(pool.clone());
        Self { pool, settings, projects, jobs, config, repo_cache: Default::default() }
    }

    /// The settings as they are now.
    pub async fn current(&self) -> Result<CurrentSettings, String> {
        self.settings.load().await.map_err(|e| format!("reading the settings: {e:#}"))
    }

    /// The API client for the settings `current`, or why there is none (no token).
    pub fn api(&self, current: &CurrentSettings) -> Result<Arc<dyn GithubApi>, String> {
        let token = token(current).ok_or("set github_token in the settings")?;
        let client = GithubClient::new(&current.values.github_api_url, &token, self.config.api_timeout).map_err(|e| e.to_string())?;
        Ok(Arc::new(client))
    }

    /// The project as its events say now.
    pub async fn project(&self, id: Uuid) -> Result<Project, JobFailure> {
        warp_jobs::project::load_project(&self.pool, id).await
    }

    /// Records `command` on project `id` for `job`.
    pub async fn record(&self, job: &JobContext, id: Uuid, command: ProjectCommand) -> Result<(), JobFailure> {
        let metadata = EventMetadata::for_job(&self.config.runner.worker, job.job_id);
        event_store::execute_project(&self.projects, id, command, &metadata).await.map_err(|error| {
            tracing::warn!(project.id = %id, job.id = %job.job_id, error = %error, "recording a repository outcome failed");
            JobFailure::failed(format!("recording the outcome on the project failed: {error}"))
        })
    }
}

/// The panel's GitHub token, when one is set.
pub fn token(current: &CurrentSettings) -> Option<SecretString> {
    current.secrets.get(&SecretName::GithubToken).map(|s| s.value.clone())
}

/// Runs consumer `github`, the request service (`warp.github.>`) and the job runner of
/// `create_from_template` until `shutdown`.
pub async fn run(
    pool: PgPool,
    client: async_nats::Client,
    names: NatsNames,
    settings: SettingsStore,
    config: GithubConfig,
    options: ConsumerOptions,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    // The relay creates the stream; the consumer kit creates the `github` consumer when it
    // subscribes (this service's NATS user may manage nothing else).
    let js = async_nats::jetstream::new(client.clone());
    let runner_config = config.runner.clone();
    let svc = Arc::new(Services::new(pool.clone(), settings.clone(), config));
    let consumer_config = nats::consumer_config("github", &names)?;
    let consumer = Consumer::new(pool.clone(), js, names, consumer_config, handlers::GithubHandler(svc.clone()), options)?;
    let runner = warp_jobs::Runner::new(pool, client.clone(), settings.redactor().clone(), runner_config);
    let runner = Arc::new(jobs::register(svc.clone(), runner));
    tracing::info!("github service running");
    let (c, q, r) = tokio::join!(consumer.run(shutdown.clone()), requests::serve(svc, client, shutdown.clone()), runner.run(shutdown));
    c.and(q).and(r)
}

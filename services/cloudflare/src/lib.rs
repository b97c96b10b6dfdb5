//! The cloudflare service: publishes each project at `<subdomain>.<base domain>` through the
//! Cloudflare Tunnel, safely. A mistake here takes every site behind the tunnel offline, so
//! every change is validated, atomic, serialised, reversible and a job with a live log.
//!
//! # Layout
//! - [`config`]: process settings ([`CloudflareArgs`], [`CloudflareConfig`]), retry policy.
//! - [`client`]: [`client::CloudflareApi`], the Cloudflare API the panel uses, and its
//!   reqwest implementation with bounded retries and typed errors.
//! - [`tunnel`]: what the runtime settings say (base domain, zone, tunnel, mode, restart).
//! - [`ingress`]: cloudflared's ingress rules, their validation, and the panel's edits
//!   (foreign rules untouched and in order, exactly one catch-all, last).
//! - [`local_config`]: the local `config.yml` model and its atomic, backed-up writes;
//!   [`restart`]: restarting cloudflared and checking it came back.
//! - [`writer`]: the one serialised writer of the ingress (remote or local).
//! - [`dns`]: the route's DNS record; [`docker`]: requests to the docker service
//!   (cloudflared's container, a routed service's network).
//! - [`handlers`]: consumer `cloudflare`, one file per project event it reacts to.
//! - [`jobs`]: `publish_route` and `unpublish_route`, one file each.
//! - [`sweeper`]: queues unpublishes whose grace period is over.
//! - [`status`]: the read side (`/api/tunnel/status`, `/api/tunnel/config-preview`,
//!   `/health/tunnel`); [`requests`]: the API asks for it over NATS request-reply.
//! - [`run`]: the consumer, the sweeper, the request responder and the job runner until
//!   shutdown.

pub mod client;
pub mod config;
pub mod dns;
pub mod docker;
pub mod handlers;
pub mod ingress;
pub mod jobs;
pub mod local_config;
pub mod requests;
pub mod restart;
pub mod status;
pub mod sweeper;
pub mod tunnel;
pub mod writer;

use std::sync::Arc;

use sqlx::PgPool;
use uuid::Uuid;
use warp_consumer_kit::{Consumer, ConsumerOptions};
use warp_domain::{Project, ProjectCommand};
use warp_events::EventMetadata;
use warp_jobs::{JobContext, JobFailure};
use warp_platform::{nats, NatsNames, Shutdown};
use warp_store::event_store::{self, JobCqrs, ProjectCqrs};
use warp_store::settings::SettingsStore;

pub use config::{CloudflareArgs, CloudflareConfig};

use crate::client::CloudflareApi;
use crate::tunnel::TunnelSettings;

/// What the handlers, jobs and sweeper reach.
pub struct Services {
    pub pool: PgPool,
    pub settings: SettingsStore,
    pub projects: ProjectCqrs,
    pub jobs: JobCqrs,
    /// For requests to the docker service (restarting a cloudflared container).
    pub nats: async_nats::Client,
    pub config: CloudflareConfig,
}

impl Services {
    /// The services over `pool` and `nats`.
    pub fn new(pool: PgPool, nats: async_nats::Client, settings: SettingsStore, config: CloudflareConfig) -> Self {
        let projects = event_store::project_cqrs(pool.clone());
        let jobs = event_store::job_cqrs(pool.clone());
        Self { pool, settings, projects, jobs, nats, config }
    }

    /// The tunnel settings and the API client, from the settings as they are now.
    pub async fn tunnel(&self) -> Result<(TunnelSettings, Arc<dyn CloudflareApi>), String> {
        let current = self.settings.load().await.map_err(|e| format!("reading the settings: {e:#}"))?;
        let settings = TunnelSettings::from_current(&current)?;
        let api = tunnel::api(&current, &self.config.retry)?;
        Ok((settings, api))
    }

    /// The project as its events say now.
    async fn project(&self, id: Uuid) -> Result<Project, JobFailure> {
        warp_jobs::project::load_project(&self.pool, id).await
    }

    /// Records `command` on project `id` for `job`.
    async fn record(&self, job: &JobContext, id: Uuid, command: ProjectCommand) -> Result<(), JobFailure> {
        let metadata = EventMetadata::for_job(&self.config.runner.worker, job.job_id);
        event_store::execute_project(&self.projects, id, command, &metadata).await.map_err(|error| {
            tracing::warn!(project.id = %id, job.id = %job.job_id, error = %error, "recording a route outcome failed");
            JobFailure::failed(format!("recording the outcome on the project failed: {error}"))
        })
    }
}

/// Runs consumer `cloudflare`, the unpublish sweeper, the tunnel read requests
/// ([`requests`]) and the job runner of `publish_route` and `unpublish_route` until
/// `shutdown`.
pub async fn run(
    pool: PgPool,
    client: async_nats::Client,
    names: NatsNames,
    settings: SettingsStore,
    config: CloudflareConfig,
    options: ConsumerOptions,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    // The relay creates the stream; the consumer kit creates the `cloudflare` consumer when it
    // subscribes (this service's NATS user may manage nothing else).
    let js = async_nats::jetstream::new(client.clone());
    let requests = requests::bind(&client, &names.stream).await?;
    let runner_config = config.runner.clone();
    let svc = Arc::new(Services::new(pool.clone(), client.clone(), settings.clone(), config));
    let config = nats::consumer_config("cloudflare", &names)?;
    let consumer = Consumer::new(
        pool.clone(),
        js,
        names,
        config,
        handlers::CloudflareHandler(svc.clone()),
        options,
    )?;
    let runner = warp_jobs::Runner::new(pool, client, settings.redactor().clone(), runner_config);
    let runner = Arc::new(jobs::register(svc.clone(), runner));
    tracing::info!("cloudflare service running");
    let (c, s, q, r) = tokio::join!(
        consumer.run(shutdown.clone()),
        sweeper::run(svc.clone(), shutdown.clone()),
        requests::serve(svc, requests, shutdown.clone()),
        runner.run(shutdown)
    );
    c.and(s).and(q).and(r)
}

//! The docker service's jobs: one file per job type, each an executor with its own input.
//!
//! # Layout
//! - [`DeployServices`]: what every executor reaches (database, settings, deploy env, the
//!   `Project` command bus, the engine, the compose front end, git options).
//! - [`deploy`] (`DeployInput`): fetch the source, find the compose file, check ports,
//!   `up --build -d`, wait until running and healthy, record the result; roll back to the last
//!   good revision when a redeploy fails after replacing containers.
//! - [`stop`], [`start`], [`remove`] (`StopInput`, `StartInput`, `RemoveInput`): `compose
//!   stop`, `start`, `down [--volumes]`, through [`steps::lifecycle`].
//! - [`quick_service`] (`QuickServiceInput`): a running container or host port that answers,
//!   then its route.
//! - [`steps`]: the steps they are made of, starting with [`steps::ComposeProject`] (settings →
//!   workspace → deploy env, in one place).
//!
//! Each executor reads what to do from the `Project` aggregate (replayed from the event
//! store) and reports the outcome as a follow-up command on it.

pub mod deploy;
pub mod quick_service;
pub mod remove;
pub mod start;
pub mod steps;
pub mod stop;

use std::collections::BTreeMap;
use std::sync::Arc;

use secrecy::{ExposeSecret as _, SecretString};
use sqlx::PgPool;
use uuid::Uuid;
use warp_domain::{Project, ProjectCommand};
use warp_events::docker::ComposeFrontEnd;
use warp_events::EventMetadata;
use warp_jobs::{JobContext, JobFailure, Runner};
use warp_platform::redact::Redactor;
use warp_store::deploy_env::DeployEnvStore;
use warp_store::event_store::{self, ProjectCqrs};
use warp_store::settings::SettingsStore;

use crate::client::DockerClient;

/// Everything the executors reach; shared by all of them.
pub struct DeployServices {
    pub pool: PgPool,
    pub settings: SettingsStore,
    pub env: DeployEnvStore,
    pub projects: ProjectCqrs,
    pub docker: Arc<DockerClient>,
    /// `None` when neither compose front end is installed: deploys then fail with that reason.
    pub compose: Option<ComposeFrontEnd>,
    pub git: steps::git::GitOptions,
    /// This worker's name in event metadata (`system:<worker>`).
    pub worker: String,
}

impl DeployServices {
    /// Registers every executor of this module with `runner`.
    pub fn register(self: Arc<Self>, runner: Runner) -> Runner {
        runner
            .register(deploy::DeployExecutor(self.clone()))
            .register(stop::StopExecutor(self.clone()))
            .register(start::StartExecutor(self.clone()))
            .register(remove::RemoveExecutor(self.clone()))
            .register(quick_service::QuickServiceExecutor(self))
    }

    fn metadata(&self, job_id: Uuid) -> EventMetadata {
        EventMetadata::for_job(&self.worker, job_id)
    }

    /// The project as its events say now.
    async fn project(&self, id: Uuid) -> Result<Project, JobFailure> {
        warp_jobs::project::load_project(&self.pool, id).await
    }

    /// Records `command` on project `id` for job `job_id`. A failure here is the panel's, not
    /// the deploy's: it is reported in the job log and fails the job.
    async fn record(&self, job: &JobContext, id: Uuid, command: ProjectCommand) -> Result<(), JobFailure> {
        event_store::execute_project(&self.projects, id, command, &self.metadata(job.job_id)).await.map_err(|error| {
            tracing::warn!(project.id = %id, job.id = %job.job_id, error = %error, "recording a deploy outcome failed");
            JobFailure::failed(format!("recording the outcome on the project failed: {error}"))
        })
    }

    /// The deploy env values of `project`, decrypted and registered with the settings'
    /// redactor (the one the job runner and container logs use) so no job log line, failure
    /// message or container log line shows them.
    async fn env_values(&self, id: Uuid, project: &Project) -> Result<BTreeMap<String, SecretString>, JobFailure> {
        let values = self.env.open(id, &project.env).await.map_err(|e| JobFailure::failed(format!("{e:#}")))?;
        let redactor: &Redactor = self.settings.redactor();
        let plain: Vec<String> = values.values().map(|v| v.expose_secret().to_owned()).collect();
        // Its jobs' logs are scoped by project id, its containers' logs by compose project.
        redactor.set_project_secrets(&id.to_string(), plain.clone());
        if let Some(deployment) = &project.deployment {
            redactor.set_project_secrets(&deployment.compose_project, plain);
        }
        Ok(values)
    }

    /// The text a failure of project `id` is recorded with, redacted with the panel's and the
    /// project's secrets (container log lines in it never went through a job log); `stopped`
    /// describes a cancel or timeout.
    fn failure_message(&self, id: Uuid, failure: &JobFailure, stopped: &str) -> String {
        match failure {
            JobFailure::Failed(message) => self.settings.redactor().for_project(Some(&id.to_string())).redact(message),
            JobFailure::Stopped => stopped.to_owned(),
        }
    }

    fn compose_front_end(&self) -> Result<&ComposeFrontEnd, JobFailure> {
        self.compose
            .as_ref()
            .ok_or_else(|| JobFailure::failed("neither `docker compose` nor `docker-compose` is installed on this Docker host"))
    }
}


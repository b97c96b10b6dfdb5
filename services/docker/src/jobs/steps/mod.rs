//! The steps the docker service's jobs are made of.
//!
//! - [`ComposeProject`]: what every compose action needs, prepared in one place (settings →
//!   workspace → deploy env), and [`ComposeProject::compose`] (env file + compose command
//!   line for one compose file).
//! - [`workspace`]: the project's folder under the workspaces root, folder sources, the env file.
//! - `git` (`warp_jobs::git`, re-exported): fetch and check out a git source.
//! - [`compose_file`]: find the compose file in the source.
//! - [`compose_cli`]: compose command lines for either front end.
//! - [`plan`]: services and published ports from `compose config`.
//! - [`port_check`]: refuse a deploy whose host ports are taken.
//! - [`ready`]: wait until every service runs and is healthy; the compose project's containers.

pub mod compose_cli;
pub mod compose_file;
pub mod lifecycle;
pub mod ownership;
pub mod plan;
pub mod policy;
pub mod port_check;
pub mod ready;
pub mod workspace;

pub use warp_jobs::git;

use std::collections::BTreeMap;
use std::path::PathBuf;

use secrecy::SecretString;
use warp_domain::project::DeploymentConfig;
use warp_domain::Project;
use warp_events::docker::ComposeFrontEnd;
use warp_jobs::JobFailure;

use self::compose_cli::Compose;
use self::workspace::{EnvFile, Workspace};
use super::DeployServices;

/// A compose project ready for a compose command: the project as its events say, its compose
/// settings, the front end, its workspace (created) and its deploy env (decrypted, and
/// registered with the redactor).
pub struct ComposeProject {
    pub project: Project,
    pub config: DeploymentConfig,
    pub front_end: ComposeFrontEnd,
    pub workspace: Workspace,
    pub env: BTreeMap<String, SecretString>,
}

impl ComposeProject {
    /// Prepares `project` (with id `id`) for compose: settings → workspace → deploy env.
    ///
    /// # Errors
    /// A failure naming the step: not a compose project, no compose front end, settings
    /// unreadable, workspace folder not creatable, a stored env value missing.
    pub async fn prepare(svc: &DeployServices, id: uuid::Uuid, project: Project) -> Result<Self, JobFailure> {
        let config = project.deployment.clone().ok_or_else(|| JobFailure::failed("the project has no compose source"))?;
        let front_end = svc.compose_front_end()?.clone();
        let settings = svc.settings.load().await.map_err(|e| JobFailure::failed(format!("reading the settings: {e:#}")))?;
        let workspace = Workspace::new(&settings.values.workspaces_root, id).map_err(JobFailure::failed)?;
        workspace.ensure().map_err(|e| JobFailure::failed(format!("creating the project folder: {e}")))?;
        let env = svc.env_values(id, &project).await?;
        Ok(Self { project, config, front_end, workspace, env })
    }

    /// The folder the source is deployed from (the checkout of a git source).
    ///
    /// # Errors
    /// When a folder source is not usable (see [`workspace::folder_source`]).
    pub fn source_dir(&self) -> Result<PathBuf, String> {
        self.workspace.source_dir(&self.config.source)
    }

    /// The compose command line for `file`, and the env file it reads (deleted when dropped;
    /// `None` without a deploy env).
    ///
    /// # Errors
    /// When the env file cannot be written.
    pub fn compose(&self, file: PathBuf) -> Result<(Compose, Option<EnvFile>), JobFailure> {
        let env_file = if self.env.is_empty() {
            None
        } else {
            Some(EnvFile::write(self.workspace.env_file(), &self.env).map_err(JobFailure::failed)?)
        };
        let compose = Compose::new(&self.front_end, &self.config.compose_project, file, env_file.as_ref().map(EnvFile::path));
        Ok((compose, env_file))
    }
}

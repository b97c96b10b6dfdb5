//! `stop`, `start` and `remove` jobs: `compose stop`, `compose start` and
//! `compose down [--volumes]` on the project's compose project.

use std::sync::Arc;

use futures::future::BoxFuture;
use futures::FutureExt as _;
use warp_domain::ProjectCommand;
use warp_events::project::DeployAction;
use warp_events::JobInput;
use warp_jobs::{Executor, JobContext, JobFailure};

use super::compose_cli::Compose;
use super::git::context_with_tail;
use super::workspace::{EnvFile, Workspace};
use super::{compose_file, DeployServices};

/// Runs `stop`, `start` and `remove` jobs.
pub struct LifecycleExecutor(pub Arc<DeployServices>);

impl Executor for LifecycleExecutor {
    fn run<'a>(&'a self, job: &'a JobContext) -> BoxFuture<'a, Result<(), JobFailure>> {
        async move {
            let svc = &self.0;
            let id = super::project_id(job)?;
            let (action, subcommand): (DeployAction, &[&str]) = match &job.input {
                JobInput::Stop { .. } => (DeployAction::Stop, &["stop"]),
                JobInput::Start { .. } => (DeployAction::Start, &["start"]),
                JobInput::Remove { volumes: false, .. } => (DeployAction::Remove, &["down", "--remove-orphans"]),
                JobInput::Remove { volumes: true, .. } => (DeployAction::RemoveWithVolumes, &["down", "--remove-orphans", "--volumes"]),
                other => return Err(JobFailure::failed(format!("not a lifecycle job: {:?}", other.job_type()))),
            };
            let project = svc.project(id).await?;
            let result = async {
                let config = project.deployment.clone().ok_or_else(|| JobFailure::failed("the project has no compose source"))?;
                let front_end = svc.compose_front_end()?.clone();
                let settings = svc.settings.load().await.map_err(|e| JobFailure::failed(format!("reading the settings: {e:#}")))?;
                let workspace = Workspace::new(&settings.values.workspaces_root, id).map_err(JobFailure::failed)?;
                workspace.ensure().map_err(|e| JobFailure::failed(format!("creating the project folder: {e}")))?;
                let dir = workspace.source_dir(&config.source).map_err(JobFailure::failed)?;
                let file = compose_file::find(&dir, config.compose_file.as_deref()).map_err(|why| {
                    JobFailure::failed(format!("{why}; deploy the project first"))
                })?;
                let env = svc.env_values(id, &project).await?;
                let env_file = if env.is_empty() { None } else { Some(EnvFile::write(workspace.env_file(), &env).map_err(JobFailure::failed)?) };
                let compose = Compose::new(&front_end, &config.compose_project, file, env_file.as_ref().map(EnvFile::path));
                job.log.clear_tail();
                job.run(&compose.spec(subcommand))
                    .await
                    .map_err(|e| context_with_tail(e, job, &format!("compose {} failed", subcommand[0])))
            }
            .await;
            match result {
                Ok(()) => svc.record(job, id, ProjectCommand::RecordLifecycle { job_id: job.job_id, action }).await,
                Err(failure) => {
                    let message = svc.failure_message(&failure, "cancelled or timed out");
                    let record = ProjectCommand::RecordDeploymentFailed {
                        job_id: job.job_id,
                        message,
                        containers_changed: true,
                        rolled_back_to: None,
                    };
                    svc.record(job, id, record).await?;
                    Err(failure)
                }
            }
        }
        .boxed()
    }
}

//! What `stop`, `start` and `remove` share: one compose command on the project's compose
//! project, then the outcome (and the containers as the engine shows them after it) recorded
//! on the project.

use warp_domain::ProjectCommand;
use warp_events::project::DeployAction;
use warp_jobs::{JobContext, JobFailure};

use super::git::context_with_tail;
use super::{compose_file, ready, ComposeProject};
use crate::jobs::DeployServices;

/// A compose action on a project's existing containers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    /// `compose stop`.
    Stop,
    /// `compose start`.
    Start,
    /// `compose down --remove-orphans`, with `--volumes` when `volumes`.
    Remove { volumes: bool },
}

impl Lifecycle {
    /// The action as the project records it.
    pub fn action(self) -> DeployAction {
        match self {
            Lifecycle::Stop => DeployAction::Stop,
            Lifecycle::Start => DeployAction::Start,
            Lifecycle::Remove { volumes: false } => DeployAction::Remove,
            Lifecycle::Remove { volumes: true } => DeployAction::RemoveWithVolumes,
        }
    }

    /// The compose subcommand.
    fn subcommand(self) -> &'static [&'static str] {
        match self {
            Lifecycle::Stop => &["stop"],
            Lifecycle::Start => &["start"],
            Lifecycle::Remove { volumes: false } => &["down", "--remove-orphans"],
            Lifecycle::Remove { volumes: true } => &["down", "--remove-orphans", "--volumes"],
        }
    }
}

/// Runs `lifecycle` on project `id` and records the outcome: `RecordLifecycle` with the
/// containers after it, or `RecordDeploymentFailed`.
///
/// # Errors
/// The failure of the compose command (with its last output lines), or of a step before it.
pub async fn run(svc: &DeployServices, job: &JobContext, id: uuid::Uuid, lifecycle: Lifecycle) -> Result<(), JobFailure> {
    let project = svc.project(id).await?;
    let action = lifecycle.action();
    let result = async {
        let compose_project = ComposeProject::prepare(svc, id, project).await?;
        let name = compose_project.config.compose_project.clone();
        let file = compose_project
            .source_dir()
            .and_then(|dir| compose_file::find(&dir, compose_project.config.compose_file.as_deref()));
        let file = match (file, lifecycle) {
            (Ok(file), _) => file,
            // The source is gone: remove what compose made, by its labels.
            (Err(why), Lifecycle::Remove { volumes }) => {
                job.log.system(&format!("{why}; removing the compose project's resources by label instead"));
                return crate::jobs::remove::remove_by_label(svc, job, &name, volumes).await.map(|()| name);
            }
            (Err(why), _) => return Err(JobFailure::failed(format!("{why}; deploy the project first"))),
        };
        let (compose, _env_file) = compose_project.compose(file)?;
        let subcommand = lifecycle.subcommand();
        job.log.clear_tail();
        job.run(&compose.spec(subcommand))
            .await
            .map_err(|e| context_with_tail(e, job, &format!("compose {} failed", subcommand[0])))?;
        Ok(name)
    }
    .await;
    match result {
        Ok(compose_project) => {
            // What the containers are now, so the project shows no stale `running`.
            let services = ready::containers(&svc.docker, &compose_project).await.unwrap_or_default();
            svc.record(job, id, ProjectCommand::RecordLifecycle { job_id: job.job_id, action, services }).await
        }
        Err(failure) => {
            let message = svc.failure_message(id, &failure, "cancelled or timed out");
            let record = ProjectCommand::RecordDeploymentFailed { job_id: job.job_id, message, containers_changed: true, rolled_back_to: None };
            svc.record(job, id, record).await?;
            Err(failure)
        }
    }
}

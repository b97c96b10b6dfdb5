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
                let file = workspace
                    .source_dir(&config.source)
                    .and_then(|dir| compose_file::find(&dir, config.compose_file.as_deref()));
                let file = match (file, action) {
                    (Ok(file), _) => file,
                    // The source is gone: remove what compose made, by its labels.
                    (Err(why), DeployAction::Remove | DeployAction::RemoveWithVolumes) => {
                        job.log.system(&format!("{why}; removing the compose project's resources by label instead"));
                        return remove_by_label(svc, job, &config.compose_project, action == DeployAction::RemoveWithVolumes).await;
                    }
                    (Err(why), _) => return Err(JobFailure::failed(format!("{why}; deploy the project first"))),
                };
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

/// `compose down` without a compose file: every container (forced), network and, when
/// `volumes`, volume labelled `com.docker.compose.project=<project>`, through the engine API.
async fn remove_by_label(svc: &DeployServices, job: &JobContext, project: &str, volumes: bool) -> Result<(), JobFailure> {
    use bollard::query_parameters::{
        ListContainersOptionsBuilder, ListNetworksOptionsBuilder, ListVolumesOptionsBuilder, RemoveContainerOptionsBuilder,
        RemoveVolumeOptions,
    };
    let engine = svc.docker.engine().await.map_err(|f| JobFailure::failed(f.message))?;
    let failed = |what: &str, e: bollard::errors::Error| JobFailure::failed(format!("{what}: {e}"));
    let filters = std::collections::HashMap::from([("label".to_owned(), vec![format!("{}={project}", super::ready::PROJECT_LABEL)])]);
    let containers = engine
        .list_containers(Some(ListContainersOptionsBuilder::default().all(true).filters(&filters).build()))
        .await
        .map_err(|e| failed("listing containers", e))?;
    for container in containers {
        let id = container.id.unwrap_or_default();
        let options = RemoveContainerOptionsBuilder::default().force(true).build();
        engine.remove_container(&id, Some(options)).await.map_err(|e| failed("removing a container", e))?;
        job.log.system(&format!("removed container {}", crate::client::container_name(container.names.as_ref())));
    }
    let networks = engine
        .list_networks(Some(ListNetworksOptionsBuilder::default().filters(&filters).build()))
        .await
        .map_err(|e| failed("listing networks", e))?;
    for network in networks {
        let name = network.name.unwrap_or_default();
        engine.remove_network(&name).await.map_err(|e| failed("removing a network", e))?;
        job.log.system(&format!("removed network {name}"));
    }
    if volumes {
        let listed = engine
            .list_volumes(Some(ListVolumesOptionsBuilder::default().filters(&filters).build()))
            .await
            .map_err(|e| failed("listing volumes", e))?;
        for volume in listed.volumes.unwrap_or_default() {
            engine.remove_volume(&volume.name, None::<RemoveVolumeOptions>).await.map_err(|e| failed("removing a volume", e))?;
            job.log.system(&format!("removed volume {}", volume.name));
        }
    }
    Ok(())
}

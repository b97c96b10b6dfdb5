//! The `remove` job: `compose down [--volumes]`, or, when the source is gone, the compose
//! project's containers, networks (and volumes) removed by label through the engine API.

use std::sync::Arc;

use warp_events::job::RemoveInput;
use warp_jobs::{Executor, JobContext, JobFailure};

use super::steps::lifecycle::{self, Lifecycle};
use super::DeployServices;

/// Runs `remove` jobs.
pub struct RemoveExecutor(pub Arc<DeployServices>);

impl Executor for RemoveExecutor {
    type Input = RemoveInput;

    async fn run(&self, input: RemoveInput, job: &JobContext) -> Result<(), JobFailure> {
        lifecycle::run(&self.0, job, input.project_id, Lifecycle::Remove { volumes: input.volumes }).await
    }
}

/// `compose down` without a compose file: every container (forced), network and, when
/// `volumes`, volume labelled `com.docker.compose.project=<project>`, through the engine API.
pub(crate) async fn remove_by_label(svc: &DeployServices, job: &JobContext, project: &str, volumes: bool) -> Result<(), JobFailure> {
    use bollard::query_parameters::{
        ListContainersOptionsBuilder, ListNetworksOptionsBuilder, ListVolumesOptionsBuilder, RemoveContainerOptionsBuilder,
        RemoveVolumeOptions,
    };
    let engine = svc.docker.engine().await.map_err(|f| JobFailure::failed(f.message))?;
    let failed = |what: &str, e: bollard::errors::Error| JobFailure::failed(format!("{what}: {e}"));
    let filters = std::collections::HashMap::from([("label".to_owned(), vec![format!("{}={project}", super::steps::ready::PROJECT_LABEL)])]);
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

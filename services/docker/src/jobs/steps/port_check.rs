//! The port check before compose runs: every host port the compose file publishes must be
//! free, or held by this compose project's own containers (a redeploy).

use sqlx::PgPool;
use warp_events::docker::{PortHolder, PortProtocol};
use warp_jobs::{JobContext, JobFailure};

use super::plan::WantedPort;
use crate::client::DockerClient;
use crate::ports;

/// Fails with a 409-style message naming the holder of the first taken port. A container of
/// another panel project is named only when `owner` (the deploying project's creator) owns
/// that project too; otherwise it is "a container of another user's project".
///
/// # Errors
/// [`JobFailure::Failed`] "port 8080/tcp (service web) is already in use by …".
pub async fn check(
    job: &JobContext,
    pool: &PgPool,
    docker: &DockerClient,
    own_project: &str,
    owner: Option<&str>,
    wanted: &[WantedPort],
) -> Result<(), JobFailure> {
    for want in wanted {
        let protocol = if want.protocol == "udp" { PortProtocol::Udp } else { PortProtocol::Tcp };
        let holders = ports::holders(docker, want.port, protocol).await.map_err(|f| JobFailure::failed(f.message))?;
        let taken = ports::conflicts(&holders, Some(own_project), &want.host_ip);
        if let Some(holder) = taken.first() {
            let by = describe(pool, holder, owner).await;
            return Err(JobFailure::failed(format!(
                "conflict: port {}/{} (service {}) is already in use by {by}",
                want.port, want.protocol, want.service
            )));
        }
    }
    if !wanted.is_empty() {
        let list: Vec<String> = wanted.iter().map(|w| format!("{}/{}", w.port, w.protocol)).collect();
        job.log.system(&format!("ports free: {}", list.join(", ")));
    }
    Ok(())
}

/// "container shop-web-1 of project Shop", "a container of another user's project",
/// "container x", "host process nginx (pid 42) on ::".
async fn describe(pool: &PgPool, holder: &PortHolder, owner: Option<&str>) -> String {
    match holder {
        PortHolder::Container { name, compose_project, .. } => {
            let project: Option<(String, Option<String>)> = match compose_project {
                Some(compose) => sqlx::query_as("select name, created_by from projects where compose_project = $1")
                    .bind(compose)
                    .fetch_optional(pool)
                    .await
                    .ok()
                    .flatten(),
                None => None,
            };
            match (project, compose_project) {
                // Its container and compose names carry the project's name: name none of them.
                (Some((_, created_by)), _) if owner.is_none() || created_by.as_deref() != owner => {
                    "a container of another user's project".to_owned()
                }
                (Some((project, _)), _) => format!("container {name} of project {project}"),
                (None, Some(compose)) => format!("container {name} of compose project {compose}"),
                (None, None) => format!("container {name}"),
            }
        }
        PortHolder::HostProcess { address, pid, command } => {
            let who = match (command, pid) {
                (Some(command), Some(pid)) => format!("host process {command} (pid {pid})"),
                (None, Some(pid)) => format!("host process pid {pid}"),
                _ => "a host process".to_owned(),
            };
            format!("{who} listening on {address}")
        }
    }
}

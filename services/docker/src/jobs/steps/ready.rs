//! Waiting until a compose project's services run (and are healthy where they have a
//! healthcheck), reading containers through the engine API only.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use bollard::query_parameters::{InspectContainerOptions, ListContainersOptionsBuilder, LogsOptionsBuilder};
use futures::StreamExt as _;
use warp_events::project::DeployedService;
use warp_jobs::{JobContext, JobFailure};

use crate::client::{container_name, published_ports, DockerClient};

/// The first pause between two checks of the containers; each pause doubles up to
/// [`MAX_POLL`] (a container that starts at once is seen at once, a slow healthcheck is not
/// asked about twenty times a second).
const FIRST_POLL: Duration = Duration::from_millis(50);
/// The longest pause between two checks.
const MAX_POLL: Duration = Duration::from_millis(500);
/// Log lines of a failed container quoted in the failure.
const LOG_TAIL: &str = "20";
/// Longest wait for every service to run and turn healthy (healthchecks with a long
/// `start_period` need it), seconds.
pub const READY_WITHIN: Duration = Duration::from_secs(5 * 60);
/// Restarts after which a container counts as crash-looping.
const MAX_RESTARTS: i64 = 3;

/// Label compose puts on every container of a project.
pub const PROJECT_LABEL: &str = "com.docker.compose.project";
/// Label naming the container's service.
pub const SERVICE_LABEL: &str = "com.docker.compose.service";

/// Waits until every service of `services` has a container and every container of
/// `project` runs, healthy where it has a healthcheck. Returns the containers.
///
/// # Errors
/// [`JobFailure::Failed`] naming the first service whose container exited, keeps restarting
/// ([`MAX_RESTARTS`]) or turned unhealthy, with its last log lines, or the services still not
/// ready after [`READY_WITHIN`]; [`JobFailure::Stopped`] when the job is cancelled or times out
/// first.
pub async fn wait(
    job: &JobContext,
    docker: &DockerClient,
    project: &str,
    services: &BTreeSet<String>,
) -> Result<Vec<DeployedService>, JobFailure> {
    let mut last_report = String::new();
    let deadline = tokio::time::Instant::now() + READY_WITHIN;
    let mut poll = FIRST_POLL;
    loop {
        let containers = inspect_project(docker, project).await?;
        let mut waiting = Vec::new();
        for service in services {
            if !containers.iter().any(|c| &c.service.service == service) {
                waiting.push(format!("{service} (no container yet)"));
            }
        }
        for c in &containers {
            let s = &c.service;
            match (s.state.as_str(), s.health.as_deref()) {
                ("exited" | "dead", _) => {
                    let logs = last_logs(docker, &s.container_id).await;
                    return Err(JobFailure::failed(format!(
                        "service {} stopped (container {} exited with code {}); its last log lines:\n{logs}",
                        s.service, s.container_name, c.exit_code
                    )));
                }
                _ if c.restart_count >= MAX_RESTARTS => {
                    let logs = last_logs(docker, &s.container_id).await;
                    return Err(JobFailure::failed(format!(
                        "service {} keeps restarting (container {}, {} restarts); its last log lines:\n{logs}",
                        s.service, s.container_name, c.restart_count
                    )));
                }
                (_, Some("unhealthy")) => {
                    let logs = last_logs(docker, &s.container_id).await;
                    return Err(JobFailure::failed(format!(
                        "service {} is unhealthy (container {}); its last log lines:\n{logs}",
                        s.service, s.container_name
                    )));
                }
                ("running", None | Some("healthy")) => {}
                (state, health) => waiting.push(format!("{} ({state}{})", s.service, health.map(|h| format!(", {h}")).unwrap_or_default())),
            }
        }
        if waiting.is_empty() {
            return Ok(containers.into_iter().map(|c| c.service).collect());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(JobFailure::failed(format!(
                "not ready within {} s: {}",
                READY_WITHIN.as_secs(),
                waiting.join(", ")
            )));
        }
        let report = format!("waiting for {}", waiting.join(", "));
        if report != last_report {
            job.log.system(&report);
            last_report = report;
        }
        tokio::select! {
            _ = job.cancelled().cancelled() => return Err(JobFailure::Stopped),
            _ = tokio::time::sleep(poll) => {}
        }
        poll = (poll * 2).min(MAX_POLL);
    }
}

/// The containers of compose project `project` as the engine shows them now, in any state,
/// ordered by service and name.
///
/// # Errors
/// When the engine cannot be reached or cannot list containers.
pub async fn containers(docker: &DockerClient, project: &str) -> Result<Vec<DeployedService>, JobFailure> {
    Ok(inspect_project(docker, project).await?.into_iter().map(|c| c.service).collect())
}

struct Inspected {
    service: DeployedService,
    exit_code: i64,
    restart_count: i64,
}

/// Every container (running or not) of compose project `project`, ordered by service and name.
async fn inspect_project(docker: &DockerClient, project: &str) -> Result<Vec<Inspected>, JobFailure> {
    let engine = docker.engine().await.map_err(|f| JobFailure::failed(f.message))?;
    let filters = HashMap::from([("label".to_owned(), vec![format!("{PROJECT_LABEL}={project}")])]);
    let options = ListContainersOptionsBuilder::default().all(true).filters(&filters).build();
    let listed = engine.list_containers(Some(options)).await.map_err(|e| JobFailure::failed(format!("listing containers: {e}")))?;
    let mut out = Vec::new();
    for c in listed {
        let id = c.id.clone().unwrap_or_default();
        let Ok(inspected) = engine.inspect_container(&id, None::<InspectContainerOptions>).await else {
            continue; // removed meanwhile
        };
        let state = inspected.state.as_ref();
        let health = state
            .and_then(|s| s.health.as_ref())
            .and_then(|h| h.status)
            .map(|s| s.to_string())
            .filter(|s| !s.is_empty() && s != "none");
        let labels = c.labels.clone().unwrap_or_default();
        let ports = published_ports(c.ports.clone());
        out.push(Inspected {
            service: DeployedService {
                service: labels.get(SERVICE_LABEL).cloned().unwrap_or_default(),
                container_id: id,
                container_name: container_name(c.names.as_ref()),
                image: c.image.clone().unwrap_or_default(),
                image_id: inspected.image.clone().unwrap_or_default(),
                state: state.and_then(|s| s.status).map(|s| s.to_string()).unwrap_or_default(),
                health,
                ports,
            },
            exit_code: state.and_then(|s| s.exit_code).unwrap_or_default(),
            restart_count: inspected.restart_count.unwrap_or_default(),
        });
    }
    out.sort_by(|a, b| (&a.service.service, &a.service.container_name).cmp(&(&b.service.service, &b.service.container_name)));
    Ok(out)
}

/// The last log lines of a container (stdout and stderr), as text.
async fn last_logs(docker: &DockerClient, id: &str) -> String {
    let Ok(engine) = docker.engine().await else { return String::new() };
    let options = LogsOptionsBuilder::default().stdout(true).stderr(true).tail(LOG_TAIL).build();
    let mut stream = engine.logs(id, Some(options));
    let mut text = String::new();
    let read = async {
        while let Some(Ok(chunk)) = stream.next().await {
            text.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(5), read).await;
    text.trim_end().to_owned()
}

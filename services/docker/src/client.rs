//! The Docker Engine client: one lazily connected `bollard` client over the unix socket.
//!
//! The engine here may be older than bollard's default API version (e.g. engine 20.10 speaks
//! API 1.41), so every new connection negotiates the version down with `GET /version` first.
//! When the engine stops answering the connection is dropped and the next call reconnects.

use std::time::Duration;

use bollard::query_parameters::{InspectContainerOptions, ListContainersOptionsBuilder};
use bollard::{Docker, API_DEFAULT_VERSION};
use chrono::{DateTime, Utc};
use tokio::sync::Mutex;
use warp_events::docker::{ContainerSummary, DockerFailure, DockerFailureKind, PublishedPort};

/// How long one non-streaming engine call may take.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(4);
/// bollard's own timeout (seconds) for response headers; streams are not cut by it.
const HEADER_TIMEOUT_SECS: u64 = 120;

/// A Docker Engine reached on a unix socket.
#[derive(Debug)]
pub struct DockerClient {
    socket: String,
    docker: Mutex<Option<Docker>>,
}

impl DockerClient {
    /// A client for the engine at `socket` (a path); connects on first use.
    pub fn new(socket: &str) -> Self {
        Self { socket: socket.to_owned(), docker: Mutex::new(None) }
    }

    /// The connected engine, connecting and negotiating the API version if needed.
    ///
    /// # Errors
    /// `engine_unreachable` when the socket is missing or the engine does not answer.
    pub async fn engine(&self) -> Result<Docker, DockerFailure> {
        let mut slot = self.docker.lock().await;
        if let Some(docker) = slot.as_ref() {
            return Ok(docker.clone());
        }
        let docker = Docker::connect_with_unix(&self.socket, HEADER_TIMEOUT_SECS, API_DEFAULT_VERSION)
            .map_err(|e| unreachable(&self.socket, &e))?;
        let docker = tokio::time::timeout(CALL_TIMEOUT, docker.negotiate_version())
            .await
            .map_err(|_| unreachable(&self.socket, &"no answer within 4 s"))?
            .map_err(|e| unreachable(&self.socket, &e))?;
        tracing::info!(docker.socket = %self.socket, docker.api_version = %docker.client_version(), "connected to the docker engine");
        *slot = Some(docker.clone());
        Ok(docker)
    }

    /// Turns an engine call's error into a failure, dropping the connection when the engine is
    /// unreachable so the next call reconnects.
    pub async fn failure(&self, error: bollard::errors::Error) -> DockerFailure {
        use bollard::errors::Error as E;
        match error {
            E::DockerResponseServerError { status_code, message } => DockerFailure {
                kind: if status_code == 400 { DockerFailureKind::BadRequest } else { DockerFailureKind::Internal },
                message: format!("docker engine answered {status_code}: {message}"),
            },
            other => {
                *self.docker.lock().await = None;
                unreachable(&self.socket, &other)
            }
        }
    }

    /// Engine version and API version (`GET /version`).
    pub async fn version(&self) -> Result<(String, String), DockerFailure> {
        let docker = self.engine().await?;
        match tokio::time::timeout(CALL_TIMEOUT, docker.version()).await {
            Err(_) => Err(self.timed_out().await),
            Ok(Err(error)) => Err(self.failure(error).await),
            Ok(Ok(v)) => Ok((v.version.unwrap_or_default(), v.api_version.unwrap_or_default())),
        }
    }

    /// Running containers, each inspected for its health and start time, ordered by name.
    pub async fn running_containers(&self) -> Result<Vec<ContainerSummary>, DockerFailure> {
        let docker = self.engine().await?;
        let options = ListContainersOptionsBuilder::default().all(false).build();
        let listed = match tokio::time::timeout(CALL_TIMEOUT, docker.list_containers(Some(options))).await {
            Err(_) => return Err(self.timed_out().await),
            Ok(Err(error)) => return Err(self.failure(error).await),
            Ok(Ok(listed)) => listed,
        };
        let inspected = futures::future::join_all(listed.iter().map(|c| {
            let docker = docker.clone();
            let id = c.id.clone().unwrap_or_default();
            async move {
                let call = docker.inspect_container(&id, None::<InspectContainerOptions>);
                tokio::time::timeout(CALL_TIMEOUT, call).await.ok().and_then(Result::ok)
            }
        }))
        .await;
        let mut containers: Vec<_> = listed.into_iter().zip(inspected).map(|(c, i)| summary(c, i)).collect();
        containers.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(containers)
    }

    async fn timed_out(&self) -> DockerFailure {
        *self.docker.lock().await = None;
        unreachable(&self.socket, &"no answer within 4 s")
    }
}

fn unreachable(socket: &str, why: &dyn std::fmt::Display) -> DockerFailure {
    DockerFailure {
        kind: DockerFailureKind::EngineUnreachable,
        message: format!("docker engine at {socket} is not reachable: {why}"),
    }
}

/// The ports of a container list entry that are published on the host, ordered by host port
/// and address (exposed but unpublished ports are left out).
pub fn published_ports(ports: Option<Vec<bollard::models::PortSummary>>) -> Vec<PublishedPort> {
    let mut published: Vec<PublishedPort> = ports
        .unwrap_or_default()
        .into_iter()
        .filter_map(|p| {
            Some(PublishedPort {
                host_ip: p.ip.unwrap_or_default(),
                host_port: p.public_port?,
                container_port: p.private_port,
                protocol: p.typ.map_or_else(|| "tcp".to_owned(), |t| t.to_string()),
            })
        })
        .collect();
    published.sort_by(|a, b| (a.host_port, &a.host_ip).cmp(&(b.host_port, &b.host_ip)));
    published
}

/// The container's name without Docker's leading `/`.
pub fn container_name(names: Option<&Vec<String>>) -> String {
    names.and_then(|n| n.first()).map(|n| n.trim_start_matches('/').to_owned()).unwrap_or_default()
}

fn summary(
    c: bollard::models::ContainerSummary,
    inspected: Option<bollard::models::ContainerInspectResponse>,
) -> ContainerSummary {
    let labels = c.labels.unwrap_or_default();
    let state = inspected.as_ref().and_then(|i| i.state.as_ref());
    let health = state
        .and_then(|s| s.health.as_ref())
        .and_then(|h| h.status)
        .map(|s| s.to_string())
        .filter(|s| !s.is_empty() && s != "none");
    let started_at = state
        .and_then(|s| s.started_at.as_deref())
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc));
    let ports = published_ports(c.ports);
    ContainerSummary {
        id: c.id.unwrap_or_default(),
        name: container_name(c.names.as_ref()),
        image: c.image.unwrap_or_default(),
        state: c.state.map(|s| s.to_string()).unwrap_or_default(),
        health,
        compose_project: labels.get("com.docker.compose.project").cloned(),
        compose_service: labels.get("com.docker.compose.service").cloned(),
        ports,
        started_at,
    }
}

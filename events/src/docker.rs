//! Messages between the API and a docker service, and live container log lines.
//!
//! These are not events: they travel on core NATS, never on the event stream.
//! - Requests go to `warp.docker.<host>.<action>` (see [`crate::subjects`]) as JSON; every
//!   reply is a [`DockerReply`]: `{"ok":…}` or `{"error":{"kind":…,"message":…}}`.
//! - A log session publishes one [`ContainerLogLine`] per message on
//!   `warp.logs.container.<container_id>.<session_id>`.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::logs::LogStream;

/// The answer to every docker request: the result, or why there is none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DockerReply<T> {
    Ok(T),
    Error(DockerFailure),
}

/// Why a docker request failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DockerFailure {
    pub kind: DockerFailureKind,
    /// A sentence for people (the engine's own message where there is one).
    pub message: String,
}

/// What kind of failure a [`DockerFailure`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DockerFailureKind {
    /// The Docker Engine did not answer on its socket.
    EngineUnreachable,
    /// The request could not be read or failed validation.
    BadRequest,
    /// Anything else; details are in the docker service's log.
    Internal,
}

/// Reply to `containers`: the running containers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, utoipa::ToSchema)]
pub struct ContainerList {
    pub containers: Vec<ContainerSummary>,
}

/// One running container, as the engine reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, utoipa::ToSchema)]
pub struct ContainerSummary {
    /// Full 64-hex container id.
    pub id: String,
    /// Name without Docker's leading `/`.
    pub name: String,
    /// Image reference the container was created from, e.g. `nginx:1.27`.
    pub image: String,
    /// Engine state: `running`, `paused`, `restarting`, …
    pub state: String,
    /// Healthcheck status (`starting`, `healthy`, `unhealthy`), or null without a healthcheck.
    pub health: Option<String>,
    /// Label `com.docker.compose.project`, when compose created the container.
    pub compose_project: Option<String>,
    /// Label `com.docker.compose.service`.
    pub compose_service: Option<String>,
    /// Ports published on the host (unpublished exposed ports are left out).
    pub ports: Vec<PublishedPort>,
    /// When the container last started (engine `State.StartedAt`), if known.
    pub started_at: Option<DateTime<Utc>>,
}

/// A container port published on the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, utoipa::ToSchema)]
pub struct PublishedPort {
    /// Host address it is bound to: `0.0.0.0`, `::`, `127.0.0.1`, …
    pub host_ip: String,
    pub host_port: u16,
    pub container_port: u16,
    /// `tcp`, `udp` or `sctp`.
    pub protocol: String,
}

/// Reply to `health`: the engine answered; which compose front end the service found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, utoipa::ToSchema)]
pub struct DockerHealth {
    /// Engine version, e.g. `20.10.24+dfsg1`.
    pub engine_version: String,
    /// Engine API version, e.g. `1.41` (the client negotiates down to it).
    pub api_version: String,
    /// The compose front end found at start-up, or null when neither exists.
    pub compose: Option<ComposeFrontEnd>,
}

/// A compose command line tool and its version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, utoipa::ToSchema)]
pub struct ComposeFrontEnd {
    pub front_end: ComposeCommand,
    /// As the tool prints it with `version --short`, e.g. `2.29.1` or `1.29.2`.
    pub version: String,
}

/// Which compose tool runs compose files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, utoipa::ToSchema)]
pub enum ComposeCommand {
    /// The v2 plugin: `docker compose …`.
    #[serde(rename = "docker compose")]
    Plugin,
    /// The v1 standalone tool: `docker-compose …`.
    #[serde(rename = "docker-compose")]
    Standalone,
}

/// Whether colour and other ANSI escape codes stay in log lines.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AnsiMode {
    /// Lines as the container wrote them.
    #[default]
    Keep,
    /// ANSI escape sequences removed.
    Strip,
}

/// Request `logs.open`: start streaming the logs of matching running containers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LogsOpen {
    /// Chosen by the API; names the session in later requests and in the log subjects.
    pub session_id: Uuid,
    /// Substring of a container's name or id; null matches every container.
    pub filter: Option<String>,
    /// Lines per container from before the session opened; null means all of them.
    pub tail: Option<u32>,
    /// Only lines at or after this time (unix seconds).
    pub since: Option<i64>,
    pub ansi: AnsiMode,
    /// Only containers of these compose projects (a member's own projects); absent: any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compose_projects: Option<Vec<String>>,
}

/// Reply to `logs.open`: the containers the session follows from the start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LogsOpened {
    pub containers: Vec<ContainerRef>,
}

/// A container by id and name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ContainerRef {
    pub id: String,
    pub name: String,
    /// The compose project the container belongs to (label `com.docker.compose.project`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compose_project: Option<String>,
}

/// Request `logs.keepalive` or `logs.close`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LogsSession {
    pub session_id: Uuid,
}

/// Reply to `logs.keepalive` and `logs.close`: whether the service knew the session (false
/// after it expired or the service restarted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LogsKeptAlive {
    pub known: bool,
}

/// One line of a container's output, published on
/// `warp.logs.container.<container_id>.<session_id>` and sent to SSE clients as is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, utoipa::ToSchema)]
pub struct ContainerLogLine {
    pub container_id: String,
    pub container_name: String,
    /// The container's compose project, if it has one: whose secrets the line is masked with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compose_project: Option<String>,
    /// `stdout` or `stderr` (a TTY container's output is all `stdout`).
    pub stream: LogStream,
    /// Docker's timestamp of the line (of its first part, for a line Docker split).
    pub timestamp: DateTime<Utc>,
    /// The line without its line ending: invalid UTF-8 replaced by U+FFFD, cut after 64 KiB
    /// with a visible marker.
    pub line: String,
}

/// A transport protocol of a host port.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PortProtocol {
    #[default]
    Tcp,
    Udp,
}

impl PortProtocol {
    /// `tcp` or `udp`, as Docker and the API spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            PortProtocol::Tcp => "tcp",
            PortProtocol::Udp => "udp",
        }
    }
}

impl std::fmt::Display for PortProtocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Request `ports`: who holds a host port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PortQuery {
    /// Host port, 1-65535 (0 is refused with `bad_request`).
    pub port: u16,
    /// Default `tcp`.
    #[serde(default)]
    pub protocol: PortProtocol,
}

/// Reply to `ports`: every holder of the port on the docker service's host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, utoipa::ToSchema)]
pub struct PortStatus {
    pub port: u16,
    pub protocol: PortProtocol,
    /// Containers publishing the port and host processes listening on it; empty when the port
    /// is free. Docker's `docker-proxy` is left out where a listed container explains it.
    pub holders: Vec<PortHolder>,
}

/// Something that holds a host port: `{"kind":"container",…}` or `{"kind":"host_process",…}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PortHolder {
    /// A running container that publishes the port (one entry per host address it is
    /// published on).
    Container {
        /// Full 64-hex container id.
        id: String,
        /// Name without Docker's leading `/`.
        name: String,
        /// Label `com.docker.compose.project`, when compose created the container.
        compose_project: Option<String>,
        /// Label `com.docker.compose.service`.
        compose_service: Option<String>,
        /// Host address the port is published on: `0.0.0.0`, `::`, `127.0.0.1`, … (empty
        /// when the engine does not say: every address).
        host_ip: String,
    },
    /// A process of the host listening on the port (TCP `LISTEN`, or an unconnected UDP
    /// socket bound to it).
    HostProcess {
        /// Local address of the socket: `0.0.0.0`, `::`, `127.0.0.1`, `::1`, … (an IPv4-mapped
        /// IPv6 address is shown as IPv4).
        address: String,
        /// The process owning the socket, when the docker service may read `/proc/<pid>/fd`.
        pid: Option<u32>,
        /// The process name (`/proc/<pid>/comm`, at most 15 bytes), e.g. `nginx`.
        command: Option<String>,
    },
}

/// Request `restart_container`: restart `container` (name or id) and watch it for `settle_ms`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RestartContainer {
    pub container: String,
    /// How long the container must keep running after the restart to count as back,
    /// milliseconds (at most 60000).
    pub settle_ms: u64,
}

/// Reply to `restart_container`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ContainerRestarted {
    /// Whether it was running at the end of the settle time and had not restarted again.
    pub running: bool,
    /// The engine's state at the end (`running`, `exited`, `restarting`, …).
    pub state: String,
    /// Exit code when it is not running.
    pub exit_code: Option<i64>,
}

/// Request `container_info`: one container by name or id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ContainerQuery {
    pub container: String,
}

/// A bind mount of a container: `source` on the host is `destination` inside.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ContainerMount {
    pub source: String,
    pub destination: String,
}

/// Reply to `container_info`: what the cloudflare service needs to know about cloudflared's
/// container or a routed service's container. Secrets are never included: the value of a
/// `--token` argument is replaced by `[REDACTED]` and only whether `TUNNEL_TOKEN` is set is told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ContainerInfo {
    pub running: bool,
    /// Entrypoint and command arguments, token values masked.
    pub args: Vec<String>,
    /// Whether it runs a tunnel with a token (`--token` or `TUNNEL_TOKEN`).
    pub token_run: bool,
    pub mounts: Vec<ContainerMount>,
    /// Names of the Docker networks it is attached to.
    pub networks: Vec<String>,
}

/// Request `connect_network`: attach `container` to `network` (nothing when it already is).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ConnectNetwork {
    pub container: String,
    pub network: String,
}

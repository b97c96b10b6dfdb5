//! `GET /api/ports/{port}`: whether a host port is free, or who holds it.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;
use warp_domain::validate::Port;
use warp_events::docker::{PortHolder, PortProtocol, PortQuery, PortStatus};
use warp_events::subjects;

use super::docker;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiPath, ApiQuery, CurrentUser};
use crate::AppState;

/// Query of `GET /api/ports/{port}`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PortStatusQuery {
    /// `tcp` (default) or `udp`.
    pub protocol: Option<PortProtocol>,
}

/// Who holds a host port; `free` when nobody does.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PortReport {
    pub port: u16,
    pub protocol: PortProtocol,
    /// True when `holders` is empty.
    pub free: bool,
    /// Containers first (by name), then host processes (by address).
    pub holders: Vec<PortHolderView>,
}

/// A holder of the port: `{"kind":"container",…}` or `{"kind":"host_process",…}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PortHolderView {
    /// A running container publishing the port (one entry per host address).
    Container {
        /// Full 64-hex container id.
        id: String,
        /// Name without Docker's leading `/`.
        name: String,
        /// Label `com.docker.compose.project`.
        compose_project: Option<String>,
        /// Label `com.docker.compose.service`.
        compose_service: Option<String>,
        /// Host address the port is published on: `0.0.0.0`, `::`, `127.0.0.1`, …
        host_ip: String,
        /// The Warp project whose compose project the container belongs to; null for
        /// containers Warp does not manage.
        project: Option<ProjectRef>,
    },
    /// A host process listening on the port (Docker's `docker-proxy` is left out where a
    /// listed container explains it).
    HostProcess {
        /// Local address: `0.0.0.0`, `::`, `127.0.0.1`, `::1`, …
        address: String,
        /// Null when the docker service may not see the process.
        pid: Option<u32>,
        /// Process name (at most 15 bytes), e.g. `nginx`.
        command: Option<String>,
    },
}

/// A Warp project by id and name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ProjectRef {
    pub id: Uuid,
    pub name: String,
}

/// Whether `port` is free on the Docker host, or which containers (with their Warp project) and
/// host processes hold it. IPv4 and IPv6 listeners both count; `0.0.0.0` and `::` hold the port
/// on every address.
#[utoipa::path(
    get, path = "/api/ports/{port}", tag = "containers",
    params(("port" = String, Path, description = "Host port, 1-65535"), PortStatusQuery),
    responses(
        (status = 200, body = PortReport),
        (status = 400, description = "Unknown query parameter or protocol", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 422, description = "`port` is not a number between 1 and 65535", body = ErrorBody),
        (status = 503, description = "The docker service did not answer within 5 s, or the engine is unreachable", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn port_status(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(port): ApiPath<String>,
    ApiQuery(query): ApiQuery<PortStatusQuery>,
) -> ApiResult<axum::Json<PortReport>> {
    let port = Port::parse_text("port", &port)?.get();
    let request = PortQuery { port, protocol: query.protocol.unwrap_or_default() };
    let status: PortStatus = docker::request(&state, subjects::DOCKER_PORTS, &request).await?;
    let compose_projects: Vec<String> = status
        .holders
        .iter()
        .filter_map(|h| match h {
            PortHolder::Container { compose_project, .. } => compose_project.clone(),
            PortHolder::HostProcess { .. } => None,
        })
        .collect();
    let owner = crate::access::owner_filter(&user.0);
    let projects = projects_by_compose_project(&state.pool, &compose_projects, owner.as_deref()).await?;
    let holders: Vec<PortHolderView> = status.holders.into_iter().map(|h| view(h, &projects)).collect();
    Ok(axum::Json(PortReport { port: status.port, protocol: status.protocol, free: holders.is_empty(), holders }))
}

fn view(holder: PortHolder, projects: &[(String, ProjectRef)]) -> PortHolderView {
    match holder {
        PortHolder::Container { id, name, compose_project, compose_service, host_ip } => {
            let project = compose_project
                .as_deref()
                .and_then(|c| projects.iter().find(|(p, _)| p == c))
                .map(|(_, project)| project.clone());
            PortHolderView::Container { id, name, compose_project, compose_service, host_ip, project }
        }
        PortHolder::HostProcess { address, pid, command } => PortHolderView::HostProcess { address, pid, command },
    }
}

/// The Warp projects (from the projects read model) whose compose project is one of `names`,
/// as (compose project, project) pairs; only `owner`'s projects when given (a member sees the
/// holder container, not another user's project).
pub async fn projects_by_compose_project(
    pool: &PgPool,
    names: &[String],
    owner: Option<&str>,
) -> Result<Vec<(String, ProjectRef)>, sqlx::Error> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<(String, Uuid, String)> =
        sqlx::query_as(
            "select compose_project, id, name from projects
              where compose_project = any($1) and ($2::text is null or created_by = $2)",
        )
        .bind(names)
        .bind(owner)
            .fetch_all(pool)
            .await?;
    Ok(rows.into_iter().map(|(compose, id, name)| (compose, ProjectRef { id, name })).collect())
}

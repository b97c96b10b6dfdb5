//! `POST /api/projects/quick-service`.

use axum::extract::State;
use axum::response::IntoResponse;
use serde::Deserialize;
use uuid::Uuid;
use warp_domain::validate::{Port, ProjectName, Subdomain};
use warp_domain::{ProjectCommand, ValidationError};
use warp_events::docker::ContainerList;
use warp_events::project::QuickServiceTarget;
use warp_store::project_names;

use super::queue::ActionAccepted;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::ApiJson;
use crate::routes::containers::docker;
use crate::routes::CommandContext;
use crate::AppState;

/// Body of `POST /api/projects/quick-service`: exactly one of `container` or `host_port`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuickService {
    /// 1-64 ASCII letters, digits, spaces, `.`, `_`, `-`; starts with a letter or digit.
    pub name: String,
    /// A running container's name or full id.
    pub container: Option<String>,
    /// The container port the service listens on (1-65535; default 80). Only with `container`.
    pub target_port: Option<i64>,
    /// A port of the Docker host a process listens on (1-65535).
    pub host_port: Option<i64>,
    /// One RFC 1123 label (lower-cased), published as `<subdomain>.<base domain>`.
    pub subdomain: String,
}

/// Records a project for a container that already runs (or a host port), checks the
/// container exists, and queues a job that checks the port answers and requests the route.
/// A member may expose only containers of their own projects; host ports are for admins, and
/// nobody may expose the panel's own ports.
#[utoipa::path(
    post, path = "/api/projects/quick-service", tag = "projects",
    request_body = QuickService,
    responses(
        (status = 202, description = "Project created; its check and route are queued", body = ActionAccepted),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 409, description = "Name or subdomain taken by a live project", body = ErrorBody),
        (status = 403, description = "A member asked for a host port", body = ErrorBody),
        (status = 422, description = "Invalid field, no such running container (of the caller's projects, for a member), or one of the panel's own ports", body = ErrorBody),
        (status = 503, description = "The docker service is not answering", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn quick_service(
    State(state): State<AppState>,
    ctx: CommandContext,
    ApiJson(body): ApiJson<QuickService>,
) -> ApiResult<impl IntoResponse> {
    let name = ProjectName::try_from(body.name)?;
    let subdomain = Subdomain::try_from(body.subdomain).map_err(|e| e.for_field("subdomain"))?;
    let target = match (body.container, body.host_port) {
        (Some(container), None) => {
            let target_port = Port::parse("target_port", body.target_port.unwrap_or(80))?.get();
            let container = running_container(&state, &ctx.user.0, &container).await?;
            QuickServiceTarget::Container { container, target_port }
        }
        (None, Some(port)) => {
            if body.target_port.is_some() {
                return Err(ValidationError::new("target_port", "only applies with container").into());
            }
            let host_port = Port::parse("host_port", port)?.get();
            if state.panel_ports.contains(&host_port) {
                return Err(ValidationError::new("host_port", "is one of the panel's own ports (API, Postgres, NATS)").into());
            }
            if crate::access::owner_filter(&ctx.user.0).is_some() {
                return Err(crate::error::ApiError::Forbidden("only an admin may expose a host port".into()));
            }
            QuickServiceTarget::HostPort { host_port }
        }
        _ => return Err(ValidationError::new("container", "give exactly one of container or host_port").into()),
    };
    let id = Uuid::now_v7();
    let label = subdomain.as_str().to_owned();
    if let Some(which) = project_names::claim_new_project(&state.pool, name.as_str(), Some(&label), id).await? {
        return Err(super::create::taken(which, name.as_str(), Some(&label)));
    }
    let command = ProjectCommand::CreateQuickService { name: name.clone(), subdomain, target };
    if let Err(error) = warp_store::event_store::execute_project(&state.projects, id, command, &ctx.metadata).await {
        project_names::release_new_project(&state.pool, name.as_str(), id).await?;
        return Err(error.into());
    }
    let job_id = Uuid::now_v7();
    let input = warp_events::job::QuickServiceInput { project_id: id }.into();
    warp_store::event_store::queue_job(&state.jobs, job_id, input, &ctx.metadata).await?;
    tracing::info!(project.id = %id, job.id = %job_id, "quick service created");
    Ok(ActionAccepted { job_id, project_id: id }.response())
}

/// The name of the running container `raw` names (a name or a full id), validated, and
/// checked against the docker service's list of running containers. A member may name only a
/// container of their own projects; any other answers as if it did not run.
async fn running_container(state: &AppState, user: &warp_store::tokens::Principal, raw: &str) -> ApiResult<String> {
    let by_id = warp_domain::validate::ContainerId::parse("container", raw).ok();
    let by_name = warp_domain::validate::ContainerName::parse("container", raw).ok();
    if by_id.is_none() && by_name.is_none() {
        return Err(ValidationError::new("container", "must be a container name or a 64-hex container id").into());
    }
    let list: ContainerList = docker::request(state, "containers", &serde_json::json!({})).await?;
    let visible = crate::access::visible_compose_projects(&state.pool, user).await?;
    let found = list.containers.into_iter().find(|c| {
        let named = by_id.as_ref().is_some_and(|id| id.as_str() == c.id) || by_name.as_ref().is_some_and(|n| n.as_str() == c.name);
        let reachable = visible.as_ref().is_none_or(|v| c.compose_project.as_ref().is_some_and(|p| v.contains(p)));
        named && reachable
    });
    match found {
        Some(c) => Ok(c.name),
        None => Err(ValidationError::new("container", format!("no running container is named {raw:?}")).into()),
    }
}

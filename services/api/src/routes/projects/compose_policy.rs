//! `PUT /api/projects/{id}/compose-policy`: an admin lifts compose policy rules for one project.

use std::collections::BTreeSet;

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use warp_domain::ProjectCommand;
use warp_events::project::ComposeRule;

use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath};
use crate::routes::CommandContext;
use crate::AppState;

/// Body of `PUT /api/projects/{id}/compose-policy`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ComposePolicy {
    /// Rules lifted for this project (replacing earlier exceptions; `[]` restores the default
    /// policy): `privileged`, `cap_add`, `devices`, `host_namespaces`, `security_opt`,
    /// `bind_mounts`, `docker_socket`, `build_context`, `image_tags`.
    pub allow: Vec<ComposeRule>,
}

/// The exceptions in force after the change.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ComposePolicyView {
    pub project_id: Uuid,
    pub allow: Vec<ComposeRule>,
}

/// Sets the compose policy exceptions of a compose project. Admins only: every exception is an
/// audited event (`ComposePolicyExceptionsSet`), and the next deploy applies it. A member gets
/// 403 for a project of their own and 404 for anyone else's.
#[utoipa::path(
    put, path = "/api/projects/{id}/compose-policy", tag = "projects",
    params(("id" = Uuid, Path, description = "Project id")),
    request_body = ComposePolicy,
    responses(
        (status = 200, description = "The exceptions now in force", body = ComposePolicyView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, description = "Archived, or not a compose project", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn set_compose_policy(
    State(state): State<AppState>,
    ctx: CommandContext,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<ComposePolicy>,
) -> ApiResult<Json<ComposePolicyView>> {
    crate::access::ensure_project(&state.pool, &ctx.user.0, id).await?;
    ctx.user.require_admin()?;
    let allowed: BTreeSet<ComposeRule> = body.allow.into_iter().collect();
    let command = ProjectCommand::SetComposeExceptions { allowed: allowed.clone() };
    warp_store::event_store::execute_project(&state.projects, id, command, &ctx.metadata).await?;
    tracing::info!(project.id = %id, compose.exceptions = ?allowed, "compose policy exceptions set");
    Ok(Json(ComposePolicyView { project_id: id, allow: allowed.into_iter().collect() }))
}

//! `PATCH /api/projects/{id}`.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use uuid::Uuid;
use warp_domain::validate::{Description, ProjectName, Subdomain};
use warp_domain::project::SourceChange;
use warp_domain::ProjectCommand;
use warp_store::project_names::{self, Claim, Claims};

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, IfMatch};
use crate::routes::{present, CommandContext};
use crate::AppState;

/// Body of `PATCH /api/projects/{id}`: absent fields stay, `null` clears an optional one.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateProject {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = "free-text")]
    pub description: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub subdomain: Option<Option<String>>,
    /// Compose projects: a new source (same rules as deploy-existing); the next deploy uses it.
    pub source: Option<super::SourceInput>,
    /// Compose projects: a new compose file path; `null` goes back to compose's default names.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub compose_file: Option<Option<String>>,
}

/// Renames a project and/or changes its settings in one step. With `If-Match: "<version>"`
/// the change is refused (409) when the project moved on since that version.
#[utoipa::path(
    patch, path = "/api/projects/{id}", tag = "projects",
    params(("id" = Uuid, Path, description = "Project id"), ("If-Match" = Option<String>, Header, description = "Expected version")),
    request_body = UpdateProject,
    responses(
        (status = 204, description = "Updated"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "Stale version, concurrent change, archived, or name taken", body = ErrorBody),
        (status = 422, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn update_project(
    State(state): State<AppState>,
    ctx: CommandContext,
    ApiPath(id): ApiPath<Uuid>,
    IfMatch(expected_version): IfMatch,
    ApiJson(body): ApiJson<UpdateProject>,
) -> ApiResult<StatusCode> {
    crate::access::ensure_project(&state.pool, &ctx.user.0, id).await?;
    let name = body.name.map(ProjectName::try_from).transpose()?;
    let description = body.description.map(|d| d.map(Description::try_from).transpose()).transpose()?;
    let subdomain = body.subdomain.map(|s| s.map(Subdomain::try_from).transpose()).transpose()?;
    let source = body.source.map(super::deploy_existing::parse_source).transpose()?;
    let compose_file =
        body.compose_file.map(|f| f.map(|f| super::deploy_existing::parse_compose_file(&f)).transpose()).transpose()?;
    let deployment = (source.is_some() || compose_file.is_some()).then_some(SourceChange { source, compose_file });
    let lock = state.project_locks.acquire(id).await?;
    let new_name = name.as_ref().map(|n| n.as_str().to_owned());
    let claim = match &new_name {
        Some(name) => project_names::claim(&state.pool, name, id).await?,
        None => Claim::AlreadyHeld,
    };
    if claim == Claim::Taken {
        return Err(ApiError::Conflict(format!("a project named {:?} already exists", new_name.unwrap_or_default())));
    }
    // `Some(Some(label))` sets a subdomain: it must be free; `Some(None)` clears it.
    let new_subdomain = subdomain.as_ref().and_then(|s| s.as_ref().map(|s| s.as_str().to_owned()));
    let subdomain_claim = match &new_subdomain {
        Some(label) => Claims::SUBDOMAINS.claim(&state.pool, label, id).await?,
        None => Claim::AlreadyHeld,
    };
    if subdomain_claim == Claim::Taken {
        if let (Claim::New, Some(name)) = (claim, &new_name) {
            project_names::release(&state.pool, name, id).await?;
        }
        return Err(ApiError::Conflict(format!("another project uses the subdomain {:?}", new_subdomain.unwrap_or_default())));
    }
    let subdomain_changes = subdomain.is_some();
    let command = ProjectCommand::Update { name, description, subdomain, deployment, expected_version };
    let result = warp_store::event_store::execute_project(&state.projects, id, command, &ctx.metadata).await;
    let outcome = match result {
        Ok(()) => {
            if let Some(name) = &new_name {
                project_names::release_others(&state.pool, id, Some(name)).await?;
            }
            if subdomain_changes {
                Claims::SUBDOMAINS.release_others(&state.pool, id, new_subdomain.as_deref()).await?;
            }
            Ok(StatusCode::NO_CONTENT)
        }
        Err(error) => {
            if let (Claim::New, Some(name)) = (claim, &new_name) {
                project_names::release(&state.pool, name, id).await?;
            }
            if let (Claim::New, Some(label)) = (subdomain_claim, &new_subdomain) {
                Claims::SUBDOMAINS.release(&state.pool, label, id).await?;
            }
            Err(error.into())
        }
    };
    lock.release().await;
    outcome
}

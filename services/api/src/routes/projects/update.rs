//! `PATCH /api/projects/{id}`.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use uuid::Uuid;
use warp_domain::validate::{Description, ProjectName, Subdomain};
use warp_domain::ProjectCommand;
use warp_store::projections::projects;

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
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub subdomain: Option<Option<String>>,
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
    let name = body.name.map(ProjectName::try_from).transpose()?;
    let description = body.description.map(|d| d.map(Description::try_from).transpose()).transpose()?;
    let subdomain = body.subdomain.map(|s| s.map(Subdomain::try_from).transpose()).transpose()?;
    if let Some(name) = &name {
        if projects::name_taken(&state.pool, name.as_str(), Some(id)).await? {
            return Err(ApiError::Conflict(format!("a project named {:?} already exists", name.as_str())));
        }
    }
    let command = ProjectCommand::Update { name, description, subdomain, expected_version };
    warp_store::event_store::execute_project(&state.projects, id, command, &ctx.metadata).await?;
    Ok(StatusCode::NO_CONTENT)
}

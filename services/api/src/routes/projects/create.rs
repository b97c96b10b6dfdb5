//! `POST /api/projects`.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use chrono::Utc;
use serde::Deserialize;
use uuid::Uuid;
use warp_domain::validate::ProjectName;
use warp_domain::ProjectCommand;
use warp_store::project_names::{self, Taken};
use warp_store::projections::projects::ProjectView;

use super::parse_opt;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::ApiJson;
use crate::routes::CommandContext;
use crate::AppState;

/// Body of `POST /api/projects`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProject {
    /// 1-64 ASCII letters, digits, spaces, `.`, `_`, `-`; starts with a letter or digit.
    pub name: String,
    /// At most 500 characters, no control characters. Free text (`format: free-text`): kept
    /// as data, never used as a name, path or argument.
    #[schema(format = "free-text")]
    pub description: Option<String>,
    /// One RFC 1123 label (lower-cased), published as `<subdomain>.<base domain>`.
    pub subdomain: Option<String>,
}

/// Creates a project. The read model follows within milliseconds; the response already shows
/// the project as created.
#[utoipa::path(
    post, path = "/api/projects", tag = "projects",
    request_body = CreateProject,
    responses(
        (status = 201, description = "Created", body = ProjectView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 409, description = "Name or subdomain taken by a live project", body = ErrorBody),
        (status = 422, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn create_project(
    State(state): State<AppState>,
    ctx: CommandContext,
    ApiJson(body): ApiJson<CreateProject>,
) -> ApiResult<impl IntoResponse> {
    let name = ProjectName::try_from(body.name)?;
    let description = parse_opt(body.description)?;
    let subdomain = parse_opt(body.subdomain)?;
    let id = Uuid::now_v7();
    let label = subdomain.as_ref().map(|s: &warp_domain::validate::Subdomain| s.as_str().to_owned());
    if let Some(which) = project_names::claim_new_project(&state.pool, name.as_str(), label.as_deref(), id).await? {
        return Err(taken(which, name.as_str(), label.as_deref()));
    }
    let command = ProjectCommand::Create { name: name.clone(), description: description.clone(), subdomain: subdomain.clone() };
    if let Err(error) = warp_store::event_store::execute_project(&state.projects, id, command, &ctx.metadata).await {
        project_names::release_new_project(&state.pool, name.as_str(), id).await?;
        return Err(error.into());
    }
    tracing::info!(project.id = %id, "project created");
    let view = ProjectView::created(
        id,
        name.into(),
        description.map(Into::into),
        subdomain.map(Into::into),
        ctx.metadata.actor,
        Utc::now(),
    );
    Ok((StatusCode::CREATED, [(header::LOCATION, format!("/api/projects/{id}"))], axum::Json(view)))
}

/// The 409 for a name or subdomain another live project holds.
pub(super) fn taken(taken: Taken, name: &str, subdomain: Option<&str>) -> ApiError {
    match taken {
        Taken::Name => ApiError::Conflict(format!("a project named {name:?} already exists")),
        Taken::Subdomain => ApiError::Conflict(format!("another project uses the subdomain {:?}", subdomain.unwrap_or_default())),
    }
}

//! `POST /api/projects/from-template`.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::response::IntoResponse;
use serde::Deserialize;
use uuid::Uuid;
use warp_domain::validate::{ComposeProjectName, GithubLogin, ProjectName, RepoName, RepoSlug, Subdomain};
use warp_domain::{ProjectCommand, ValidationError};
use warp_events::job::CreateFromTemplateInput;

use super::queue::ActionAccepted;
use super::{env_input, parse_opt};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::ApiJson;
use crate::routes::CommandContext;
use crate::AppState;

/// Body of `POST /api/projects/from-template`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FromTemplate {
    /// The project's name, which is also the new repository's: 1-64 ASCII letters, digits,
    /// `.`, `_`, `-` (GitHub's repository name rules and the panel's project name rules).
    pub name: String,
    /// The template repository, `owner/name`; it must be listed in the `template_repos`
    /// setting.
    pub template: String,
    /// Who owns the new repository (a user or organisation login); default: the user the
    /// panel's `github_token` belongs to.
    pub owner: Option<String>,
    /// Whether the new repository is private (it is then cloned with the token).
    pub private: bool,
    /// One RFC 1123 label (lower-cased), published as `<subdomain>.<base domain>` once deployed.
    pub subdomain: Option<String>,
    /// Queue the first deploy once the repository is cloned (default false).
    pub deploy: Option<bool>,
    /// Deploy env, as for `deploy-existing`.
    #[schema(value_type = Option<BTreeMap<String, String>>)]
    pub env: Option<BTreeMap<String, String>>,
}

/// Records a project whose code comes from a new GitHub repository generated from an
/// allowlisted template, and queues the job (github service) that creates the repository,
/// waits until it can be cloned, clones it into the project's workspace and, with `deploy`,
/// queues the first deploy. Follow the job at `Location`; the project's `repository` shows
/// the repository (and one a failed job left on GitHub).
#[utoipa::path(
    post, path = "/api/projects/from-template", tag = "projects",
    request_body = FromTemplate,
    responses(
        (status = 202, description = "Project created and its repository creation queued", body = ActionAccepted),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 409, description = "Name or subdomain taken by a live project", body = ErrorBody),
        (status = 422, description = "A field is invalid, or the template is not in template_repos", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn from_template(
    State(state): State<AppState>,
    ctx: CommandContext,
    ApiJson(body): ApiJson<FromTemplate>,
) -> ApiResult<impl IntoResponse> {
    let name = ProjectName::try_from(body.name)?;
    let repo_name = RepoName::parse("name", name.as_str())?;
    let template = RepoSlug::parse("template", &body.template)?;
    let owner = body.owner.map(|o| GithubLogin::try_from(o).map_err(|e| e.for_field("owner"))).transpose()?;
    let subdomain: Option<Subdomain> = parse_opt(body.subdomain)?;
    let env = env_input::parse(body.env.unwrap_or_default())?;
    let allowed = state.settings.load().await.map_err(ApiError::Internal)?.values.template_repos;
    if !allowed.iter().any(|t| t.eq_ignore_ascii_case(template.as_str())) {
        return Err(ValidationError::new(
            "template",
            format!("{} is not an allowed template: an admin lists templates in the template_repos setting", template.as_str()),
        )
        .into());
    }
    let id = Uuid::now_v7();
    let job_id = Uuid::now_v7();
    let compose_project = ComposeProjectName::for_project(&name, id);
    let deploy = body.deploy.unwrap_or(false);
    let command = |env| ProjectCommand::CreateFromTemplate {
        name: name.clone(),
        subdomain: subdomain.clone(),
        template,
        owner,
        repo_name,
        private: body.private,
        deploy,
        compose_project: compose_project.clone(),
        env,
        job_id,
    };
    let new = env_input::NewProject { id, name: &name, subdomain: subdomain.as_ref(), compose_project: &compose_project };
    env_input::create_with_env(&state, &ctx, new, &env, command).await?;
    // Queued right away, so the job runs with no relay or consumer involved; should this
    // process stop in between, the github service's handler queues the same job.
    warp_store::event_store::queue_job(&state.jobs, job_id, CreateFromTemplateInput { project_id: id }.into(), &ctx.metadata).await?;
    tracing::info!(project.id = %id, job.id = %job_id, "project from a template created");
    Ok(ActionAccepted { job_id, project_id: id }.response())
}

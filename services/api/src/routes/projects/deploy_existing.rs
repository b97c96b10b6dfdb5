//! `POST /api/projects/deploy-existing`.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::response::IntoResponse;
use serde::Deserialize;
use uuid::Uuid;
use warp_domain::validate::{ComposeProjectName, GitRef, GitUrl, ProjectName, RelativePath, RepoSlug, Subdomain};
use warp_domain::{ProjectCommand, ValidationError};
use warp_events::project::{DeployAction, ProjectSource};

use super::queue::{queue_action, ActionAccepted};
use super::{env_input, parse_opt};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::ApiJson;
use crate::routes::CommandContext;
use crate::AppState;

/// Where the code comes from: exactly one of `git`, `github` or `folder`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceInput {
    /// `{"git":{"url":"https://github.com/octo/shop.git","ref":"main"}}`.
    pub git: Option<GitSourceInput>,
    /// `{"github":{"repo":"octo/shop","ref":"main"}}`: cloned with the panel's `github_token`
    /// when one is set, so private repositories work.
    pub github: Option<GithubSourceInput>,
    /// `{"folder":{"path":"apps/shop"}}`.
    pub folder: Option<FolderSourceInput>,
}

/// A git repository: an `https://` or `ssh://` (or `user@host:path`) URL without credentials,
/// and a branch or tag (default `HEAD`, the remote's default branch).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GitSourceInput {
    pub url: String,
    #[serde(rename = "ref")]
    pub git_ref: Option<String>,
}

/// A GitHub repository as `owner/name` (GitHub's rules: the owner 1-39 letters, digits or
/// single hyphens; the name 1-100 ASCII letters, digits, `.`, `_`, `-`), and a branch or tag
/// (default `HEAD`, the repository's default branch).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GithubSourceInput {
    pub repo: String,
    #[serde(rename = "ref")]
    pub git_ref: Option<String>,
}

/// A folder relative to the workspaces root setting (ASCII letters, digits, `.`, `_`, `-`,
/// `/`; no `..`).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FolderSourceInput {
    pub path: String,
}

/// Body of `POST /api/projects/deploy-existing`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeployExisting {
    /// 1-64 ASCII letters, digits, spaces, `.`, `_`, `-`; starts with a letter or digit.
    pub name: String,
    pub source: SourceInput,
    /// Compose file relative to the source: ASCII letters, digits, `.`, `_`, `-`, `/`; no `..`,
    /// no leading `/`; symlinks must stay inside. Default: compose's own names (`compose.yaml`, `compose.yml`,
    /// `docker-compose.yml`, `docker-compose.yaml`).
    pub compose_file: Option<String>,
    /// Deploy env: `${NAME}` in the compose file. Names `[A-Za-z_][A-Za-z0-9_]*`; values are
    /// secrets (stored encrypted, never shown again), up to 4096 bytes, without `'`, `\`, `${`,
    /// CR, LF or NUL (see docs/API.md, "Deploy env").
    #[schema(value_type = Option<BTreeMap<String, String>>)]
    pub env: Option<BTreeMap<String, String>>,
    /// One RFC 1123 label (lower-cased), published as `<subdomain>.<base domain>`.
    pub subdomain: Option<String>,
}

/// Records a project that deploys a compose project from a git repository, a GitHub repository
/// or a folder, and
/// queues its first deploy. The deploy runs in the docker service as a job.
#[utoipa::path(
    post, path = "/api/projects/deploy-existing", tag = "projects",
    request_body = DeployExisting,
    responses(
        (status = 202, description = "Project created and its deploy queued", body = ActionAccepted),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 409, description = "Name or subdomain taken by a live project", body = ErrorBody),
        (status = 422, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn deploy_existing(
    State(state): State<AppState>,
    ctx: CommandContext,
    ApiJson(body): ApiJson<DeployExisting>,
) -> ApiResult<impl IntoResponse> {
    let name = ProjectName::try_from(body.name)?;
    let subdomain: Option<Subdomain> = parse_opt(body.subdomain)?;
    let source = parse_source(body.source)?;
    let compose_file = body.compose_file.map(|f| parse_compose_file(&f)).transpose()?;
    let env = env_input::parse(body.env.unwrap_or_default())?;
    let id = Uuid::now_v7();
    let compose_project = ComposeProjectName::for_project(&name, id);
    let command = |env| ProjectCommand::CreateDeployable {
        name: name.clone(),
        subdomain: subdomain.clone(),
        source,
        compose_file,
        compose_project: compose_project.clone(),
        env,
    };
    let new = env_input::NewProject { id, name: &name, subdomain: subdomain.as_ref(), compose_project: &compose_project };
    env_input::create_with_env(&state, &ctx, new, &env, command).await?;
    tracing::info!(project.id = %id, "compose project created");
    Ok(queue_action(&state, &ctx, id, DeployAction::Deploy).await?.response())
}

/// A compose file path: relative, portable characters, no `..`.
pub(super) fn parse_compose_file(raw: &str) -> Result<RelativePath, ValidationError> {
    RelativePath::parse("compose_file", raw)?.portable("compose_file")
}

/// The validated source. Folder paths are checked lexically here (relative, no `..`, not the
/// panel's `.warp/` folder); the docker service resolves them on its host, symlinks included.
pub(super) fn parse_source(source: SourceInput) -> Result<ProjectSource, ValidationError> {
    Ok(match (source.git, source.github, source.folder) {
        (Some(GitSourceInput { url, git_ref }), None, None) => {
            let url = GitUrl::parse("source.git.url", &url)?;
            let git_ref = GitRef::parse("source.git.ref", git_ref.as_deref().unwrap_or("HEAD"))?;
            ProjectSource::Git { url: url.as_str().to_owned(), git_ref: git_ref.as_str().to_owned() }
        }
        (None, Some(GithubSourceInput { repo, git_ref }), None) => {
            let repo = RepoSlug::parse("source.github.repo", &repo)?;
            let git_ref = GitRef::parse("source.github.ref", git_ref.as_deref().unwrap_or("HEAD"))?;
            ProjectSource::Github { repo: repo.as_str().to_owned(), git_ref: git_ref.as_str().to_owned() }
        }
        (None, None, Some(FolderSourceInput { path })) => {
            let path = RelativePath::parse("source.folder.path", &path)?.portable("source.folder.path")?;
            if path.as_str().split('/').next() == Some(".warp") {
                return Err(ValidationError::new("source.folder.path", ".warp/ holds the panel's own files"));
            }
            ProjectSource::Folder { path: path.as_str().to_owned() }
        }
        _ => return Err(ValidationError::new("source", "give exactly one of git, github or folder")),
    })
}

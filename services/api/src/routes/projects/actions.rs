//! `POST /api/projects/{id}/deploy`, `/stop`, `/start` and `/remove`: each queues a job.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::response::IntoResponse;
use serde::Deserialize;
use uuid::Uuid;
use warp_domain::ProjectCommand;
use warp_events::project::DeployAction;
use warp_store::deploy_env::DeployEnvStore;

use super::env_input;
use super::queue::{queue_action, ActionAccepted};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiPath, OptionalJson};
use crate::routes::CommandContext;
use crate::AppState;

/// Body of `POST /api/projects/{id}/deploy` (optional).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Redeploy {
    /// Replaces the whole deploy env first (same rules as in deploy-existing); absent keeps it.
    #[schema(value_type = Option<BTreeMap<String, String>>)]
    pub env: Option<BTreeMap<String, String>>,
}

/// Body of `POST /api/projects/{id}/remove` (optional).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Remove {
    /// Also delete the project's named volumes (`compose down --volumes`). Default false:
    /// data survives a remove.
    #[serde(default)]
    pub volumes: bool,
}

/// Deploys the project again: fetches the source at its ref and runs
/// `compose up --build -d`. A failed redeploy rolls back to the last good commit.
#[utoipa::path(
    post, path = "/api/projects/{id}/deploy", tag = "projects",
    params(("id" = Uuid, Path, description = "Project id")),
    request_body(content = Option<Redeploy>, description = "Optional new deploy env"),
    responses(
        (status = 202, description = "Deploy queued", body = ActionAccepted),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "Archived, or not a compose project", body = ErrorBody),
        (status = 422, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn redeploy(
    State(state): State<AppState>,
    ctx: CommandContext,
    ApiPath(id): ApiPath<Uuid>,
    OptionalJson(body): OptionalJson<Redeploy>,
) -> ApiResult<impl IntoResponse> {
    crate::access::ensure_project(&state.pool, &ctx.user.0, id).await?;
    if let Some(env) = body.env {
        let env = env_input::parse(env)?;
        let store = DeployEnvStore::new(state.pool.clone(), state.settings.keyring().clone());
        // Env changes of one project run one at a time (see `warp_store::deploy_env`).
        let lock = state.project_locks.acquire(id).await?;
        let began = store.now().await?;
        let fingerprints = store.store(id, &env).await.map_err(ApiError::Internal)?;
        warp_store::event_store::execute_project(&state.projects, id, ProjectCommand::SetDeployEnv { env: fingerprints }, &ctx.metadata)
            .await?;
        store.delete_superseded(id, began).await.map_err(ApiError::Internal)?;
        lock.release().await;
        let project = warp_store::event_store::load_project(&state.pool, id).await?;
        if let Some(deployment) = project.deployment {
            env_input::register(state.settings.redactor(), id, &deployment.compose_project, &env);
        }
    }
    Ok(queue_action(&state, &ctx, id, DeployAction::Deploy).await?.response())
}

/// Stops the project's containers (`compose stop`); they keep their state.
#[utoipa::path(
    post, path = "/api/projects/{id}/stop", tag = "projects",
    params(("id" = Uuid, Path, description = "Project id")),
    responses(
        (status = 202, description = "Stop queued", body = ActionAccepted),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn stop(State(state): State<AppState>, ctx: CommandContext, ApiPath(id): ApiPath<Uuid>) -> ApiResult<impl IntoResponse> {
    crate::access::ensure_project(&state.pool, &ctx.user.0, id).await?;
    Ok(queue_action(&state, &ctx, id, DeployAction::Stop).await?.response())
}

/// Starts the project's stopped containers (`compose start`).
#[utoipa::path(
    post, path = "/api/projects/{id}/start", tag = "projects",
    params(("id" = Uuid, Path, description = "Project id")),
    responses(
        (status = 202, description = "Start queued", body = ActionAccepted),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn start(State(state): State<AppState>, ctx: CommandContext, ApiPath(id): ApiPath<Uuid>) -> ApiResult<impl IntoResponse> {
    crate::access::ensure_project(&state.pool, &ctx.user.0, id).await?;
    Ok(queue_action(&state, &ctx, id, DeployAction::Start).await?.response())
}

/// Removes the project's containers and networks (`compose down`), keeping named volumes
/// unless `volumes` is true. The project itself stays (archive it to retire it).
#[utoipa::path(
    post, path = "/api/projects/{id}/remove", tag = "projects",
    params(("id" = Uuid, Path, description = "Project id")),
    request_body(content = Option<Remove>, description = "Optional: also remove volumes"),
    responses(
        (status = 202, description = "Remove queued", body = ActionAccepted),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn remove(
    State(state): State<AppState>,
    ctx: CommandContext,
    ApiPath(id): ApiPath<Uuid>,
    OptionalJson(body): OptionalJson<Remove>,
) -> ApiResult<impl IntoResponse> {
    crate::access::ensure_project(&state.pool, &ctx.user.0, id).await?;
    let action = if body.volumes { DeployAction::RemoveWithVolumes } else { DeployAction::Remove };
    Ok(queue_action(&state, &ctx, id, action).await?.response())
}

//! Who may read or act on what.
//!
//! - `admin` tokens reach every project and job.
//! - `member` tokens reach the projects their login created (the actor of the project's first
//!   event) and the jobs of those projects; every other project or job answers 404, exactly as
//!   one that does not exist, so ids of other users' projects reveal nothing.
//!
//! The owner is read from the event store, not the read model, so a project a member just
//! created is theirs before the projection catches up.

use std::time::Duration;

use sqlx::PgPool;
use uuid::Uuid;
use warp_store::tokens::{Principal, Role};

use crate::error::{ApiError, ApiResult};

/// The login that created project `id`, if it exists.
pub async fn project_owner(pool: &PgPool, id: Uuid) -> sqlx::Result<Option<String>> {
    let owner: Option<Option<String>> = sqlx::query_scalar(
        "select metadata ->> 'actor' from events
          where aggregate_type = 'project' and aggregate_id = $1 and sequence = 1",
    )
    .bind(id.to_string())
    .fetch_optional(pool)
    .await?;
    Ok(owner.flatten())
}

/// Refuses (404 `project not found`) a caller who may not reach project `id`, and anyone when
/// there is no such project.
pub async fn ensure_project(pool: &PgPool, user: &Principal, id: Uuid) -> ApiResult<()> {
    let exists = sqlx::query_scalar::<_, bool>(
        "select exists (select 1 from events where aggregate_type = 'project' and aggregate_id = $1)",
    )
    .bind(id.to_string())
    .fetch_one(pool)
    .await?;
    if !exists {
        return Err(ApiError::NotFound("project not found".into()));
    }
    if user.role == Role::Admin {
        return Ok(());
    }
    match project_owner(pool, id).await? {
        Some(owner) if owner == user.login => Ok(()),
        _ => Err(ApiError::NotFound("project not found".into())),
    }
}

/// Refuses (404 `job not found`) a caller who may not reach a job of `project_id` (jobs of
/// no project, such as tunnel restarts, are for admins).
pub async fn ensure_job(pool: &PgPool, user: &Principal, project_id: Option<Uuid>) -> ApiResult<()> {
    if user.role == Role::Admin {
        return Ok(());
    }
    let Some(project_id) = project_id else { return Err(ApiError::NotFound("job not found".into())) };
    ensure_project(pool, user, project_id).await.map_err(|_| ApiError::NotFound("job not found".into()))
}

/// The login whose projects a list shows: `None` (every project) for admins.
pub fn owner_filter(user: &Principal) -> Option<String> {
    (user.role != Role::Admin).then(|| user.login.clone())
}

/// The compose projects whose containers `user` may see: `None` (every container) for admins;
/// for a member, those of the projects their login created. Containers of no panel project
/// (the host's own, the panel's) are for admins only.
pub async fn visible_compose_projects(pool: &PgPool, user: &Principal) -> sqlx::Result<Option<Vec<String>>> {
    let Some(login) = owner_filter(user) else { return Ok(None) };
    let names: Vec<String> =
        sqlx::query_scalar("select compose_project from projects where created_by = $1 and compose_project is not null")
            .bind(login)
            .fetch_all(pool)
            .await?;
    Ok(Some(names))
}

/// How often a long-lived response (SSE) checks that its token is still live.
pub const REVALIDATE_EVERY: Duration = Duration::from_secs(5);

/// Completes when token `token_id` is revoked (checked every [`REVALIDATE_EVERY`]); a stream
/// wrapped with `take_until(token_revoked(…))` ends then, so revoking a token also cuts the
/// live streams it opened. A failed check (database unreachable) keeps the stream.
pub async fn token_revoked(pool: PgPool, token_id: Uuid) {
    loop {
        tokio::time::sleep(REVALIDATE_EVERY).await;
        match warp_store::tokens::is_live(&pool, token_id).await {
            Ok(false) => return,
            Ok(true) => {}
            Err(error) => tracing::debug!(error = %error, "checking a stream's token failed; will retry"),
        }
    }
}

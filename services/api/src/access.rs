//! Who may read or act on what.
//!
//! Sessions (browser logins) and tokens produce the same [`Principal`], so every rule here
//! applies to both.
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
use warp_store::tokens::{Credential, Principal, Role};

use crate::error::{ApiError, ApiResult};
use crate::AppState;

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

/// How often a long-lived response (SSE) checks that its token or session is still live.
pub const REVALIDATE_EVERY: Duration = Duration::from_secs(5);

/// Completes when `credential` stops working (checked every [`REVALIDATE_EVERY`]): a token is
/// revoked, or a session ends (logout, a timeout, or its user left the allowlist; see
/// [`crate::login::session::check`], which also renews the session: an open stream is use).
/// A stream wrapped with `take_until(credential_ended(…))` ends then. A failed check
/// (database unreachable) keeps the stream.
pub async fn credential_ended(state: AppState, credential: Credential) {
    loop {
        tokio::time::sleep(REVALIDATE_EVERY).await;
        let live = match credential {
            Credential::Token(id) => warp_store::tokens::is_live(&state.pool, id).await.map_err(ApiError::from),
            Credential::Session(id) => session_live(&state, id).await,
        };
        match live {
            Ok(false) => return,
            Ok(true) => {}
            Err(error) => tracing::debug!(error = ?error, "checking a stream's credential failed; will retry"),
        }
    }
}

async fn session_live(state: &AppState, id: Uuid) -> ApiResult<bool> {
    let Some(row) = warp_store::sessions::by_id(&state.pool, id).await? else { return Ok(false) };
    let metadata = warp_events::EventMetadata::default();
    let current = state.settings.load().await.map_err(ApiError::Internal)?;
    Ok(crate::login::session::check(state, &current, row, None, &metadata).await?.is_some())
}

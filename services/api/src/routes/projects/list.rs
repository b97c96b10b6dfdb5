//! `GET /api/projects`.

use axum::extract::State;
use serde::Deserialize;
use uuid::Uuid;
use warp_store::page::clamp_limit;
use warp_store::projections::projects::{self, ProjectFilter, ProjectView};

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiQuery, CurrentUser};
use crate::routes::Page;
use crate::AppState;

/// Query of `GET /api/projects`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListProjects {
    /// Include archived projects (default false).
    #[serde(default)]
    pub include_archived: bool,
    /// Cursor from the previous page's `next_cursor`.
    pub after: Option<Uuid>,
    /// Page size, 1-500 (default 50).
    pub limit: Option<i64>,
}

/// Projects, oldest first, from the read model.
#[utoipa::path(
    get, path = "/api/projects", tag = "projects",
    params(ListProjects),
    responses((status = 200, body = Page<ProjectView, Uuid>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn list_projects(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(query): ApiQuery<ListProjects>,
) -> ApiResult<axum::Json<Page<ProjectView, Uuid>>> {
    let limit = clamp_limit(query.limit);
    let created_by = crate::access::owner_filter(&user.0);
    if let Some(after) = query.after {
        // A project this caller does not see is no cursor of their list, exactly like an
        // unknown id.
        let listed = projects::get(&state.pool, after).await?.filter(|p| created_by.is_none() || p.created_by == created_by);
        if listed.is_none() {
            return Err(ApiError::BadRequest("`after` is not a cursor from this list".into()));
        }
    }
    let filter = ProjectFilter { include_archived: query.include_archived, after: query.after, created_by, limit };
    let items = projects::list(&state.pool, &filter).await?;
    Ok(axum::Json(Page::new(items, limit, |p| p.id)))
}

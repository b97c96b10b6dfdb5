//! `/api/audit`: the audit trail, and its rebuild.

use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;
use warp_store::page::clamp_limit;
use warp_store::projections::audit::{self, AuditFilter, AuditRow, RebuildReport};

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiQuery, CurrentUser};
use crate::routes::Page;
use crate::AppState;

/// Routes of this area.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_audit)).routes(routes!(rebuild_audit))
}

/// Query of `GET /api/audit`; filters combine with AND.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListAudit {
    /// GitHub login (or `system:<service>`).
    pub actor: Option<String>,
    /// Project id.
    pub project: Option<Uuid>,
    /// Action, e.g. `project.created`.
    pub action: Option<String>,
    /// Inclusive lower bound (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Exclusive upper bound (RFC 3339).
    pub to: Option<DateTime<Utc>>,
    /// Cursor from the previous page's `next_cursor`.
    pub before: Option<i64>,
    /// Page size, 1-500 (default 50).
    pub limit: Option<i64>,
}

/// The audit trail, newest first. A member reads only their own actions and the rows of the
/// projects they created.
#[utoipa::path(
    get, path = "/api/audit", tag = "audit",
    params(ListAudit),
    responses((status = 200, body = Page<AuditRow, i64>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn list_audit(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(query): ApiQuery<ListAudit>,
) -> ApiResult<axum::Json<Page<AuditRow, i64>>> {
    if let (Some(from), Some(to)) = (query.from, query.to) {
        if from >= to {
            return Err(ApiError::BadRequest("`from` must be before `to`".into()));
        }
    }
    let limit = clamp_limit(query.limit);
    let filter = AuditFilter {
        actor: query.actor,
        project_id: query.project,
        action: query.action,
        from: query.from,
        to: query.to,
        before: query.before,
        visible_to: crate::access::owner_filter(&user.0),
        limit,
    };
    let items = audit::list(&state.pool, &filter).await?;
    Ok(axum::Json(Page::new(items, limit, |row| row.global_position)))
}

/// Rebuilds the audit trail from the event store and swaps it in (admin only).
#[utoipa::path(
    post, path = "/api/admin/audit/rebuild", tag = "audit",
    responses(
        (status = 200, body = RebuildReport), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, description = "A rebuild is already running", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn rebuild_audit(State(state): State<AppState>, user: CurrentUser) -> ApiResult<axum::Json<RebuildReport>> {
    user.require_admin()?;
    // The rebuild runs to its end even if the client leaves or the request times out.
    let pool = state.pool.clone();
    let rebuild = tokio::spawn(async move { audit::rebuild(&pool).await });
    let report = rebuild.await.map_err(|error| ApiError::Internal(error.into()))?.map_err(|error| {
        if error.is::<audit::RebuildRunning>() {
            ApiError::Conflict(error.to_string())
        } else {
            ApiError::Internal(error)
        }
    })?;
    tracing::info!(audit.events = report.events, duration_ms = report.duration_ms, "audit trail rebuilt");
    Ok(axum::Json(report))
}

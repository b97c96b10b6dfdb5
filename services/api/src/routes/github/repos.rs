//! `GET /api/github/repos`: the repositories the panel's GitHub token can see.

use axum::extract::State;
use serde::Deserialize;
use warp_events::github::{RepoPage, RepoQuery};
use warp_events::subjects;

use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiQuery, CurrentUser};
use crate::AppState;

/// Query of `GET /api/github/repos`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReposQuery {
    /// Only repositories whose `owner/name` contains this text (case-insensitive).
    pub q: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1-500 (default 50).
    pub limit: Option<i64>,
}

/// Every repository the panel's token can see (all of GitHub's pages), sorted by full name,
/// filtered by `q`, paged by `cursor`. Read through the github service, which caches the list
/// for 30 s per token and reports GitHub's rate limit (`rate_limit`); when that is used up
/// the answer is 429 `rate_limited` with `Retry-After`.
#[utoipa::path(
    get, path = "/api/github/repos", tag = "github",
    params(ReposQuery),
    responses(
        (status = 200, body = RepoPage),
        (status = 401, body = ErrorBody),
        (status = 422, body = ErrorBody),
        (status = 429, description = "GitHub's rate limit is used up; Retry-After says for how long", body = ErrorBody),
        (status = 503, description = "No github_token is set, GitHub or the github service did not answer", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn list_repos(State(state): State<AppState>, _user: CurrentUser, ApiQuery(query): ApiQuery<ReposQuery>) -> ApiResult<axum::Json<RepoPage>> {
    let q = query.q.map(|q| check_text("q", q)).transpose()?;
    let cursor = query.cursor.map(|c| check_text("cursor", c)).transpose()?;
    let limit = warp_store::page::clamp_limit(query.limit) as u32;
    let page: RepoPage = super::request::request(&state, subjects::GITHUB_REPOS, &RepoQuery { q, cursor, limit }).await?;
    Ok(axum::Json(page))
}

/// A search text or cursor: at most 200 characters of `owner/name` characters.
fn check_text(field: &str, raw: String) -> Result<String, warp_domain::ValidationError> {
    let ok = raw.len() <= 200 && raw.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'));
    if ok {
        Ok(raw)
    } else {
        Err(warp_domain::ValidationError::new(field, "at most 200 ASCII letters, digits, '-', '_', '.' or '/'"))
    }
}

//! `GET /auth/me`.

use axum::Extension;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;
use warp_store::tokens::{Credential, Role};

use crate::error::{ApiResult, ErrorBody};
use crate::extract::CurrentUser;
use crate::login::session::LiveSession;

/// Who is calling.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Me {
    /// GitHub login (sessions) or the token's login.
    pub login: String,
    pub role: Role,
    /// `session` or `token`.
    pub auth: &'static str,
    /// Numeric GitHub user id (sessions only).
    pub github_user_id: Option<u64>,
    /// The session (sessions only).
    pub session: Option<SessionInfo>,
}

/// A browser session as its owner sees it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionInfo {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    /// When the session ends: the earlier of the idle and the absolute expiry.
    pub expires_at: DateTime<Utc>,
    /// When it ends unless used again.
    pub idle_expires_at: DateTime<Utc>,
    /// When it ends in any case.
    pub absolute_expires_at: DateTime<Utc>,
    /// Send as `X-CSRF-Token` on every request that is not GET/HEAD/OPTIONS.
    pub csrf_token: String,
}

/// The caller: user, role and, for a browser session, its expiry and CSRF token.
#[utoipa::path(
    get, path = "/auth/me", tag = "auth",
    responses((status = 200, body = Me), (status = 401, body = ErrorBody)),
    security(("bearer" = []), ("session" = []))
)]
pub async fn me(user: CurrentUser, session: Option<Extension<LiveSession>>) -> ApiResult<axum::Json<Me>> {
    let session = session.map(|s| s.0).filter(|s| user.0.credential == Credential::Session(s.id));
    Ok(axum::Json(Me {
        login: user.0.login.clone(),
        role: user.0.role,
        auth: if session.is_some() { "session" } else { "token" },
        github_user_id: session.as_ref().map(|s| s.github_user_id),
        session: session.map(|s| SessionInfo {
            id: s.id,
            created_at: s.created_at,
            expires_at: s.expires_at(),
            idle_expires_at: s.idle_expires_at,
            absolute_expires_at: s.absolute_expires_at,
            csrf_token: s.csrf_token,
        }),
    }))
}

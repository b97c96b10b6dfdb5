//! A presented session: is it still live, as whom, until when; and ending one.
//!
//! Checked on every request and every stream re-check (see [`check`]):
//! 1. ended (`ended_at` set) → not live;
//! 2. older than `session_absolute_seconds`, or unused for `session_idle_seconds` → ended
//!    (`absolute_timeout` / `idle_timeout`);
//! 3. the allowlist of the *current* settings: in `admins` or `allowed_users` → live (role
//!    from `admins`); otherwise, if an org is allowlisted, the last GitHub confirmation counts
//!    for [`super::LoginOptions::recheck_every`], after which the user's token asks GitHub
//!    again (`GET /user/memberships/orgs/{org}`); no active membership, a token GitHub no
//!    longer accepts, or a `github_api_url` other than the one the token was issued for (the
//!    token is never sent elsewhere) → ended (`access_revoked`). When GitHub cannot be reached the session
//!    stays and the check is repeated at the next request.
//! 4. a live session's idle timer restarts (the request is a use).

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use uuid::Uuid;
use warp_domain::session::Allowlist;
use warp_domain::SessionCommand;
use warp_events::session::EndReason;
use warp_events::EventMetadata;
use warp_store::sessions::{self, SessionRow};
use warp_store::settings::CurrentSettings;
use warp_store::tokens::Role;

use super::github::{GithubError, Membership};
use crate::error::ApiError;
use crate::AppState;

/// A session that passed [`check`], as handlers see it (request extension).
#[derive(Debug, Clone)]
pub struct LiveSession {
    pub id: Uuid,
    pub github_user_id: u64,
    pub login: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
    /// When the session ends unless used again (idle timeout from now).
    pub idle_expires_at: DateTime<Utc>,
    /// When the session ends in any case (absolute timeout).
    pub absolute_expires_at: DateTime<Utc>,
    /// The token `X-CSRF-Token` must carry (see [`super::csrf`]).
    pub csrf_token: String,
}

impl LiveSession {
    /// The earlier of the two expiries.
    pub fn expires_at(&self) -> DateTime<Utc> {
        self.idle_expires_at.min(self.absolute_expires_at)
    }
}

/// The session `row` if it is still live (see the module doc), renewing its idle timer;
/// `None` when it is not (and then it is ended, with its event, if it had not been).
/// `current` are the settings now; `cookie` is the presented cookie (for the CSRF token;
/// `None` on stream re-checks).
pub async fn check(
    state: &AppState,
    current: &CurrentSettings,
    row: SessionRow,
    cookie: Option<&str>,
    metadata: &EventMetadata,
) -> Result<Option<LiveSession>, ApiError> {
    if row.ended_at.is_some() {
        return Ok(None);
    }
    let values = &current.values;
    let absolute_expires_at = row.created_at + ChronoDuration::seconds(values.session_absolute_seconds.into());
    if row.now >= absolute_expires_at {
        end(state, &row, EndReason::AbsoluteTimeout, metadata).await?;
        return Ok(None);
    }
    if row.now >= row.last_seen_at + ChronoDuration::seconds(values.session_idle_seconds.into()) {
        end(state, &row, EndReason::IdleTimeout, metadata).await?;
        return Ok(None);
    }
    let allowlist = Allowlist::of(values);
    let (id, login) = (row.github_user_id as u64, row.login.as_str());
    if allowlist.listed(id, login).is_none() && !still_org_member(state, &row, &allowlist, &values.github_api_url).await? {
        end(state, &row, EndReason::AccessRevoked, metadata).await?;
        return Ok(None);
    }
    let role = if allowlist.is_admin(id, login) { Role::Admin } else { Role::Member };
    sessions::touch(&state.pool, row.id, role.as_str()).await?;
    Ok(Some(LiveSession {
        id: row.id,
        github_user_id: id,
        login: row.login.clone(),
        role,
        created_at: row.created_at,
        idle_expires_at: (row.now + ChronoDuration::seconds(values.session_idle_seconds.into())).min(absolute_expires_at),
        absolute_expires_at,
        csrf_token: cookie.map(super::csrf::token).unwrap_or_default(),
    }))
}

/// Whether a user not listed by id or login still gets in through an allowlisted org: the
/// last confirmation is trusted for `recheck_every`, then GitHub is asked again.
async fn still_org_member(state: &AppState, row: &SessionRow, allowlist: &Allowlist, api_url: &str) -> Result<bool, ApiError> {
    if allowlist.orgs().is_empty() {
        return Ok(false);
    }
    let recheck = ChronoDuration::from_std(state.login.recheck_every).unwrap_or(ChronoDuration::MAX);
    if row.now < row.checked_at + recheck {
        return Ok(true);
    }
    let token = sessions::github_token(&state.pool, state.settings.keyring(), row.id, api_url).await.map_err(ApiError::Internal)?;
    let Some(token) = token else {
        return Ok(false);
    };
    for org in allowlist.orgs() {
        match state.github.membership(api_url, &token, org).await {
            Ok(Membership::Active) => {
                sessions::checked(&state.pool, row.id).await?;
                return Ok(true);
            }
            Ok(_) => {}
            Err(GithubError::TokenRevoked) => return Ok(false),
            Err(error) => {
                tracing::warn!(session.id = %row.id, error = %error, "session re-check postponed: GitHub not reachable");
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// Ends session `row` for `reason` and records `SessionEnded` (once, even when two requests
/// end it at the same time).
pub async fn end(state: &AppState, row: &SessionRow, reason: EndReason, metadata: &EventMetadata) -> Result<(), ApiError> {
    if !sessions::end(&state.pool, row.id, reason_name(reason)).await? {
        return Ok(());
    }
    let metadata = EventMetadata { actor: Some(row.login.clone()), ..metadata.clone() };
    let command = SessionCommand::End { reason };
    if let Err(error) = warp_store::event_store::execute_session(&state.sessions, row.id, command, &metadata).await {
        tracing::error!(session.id = %row.id, error = %error, "recording the end of a session failed");
    }
    tracing::info!(session.id = %row.id, reason = reason_name(reason), "session ended");
    Ok(())
}

fn reason_name(reason: EndReason) -> &'static str {
    match reason {
        EndReason::Logout => "logout",
        EndReason::IdleTimeout => "idle_timeout",
        EndReason::AbsoluteTimeout => "absolute_timeout",
        EndReason::AccessRevoked => "access_revoked",
    }
}

//! `GET /auth/callback`.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use chrono::Utc;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use uuid::Uuid;
use warp_domain::SessionCommand;
use warp_events::session::{AdmittedBy, RefusalReason};
use warp_events::EventMetadata;
use warp_store::event_store::execute_session;
use warp_store::sessions::{self, NewSession};

use super::page;
use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiQuery;
use crate::login::github::{GithubError, GithubUser, Membership};
use crate::login::{cookies, LoginConfig};
use crate::request_id::RequestIds;
use crate::AppState;

/// Query GitHub sends back: `code` and `state`, or `error` (e.g. `access_denied`) and `state`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct CallbackQuery {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// Finishes a GitHub login. Checks the `state` (known, unused, under 10 minutes old, started
/// in this browser), exchanges the code with the PKCE verifier, reads `/user`, and admits the
/// user when listed in `admins` or `allowed_users` (by id or login) or an active member of an
/// allowlisted org (asked with the user's token). Admitted: a new session (fresh cookie) and a
/// 303 to `return_to`; refused: 403 saying why, no session, and a `LoginRefused` event. The
/// answer is HTML when the browser asks for it, else the JSON error body.
#[utoipa::path(
    get, path = "/auth/callback", tag = "auth",
    params(CallbackQuery),
    responses(
        (status = 303, description = "Logged in: to `return_to`, with the session cookie"),
        (status = 400, description = "State missing, unknown, used, expired or from another browser", body = ErrorBody),
        (status = 403, description = "Not allowlisted, or GitHub refused the code", body = ErrorBody),
        (status = 503, description = "GitHub did not answer, or login is not configured", body = ErrorBody),
    )
)]
pub async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    ids: Option<Extension<RequestIds>>,
    ApiQuery(query): ApiQuery<CallbackQuery>,
) -> Response {
    let html = page::wants_html(&headers);
    let metadata = EventMetadata {
        actor: None,
        request_id: ids.as_ref().map(|i| i.request_id.clone()),
        correlation_id: ids.map(|i| i.0.correlation_id),
        causation_id: None,
    };
    match finish(&state, &headers, query, metadata).await {
        Ok(response) => response,
        Err(error) => page::failure(error, html),
    }
}

async fn finish(state: &AppState, headers: &HeaderMap, query: CallbackQuery, metadata: EventMetadata) -> Result<Response, ApiError> {
    let start_again = "start again at /auth/login";
    let login_state = query.state.ok_or_else(|| ApiError::BadRequest(format!("the callback has no state; {start_again}")))?;
    let current = state.settings.load().await.map_err(ApiError::Internal)?;
    let https = current.values.public_url.as_deref().is_some_and(|u| u.starts_with("https://"));
    let browser = cookies::read(headers, cookies::accepted(cookies::BINDING, https));
    let attempt = if sessions::is_secret_shaped(&login_state) {
        sessions::take_attempt(&state.pool, state.settings.keyring(), &login_state, browser.as_deref()).await.map_err(ApiError::Internal)?
    } else {
        None
    };
    let attempt = attempt.ok_or_else(|| ApiError::BadRequest(format!("unknown or already used login state; {start_again}")))?;
    if attempt.expired {
        return Err(ApiError::BadRequest(format!("the login took longer than 10 minutes; {start_again}")));
    }
    if !attempt.same_browser {
        return Err(ApiError::BadRequest(format!("this login was started in another browser; {start_again} in this one")));
    }
    if let Some(error) = query.error {
        let detail = format!("{error}: {}", query.error_description.unwrap_or_default());
        refuse(state, None, RefusalReason::DeniedOnGithub, Some(clean(&detail)), &metadata).await?;
        return Err(ApiError::Forbidden(format!("GitHub did not authorise the login ({})", clean(&error))));
    }
    let code = query.code.ok_or_else(|| ApiError::BadRequest(format!("the callback has no code; {start_again}")))?;
    let config = LoginConfig::of(&current)?;
    let token = match state.github.exchange(&config, &code, &attempt.verifier).await {
        Ok(token) => token,
        Err(GithubError::Refused { code, description }) => {
            let detail = format!("{code}{}", description.map(|d| format!(": {d}")).unwrap_or_default());
            refuse(state, None, RefusalReason::CodeRejected, Some(detail.clone()), &metadata).await?;
            return Err(ApiError::Forbidden(format!("GitHub refused the login ({detail}); {start_again}")));
        }
        Err(error) => return Err(ApiError::Unavailable(error.to_string())),
    };
    let user = state.github.user(&config.api_url, &token).await.map_err(|e| ApiError::Unavailable(e.to_string()))?;
    let (admitted_by, org, blocked) = admission(state, &config, &user, &token).await?;
    let Some(admitted_by) = admitted_by else {
        refuse(state, Some(&user), RefusalReason::NotAllowlisted, None, &metadata).await?;
        let hint = if blocked { " (an allowlisted org does not let this app see its members; an org owner must approve it)" } else { "" };
        return Err(ApiError::Forbidden(format!(
            "GitHub user {} (id {}) is not allowed to use this panel{hint}; ask an admin to add you",
            user.login, user.id
        )));
    };
    let id = Uuid::now_v7();
    let role = config.allowlist.role(user.id, &user.login);
    let new = NewSession {
        id,
        github_user_id: user.id,
        login: &user.login,
        role,
        github_token: Some(token.expose_secret()),
        github_api_url: &config.api_url,
        org_confirmed: admitted_by == AdmittedBy::OrgMember,
    };
    let cookie = sessions::create(&state.pool, state.settings.keyring(), new).await?;
    let expires_at = Utc::now() + chrono::Duration::seconds(config.absolute_seconds.into());
    let command = SessionCommand::Start { github_user_id: user.id, login: user.login.clone(), role: role.to_owned(), admitted_by, org, expires_at };
    let metadata = EventMetadata { actor: Some(user.login.clone()), ..metadata };
    execute_session(&state.sessions, id, command, &metadata).await?;
    tracing::info!(session.id = %id, github.login = %user.login, role, "login admitted");
    let https = config.public_url.is_https();
    let location = HeaderValue::from_str(&attempt.return_to).map_err(|_| ApiError::BadRequest("return_to is not a header value".into()))?;
    let headers = [
        (header::LOCATION, location),
        (header::SET_COOKIE, cookies::set(cookies::SESSION, https, &cookie, config.absolute_seconds.into())),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
    ];
    Ok((StatusCode::SEE_OTHER, headers).into_response())
}

/// How `user` gets in (`None`: not at all), the org that admitted them, and whether an org
/// hid its members from the app.
async fn admission(
    state: &AppState,
    config: &LoginConfig,
    user: &GithubUser,
    token: &SecretString,
) -> Result<(Option<AdmittedBy>, Option<String>, bool), ApiError> {
    if let Some(listed) = config.allowlist.listed(user.id, &user.login) {
        return Ok((Some(listed), None, false));
    }
    let mut blocked = false;
    for org in config.allowlist.orgs() {
        match state.github.membership(&config.api_url, token, org).await {
            Ok(Membership::Active) => return Ok((Some(AdmittedBy::OrgMember), Some(org.clone()), false)),
            Ok(Membership::Blocked) => blocked = true,
            Ok(Membership::Pending | Membership::None) => {}
            Err(error) => return Err(ApiError::Unavailable(error.to_string())),
        }
    }
    Ok((None, None, blocked))
}

/// Records a refused login (its own `session` aggregate, no session).
async fn refuse(
    state: &AppState,
    user: Option<&GithubUser>,
    reason: RefusalReason,
    detail: Option<String>,
    metadata: &EventMetadata,
) -> Result<(), ApiError> {
    let command = SessionCommand::RefuseLogin {
        github_user_id: user.map(|u| u.id),
        login: user.map(|u| u.login.clone()),
        reason,
        detail,
    };
    let metadata = EventMetadata { actor: user.map(|u| u.login.clone()), ..metadata.clone() };
    execute_session(&state.sessions, Uuid::now_v7(), command, &metadata).await?;
    tracing::info!(github.login = user.map(|u| u.login.as_str()).unwrap_or(""), reason = ?reason, "login refused");
    Ok(())
}

/// Outside text made safe to store and show: no control characters, at most 200 characters.
fn clean(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(200).collect()
}

//! Authentication of `/api/*` and `/auth/me|logout`: a bearer token or a session cookie.
//!
//! - `Authorization: Bearer <token>` is checked against `api_tokens`; when it is present the
//!   cookie is ignored (scripts are unaffected by sessions and CSRF rules).
//! - Otherwise the session cookie is checked ([`crate::login::session::check`]); requests that
//!   change state must pass the CSRF rule ([`crate::login::csrf`]).
//!
//! Both put the same [`Principal`] into the request extensions, so handlers and
//! [`crate::access`] treat them alike; a session also puts its
//! [`crate::login::session::LiveSession`] there.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use warp_events::EventMetadata;
use warp_store::tokens::{Credential, Principal};

use crate::error::ApiError;
use crate::login::{cookies, csrf, session};
use crate::request_id::RequestIds;
use crate::AppState;

/// Middleware: a valid token or a live session, or 401; the CSRF rule for cookie-authenticated
/// state changes (403).
pub async fn require_auth(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let bearer = request
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(|v| v.trim().to_owned());
    let principal = match bearer {
        Some(presented) => match warp_store::tokens::authenticate(&state.pool, &presented).await {
            Ok(Some(principal)) => principal,
            Ok(None) => return ApiError::Unauthorized.into_response(),
            Err(error) => return ApiError::from(error).into_response(),
        },
        None => match session_principal(&state, &mut request).await {
            Ok(principal) => principal,
            Err(error) => return error.into_response(),
        },
    };
    tracing::Span::current().record("actor", principal.login.as_str());
    request.extensions_mut().insert(principal);
    next.run(request).await
}

async fn session_principal(state: &AppState, request: &mut Request) -> Result<Principal, ApiError> {
    let current = state.settings.load().await.map_err(ApiError::Internal)?;
    let https = current.values.public_url.as_deref().is_some_and(|u| u.starts_with("https://"));
    let cookie = cookies::read(request.headers(), cookies::accepted(cookies::SESSION, https)).ok_or(ApiError::Unauthorized)?;
    let row = warp_store::sessions::by_cookie(&state.pool, &cookie).await?.ok_or(ApiError::Unauthorized)?;
    let ids = request.extensions().get::<RequestIds>().cloned();
    let metadata = EventMetadata {
        actor: None,
        request_id: ids.as_ref().map(|i| i.request_id.clone()),
        correlation_id: ids.map(|i| i.correlation_id),
        causation_id: None,
    };
    let live = session::check(state, &current, row, Some(&cookie), &metadata).await?.ok_or(ApiError::Unauthorized)?;
    if !csrf::is_safe(request.method()) {
        csrf::check(request.headers(), current.values.public_url.as_deref(), &cookie)?;
    }
    let principal = Principal { credential: Credential::Session(live.id), login: live.login.clone(), role: live.role };
    request.extensions_mut().insert(live);
    Ok(principal)
}

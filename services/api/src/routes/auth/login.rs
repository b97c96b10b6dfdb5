//! `GET /auth/login`.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use oauth2::PkceCodeChallenge;
use serde::Deserialize;
use warp_domain::validate::ReturnPath;
use warp_store::sessions;

use super::page;
use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiQuery;
use crate::login::{cookies, LoginConfig};
use crate::AppState;

/// Query of `GET /auth/login`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct LoginQuery {
    /// Where to go after login: a path of this panel (`/projects`); default `/`. Anything that
    /// could leave the panel (`//host`, `/\host`, a scheme, their percent-encodings) is refused.
    pub return_to: Option<String>,
}

/// Starts a GitHub login: records a fresh `state` (256 random bits, single use, valid 10
/// minutes, bound to this browser by the `warp_login` cookie) and a PKCE S256 verifier, then
/// redirects (303) to GitHub's authorize page asking for the `read:org` scope.
#[utoipa::path(
    get, path = "/auth/login", tag = "auth",
    params(LoginQuery),
    responses(
        (status = 303, description = "To GitHub's authorize URL; sets the login binding cookie"),
        (status = 400, body = ErrorBody),
        (status = 422, description = "`return_to` is not a path of this panel", body = ErrorBody),
        (status = 503, description = "Login is not configured (client id, client secret, public_url)", body = ErrorBody),
    )
)]
pub async fn login(State(state): State<AppState>, headers: HeaderMap, ApiQuery(query): ApiQuery<LoginQuery>) -> Response {
    let html = page::wants_html(&headers);
    match start(&state, &headers, query).await {
        Ok(response) => response,
        Err(error) => page::failure(error, html),
    }
}

async fn start(state: &AppState, headers: &HeaderMap, query: LoginQuery) -> Result<Response, ApiError> {
    let return_to = ReturnPath::parse("return_to", query.return_to.as_deref().unwrap_or("/"))?;
    let current = state.settings.load().await.map_err(ApiError::Internal)?;
    let config = LoginConfig::of(&current)?;
    let https = config.public_url.is_https();
    let browser = cookies::read(headers, cookies::accepted(cookies::BINDING, https))
        .filter(|b| sessions::is_secret_shaped(b))
        .unwrap_or_else(sessions::random_secret);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let ttl = state.login.state_ttl;
    let login_state =
        sessions::create_attempt(&state.pool, state.settings.keyring(), &browser, verifier.secret(), return_to.as_str(), ttl).await?;
    let url = state.github.authorize_url(&config, &login_state, challenge).map_err(|e| ApiError::Unavailable(e.to_string()))?;
    let location = HeaderValue::from_str(&url).map_err(|_| ApiError::Internal(anyhow::anyhow!("the authorize URL is not a header value")))?;
    let cookie = cookies::set(cookies::BINDING, https, &browser, ttl.as_secs());
    let headers = [(header::LOCATION, location), (header::SET_COOKIE, cookie), (header::CACHE_CONTROL, HeaderValue::from_static("no-store"))];
    Ok((StatusCode::SEE_OTHER, headers).into_response())
}

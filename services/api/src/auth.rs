//! Authentication of `/api/*`: `Authorization: Bearer <token>` checked against `api_tokens`.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::AppState;

/// Middleware on every `/api` route: a valid, unrevoked token or 401. Puts the
/// [`warp_store::tokens::Principal`] into the request extensions.
pub async fn require_token(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let presented = request
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim);
    let Some(presented) = presented else {
        return ApiError::Unauthorized.into_response();
    };
    match warp_store::tokens::authenticate(&state.pool, presented).await {
        Ok(Some(principal)) => {
            tracing::Span::current().record("actor", principal.login.as_str());
            request.extensions_mut().insert(principal);
            next.run(request).await
        }
        Ok(None) => ApiError::Unauthorized.into_response(),
        Err(error) => ApiError::from(error).into_response(),
    }
}

//! `/api/tokens`: list and revoke API tokens. Creating one is `warp token create` on the
//! server, which shows the secret once.

use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;
use warp_store::tokens::{self, Role, TokenInfo};

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiPath, CurrentUser};
use crate::AppState;

/// Routes of this area.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_tokens)).routes(routes!(revoke_token))
}

/// The caller's tokens (every token for an admin). Secrets are never shown.
#[utoipa::path(
    get, path = "/api/tokens", tag = "tokens",
    responses((status = 200, body = Vec<TokenInfo>), (status = 401, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn list_tokens(State(state): State<AppState>, user: CurrentUser) -> ApiResult<axum::Json<Vec<TokenInfo>>> {
    let login = (user.0.role != Role::Admin).then_some(user.0.login.as_str());
    Ok(axum::Json(tokens::list(&state.pool, login).await?))
}

/// Revokes a token: the caller's own, or any for an admin.
#[utoipa::path(
    delete, path = "/api/tokens/{id}", tag = "tokens",
    params(("id" = Uuid, Path, description = "Token id")),
    responses((status = 204, description = "Revoked"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn revoke_token(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    let login = (user.0.role != Role::Admin).then_some(user.0.login.as_str());
    if tokens::revoke(&state.pool, id, login).await? {
        tracing::info!(token.id = %id, "token revoked");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("no such live token".into()))
    }
}

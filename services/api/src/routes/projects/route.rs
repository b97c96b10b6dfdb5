//! `PUT /api/projects/{id}/route` and `DELETE /api/projects/{id}/route`: ask for the project's
//! route `<subdomain>.<base domain>` → a service URL, or withdraw it. The cloudflare service
//! publishes it (`publish_route` job) or unpublishes it after the grace period
//! (`route_grace_seconds`); follow it on `GET /api/projects/{id}` (`route`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use warp_domain::validate::ServiceUrl;
use warp_domain::ProjectCommand;

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath};
use crate::routes::CommandContext;
use crate::AppState;

/// Body of `PUT /api/projects/{id}/route`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteInput {
    /// Where the tunnel sends the traffic: `http://` or `https://`, a host (`localhost`, an
    /// IP, a container name) and an optional port; no path, query or user.
    #[schema(example = "http://localhost:8080")]
    pub service_url: String,
}

/// Answer of both route actions.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RouteAccepted {
    pub project_id: Uuid,
    /// `pending` (a publish is queued) or `unpublishing` (after the grace period).
    pub state: &'static str,
    /// The service URL in its normal form (PUT only).
    pub service_url: Option<String>,
    /// Seconds before a withdrawn route is unpublished (DELETE only).
    pub unpublish_after_seconds: Option<u64>,
}

/// Asks for the project's route. Refused for a project without a subdomain (409), an
/// archived one (409), or a service URL with a path, query, user or other scheme (422).
#[utoipa::path(
    put, path = "/api/projects/{id}/route", tag = "projects",
    params(("id" = Uuid, Path, description = "Project id")),
    request_body = RouteInput,
    responses(
        (status = 202, description = "A publish is queued", body = RouteAccepted),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn put_route(
    State(state): State<AppState>,
    ctx: CommandContext,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<RouteInput>,
) -> ApiResult<impl IntoResponse> {
    crate::access::ensure_project(&state.pool, &ctx.user.0, id).await?;
    let service_url = ServiceUrl::parse("service_url", &body.service_url)?;
    let command = ProjectCommand::RequestRoute { service_url: service_url.as_str().to_owned() };
    warp_store::event_store::execute_project(&state.projects, id, command, &ctx.metadata).await?;
    tracing::info!(project.id = %id, "route requested");
    let accepted = RouteAccepted { project_id: id, state: "pending", service_url: Some(service_url.into()), unpublish_after_seconds: None };
    Ok((StatusCode::ACCEPTED, axum::Json(accepted)))
}

/// Withdraws the project's route: its DNS record and ingress rule are removed after the
/// grace period. A project that asks for no route answers 202 too and nothing is recorded.
#[utoipa::path(
    delete, path = "/api/projects/{id}/route", tag = "projects",
    params(("id" = Uuid, Path, description = "Project id")),
    responses(
        (status = 202, description = "The unpublish is scheduled", body = RouteAccepted),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn delete_route(
    State(state): State<AppState>,
    ctx: CommandContext,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<impl IntoResponse> {
    crate::access::ensure_project(&state.pool, &ctx.user.0, id).await?;
    warp_store::event_store::execute_project(&state.projects, id, ProjectCommand::WithdrawRoute, &ctx.metadata).await?;
    let grace = state.settings.load().await.map_err(ApiError::Internal)?.values.route_grace_seconds;
    let accepted = RouteAccepted { project_id: id, state: "unpublishing", service_url: None, unpublish_after_seconds: Some(grace) };
    Ok((StatusCode::ACCEPTED, axum::Json(accepted)))
}

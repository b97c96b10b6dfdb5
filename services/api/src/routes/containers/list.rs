//! `GET /api/containers`: the running containers of the host.

use axum::extract::State;
use warp_events::docker::ContainerList;
use warp_events::subjects;

use super::docker;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::CurrentUser;
use crate::AppState;

/// Running containers (ordered by name) with image, state, health, compose project and
/// service, published ports and start time, as the docker service reads them from the engine.
/// A member sees only the containers of their own projects.
#[utoipa::path(
    get, path = "/api/containers", tag = "containers",
    responses(
        (status = 200, body = ContainerList),
        (status = 401, body = ErrorBody),
        (status = 503, description = "The docker service did not answer within 5 s, or the engine is unreachable", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn list_containers(State(state): State<AppState>, user: CurrentUser) -> ApiResult<axum::Json<ContainerList>> {
    let mut list: ContainerList = docker::request(&state, subjects::DOCKER_CONTAINERS, &serde_json::json!({})).await?;
    if let Some(visible) = crate::access::visible_compose_projects(&state.pool, &user.0).await? {
        list.containers.retain(|c| c.compose_project.as_ref().is_some_and(|p| visible.contains(p)));
    }
    Ok(axum::Json(list))
}

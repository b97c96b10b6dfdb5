//! `POST /api/tunnel/restart`.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use serde::Serialize;
use uuid::Uuid;
use warp_events::job::RestartTunnelInput;

use crate::error::{ApiResult, ErrorBody};
use crate::routes::CommandContext;
use crate::AppState;

/// Answer of a restart request.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RestartAccepted {
    /// The `restart_tunnel` job: follow it at `/api/jobs/{job_id}` and its logs.
    pub job_id: Uuid,
}

/// Queues a `restart_tunnel` job: the cloudflare service restarts the configured cloudflared
/// (local mode, `cloudflared_restart` `container` or `command`) between ingress writes, and
/// checks that it came back. In remote mode, or with `cloudflared_restart` `none`, the job
/// fails saying why. Admin only. 202 with `Location: /api/jobs/<job_id>`.
#[utoipa::path(
    post, path = "/api/tunnel/restart", tag = "tunnel",
    responses(
        (status = 202, description = "Restart queued", body = RestartAccepted),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn restart_tunnel(State(state): State<AppState>, ctx: CommandContext) -> ApiResult<impl IntoResponse> {
    ctx.user.require_admin()?;
    let job_id = Uuid::now_v7();
    warp_store::event_store::queue_job(&state.jobs, job_id, RestartTunnelInput {}.into(), &ctx.metadata).await?;
    tracing::info!(job.id = %job_id, "tunnel restart queued");
    let location = format!("/api/jobs/{job_id}");
    Ok((StatusCode::ACCEPTED, [(header::LOCATION, location)], axum::Json(RestartAccepted { job_id })))
}

//! `GET /healthz`: 200 when Postgres and NATS answer, 503 naming what failed; also how many
//! outbox rows wait and how many are stuck (never publishable: see `warp outbox stuck`).

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::AppState;

/// Routes of this area (no authentication).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(healthz))
}

/// Health of each dependency: `ok`, or why not.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok` or `degraded`.
    pub status: &'static str,
    pub postgres: String,
    pub nats: String,
    /// The event outbox (absent when Postgres did not answer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outbox: Option<OutboxHealth>,
}

/// Outbox rows the relay has not published.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OutboxHealth {
    /// Rows waiting to be published (stuck ones included).
    pub pending: i64,
    /// Rows that can never be published as they are; their aggregates' later events wait.
    /// An operator lists them with `warp outbox stuck` and retries or skips them.
    pub stuck: i64,
}

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// Checks Postgres (`select 1`) and NATS (a server round trip), each within 2 s.
#[utoipa::path(
    get, path = "/healthz", tag = "health",
    responses((status = 200, body = Health), (status = 503, body = Health))
)]
pub async fn healthz(State(state): State<AppState>) -> (StatusCode, axum::Json<Health>) {
    let postgres = async {
        match tokio::time::timeout(CHECK_TIMEOUT, sqlx::query("select 1").execute(&state.pool)).await {
            Ok(Ok(_)) => "ok".to_owned(),
            Ok(Err(error)) => format!("failed: {}", short(&error.to_string())),
            Err(_) => "failed: no answer within 2 s".to_owned(),
        }
    };
    let nats = async {
        if state.nats.connection_state() != async_nats::connection::State::Connected {
            return "failed: not connected".to_owned();
        }
        match tokio::time::timeout(CHECK_TIMEOUT, state.nats.flush()).await {
            Ok(Ok(())) => "ok".to_owned(),
            Ok(Err(error)) => format!("failed: {}", short(&error.to_string())),
            Err(_) => "failed: no answer within 2 s".to_owned(),
        }
    };
    let outbox = async {
        let counts = async {
            let pending = warp_store::relay::pending_count(&state.pool).await?;
            let stuck = warp_store::outbox::stuck_count(&state.pool).await?;
            Ok::<_, sqlx::Error>(OutboxHealth { pending, stuck })
        };
        tokio::time::timeout(CHECK_TIMEOUT, counts).await.ok().and_then(Result::ok)
    };
    let (postgres, nats, outbox) = tokio::join!(postgres, nats, outbox);
    let healthy = postgres == "ok" && nats == "ok";
    let status = if healthy { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, axum::Json(Health { status: if healthy { "ok" } else { "degraded" }, postgres, nats, outbox }))
}

/// First line of an error message, at most 200 characters (no connection strings leak: sqlx
/// and async-nats errors do not include credentials).
fn short(message: &str) -> String {
    message.lines().next().unwrap_or_default().chars().take(200).collect()
}

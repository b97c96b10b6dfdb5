//! The command and query HTTP API.
//!
//! # Layout
//! - [`router`]: the whole route table: `/api/*` (bearer token or session, see [`auth`]),
//!   `/auth/*` (GitHub login, see [`login`]), `/hooks/*` (webhooks, signed by their senders),
//!   `/healthz` and `/openapi.json`; request ids ([`request_id`]), tracing and timeouts around it.
//! - [`routes`]: one module per area, one file per action; each area exposes
//!   `fn router() -> OpenApiRouter<AppState>`, so the OpenAPI document is built from the very
//!   routes that are served.
//! - [`error`]: [`error::ApiError`], the one JSON error body; [`extract`]: extractors whose
//!   rejections use it too.
//! - [`streams`]: memory budgets and session caps of live (SSE) streams.
//! - [`openapi`]: the generated OpenAPI document (committed as `schema/openapi.json`).
//!
//! Commands go through `cqrs-es` into the event store; reads come from projection tables.

pub mod access;
pub mod auth;
pub mod error;
pub mod extract;
pub mod login;
pub mod openapi;
pub mod request_id;
pub mod routes;
pub mod streams;

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use sqlx::PgPool;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa_axum::router::OpenApiRouter;
use warp_platform::{NatsNames, Shutdown};
use warp_store::settings::SettingsStore;
use warp_store::event_store::{self, DeliveryCqrs, JobCqrs, ProjectCqrs, SessionCqrs};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub projects: ProjectCqrs,
    pub jobs: JobCqrs,
    /// Command bus of GitHub logins (`session` aggregate).
    pub sessions: SessionCqrs,
    /// Command bus of GitHub webhook deliveries (`github_delivery` aggregate).
    pub deliveries: DeliveryCqrs,
    pub nats: async_nats::Client,
    pub names: NatsNames,
    /// Runtime settings and the encrypted secret store (opened with the master key).
    pub settings: SettingsStore,
    /// HTTP client that checks changed tokens against their APIs.
    pub token_checks: routes::settings::TokenChecks,
    /// Tripped when the server shuts down; long-lived responses (SSE) end on it so a graceful
    /// shutdown does not wait for clients forever.
    pub shutdown: Shutdown,
    /// Docker host whose docker service answers `/api/containers` and `/health/docker`
    /// (`WARP_DOCKER_HOST_NAME`, default `local`).
    pub docker_host: String,
    /// The panel's own ports (the API's, Postgres', NATS'): no quick service may expose them.
    pub panel_ports: Vec<u16>,
    /// Login tunables (state lifetime, membership re-check interval, GitHub timeout).
    pub login: login::LoginOptions,
    /// GitHub client of the login flow (timeout from `login`).
    pub github: login::github::Github,
    /// One change at a time per project (claims, deploy env), inside the pool's bounds.
    pub project_locks: warp_store::project_lock::ProjectLocks,
    /// Memory and session bounds of live streams.
    pub streams: streams::StreamLimits,
}

impl AppState {
    /// State over `pool`, a NATS client for live reads, and the opened settings store.
    pub fn new(pool: PgPool, nats: async_nats::Client, names: NatsNames, settings: SettingsStore) -> Self {
        let projects = event_store::project_cqrs(pool.clone());
        let jobs = event_store::job_cqrs(pool.clone());
        let sessions = event_store::session_cqrs(pool.clone());
        let deliveries = event_store::delivery_cqrs(pool.clone());
        let login = login::LoginOptions::default();
        let github = login::github::Github::new(login.github_timeout);
        let project_locks = warp_store::project_lock::ProjectLocks::new(pool.clone());
        Self {
            pool,
            projects,
            jobs,
            sessions,
            deliveries,
            nats,
            names,
            settings,
            token_checks: Default::default(),
            shutdown: Shutdown::new(),
            docker_host: "local".into(),
            panel_ports: Vec::new(),
            login,
            github,
            project_locks,
            streams: Default::default(),
        }
    }

    /// The same state, refusing quick services of `ports` (the panel's own).
    pub fn with_panel_ports(mut self, ports: impl IntoIterator<Item = u16>) -> Self {
        self.panel_ports = ports.into_iter().collect();
        self
    }

    /// The same state with other login tunables.
    pub fn with_login_options(mut self, options: login::LoginOptions) -> Self {
        self.github = login::github::Github::new(options.github_timeout);
        self.login = options;
        self
    }

    /// The same state, asking the docker service of `host`.
    pub fn with_docker_host(mut self, host: impl Into<String>) -> Self {
        self.docker_host = host.into();
        self
    }
}

/// Longest time one (non-streaming) request may take before it is answered with 408.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The `/api` routes (before authentication is layered on) and the public routes.
fn route_groups() -> (OpenApiRouter<AppState>, OpenApiRouter<AppState>) {
    let api = OpenApiRouter::new()
        .merge(routes::projects::router())
        .merge(routes::jobs::router())
        .merge(routes::audit::router())
        .merge(routes::events::router())
        .merge(routes::dead_letters::router())
        .merge(routes::tokens::router())
        .merge(routes::settings::router())
        .merge(routes::containers::router())
        .merge(routes::tunnel::router())
        .merge(routes::github::router())
        .merge(routes::auth::router());
    let public = routes::health::router()
        .merge(routes::containers::public_router())
        .merge(routes::tunnel::public_router())
        .merge(routes::auth::public_router())
        .merge(routes::hooks::router());
    (api, public)
}

/// The route table with its OpenAPI description: every `/api` route (and `/auth/me`,
/// `/auth/logout`) behind [`auth::require_auth`].
pub fn routes(state: &AppState) -> OpenApiRouter<AppState> {
    let (api, public) = route_groups();
    let api = api.layer(axum::middleware::from_fn_with_state(state.clone(), auth::require_auth));
    OpenApiRouter::with_openapi(openapi::base()).merge(api).merge(public)
}

/// The OpenAPI document of [`routes`] (it needs no state).
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    let (api, public) = route_groups();
    let (_, mut doc) = OpenApiRouter::with_openapi(openapi::base()).merge(api).merge(public).split_for_parts();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc
}

/// [`openapi_document`] as committed in `schema/openapi.json`: pretty JSON, trailing newline.
pub fn openapi_json() -> String {
    openapi_document().to_pretty_json().expect("the OpenAPI document serialises") + "\n"
}

/// The application: routes, state, request ids, tracing and timeouts.
pub fn router(state: AppState) -> Router {
    let (router, _) = routes(&state).split_for_parts();
    let doc = std::sync::Arc::new(openapi_document());
    router
        .route(
            "/openapi.json",
            axum::routing::get(move || {
                let doc = doc.clone();
                async move { axum::Json(doc.as_ref().clone()) }
            }),
        )
        .fallback(|| async { error::ApiError::NotFound("no such route".into()) })
        .method_not_allowed_fallback(|| async { error::ApiError::MethodNotAllowed })
        .with_state(state)
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(|_: Box<dyn std::any::Any + Send>| {
            axum::response::IntoResponse::into_response(error::ApiError::Internal(anyhow::anyhow!("request handler panicked")))
        }))
        .layer(TimeoutLayer::with_status_code(axum::http::StatusCode::REQUEST_TIMEOUT, REQUEST_TIMEOUT))
        .layer(TraceLayer::new_for_http().make_span_with(request_id::make_span))
        .layer(axum::middleware::from_fn(request_id::assign))
}

/// Serves the API on `listen` until `shutdown`, then drains open requests.
pub async fn serve(state: AppState, listen: SocketAddr, shutdown: Shutdown) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("binding {listen}"))?;
    tracing::info!(listen = %listener.local_addr()?, "api listening");
    serve_on(state, listener, shutdown).await
}

/// Serves on an already bound listener (tests bind port 0).
pub async fn serve_on(mut state: AppState, listener: tokio::net::TcpListener, shutdown: Shutdown) -> anyhow::Result<()> {
    state.shutdown = shutdown.clone();
    axum::serve(listener, router(state))
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
        .context("serving http")
}

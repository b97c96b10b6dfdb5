//! Webhooks from outside systems: `/hooks/*`, outside `/api` and without a panel token (each
//! sender proves itself its own way: GitHub with `X-Hub-Signature-256`).

pub mod github;
pub mod signature;

use axum::extract::DefaultBodyLimit;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::AppState;

/// Routes of this area (public: the signature is the authentication).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(github::receive)).layer(DefaultBodyLimit::max(github::BODY_LIMIT))
}

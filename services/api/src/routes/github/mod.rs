//! `/api/github`: what the panel's GitHub token can see, asked of the github service over
//! NATS (the API never calls GitHub itself).

mod repos;
pub mod request;

use utoipa_axum::{router::OpenApiRouter, routes};

use crate::AppState;

/// Routes of this area.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(repos::list_repos))
}

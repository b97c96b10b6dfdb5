//! `/auth`: GitHub login (`login`, `callback`, public) and the session (`me`, `logout`,
//! behind the auth middleware). The flow and its rules are in [`crate::login`].

mod callback;
mod login;
mod logout;
mod me;
mod page;

use utoipa_axum::{router::OpenApiRouter, routes};

use crate::AppState;

pub use me::{Me, SessionInfo};

/// Routes that need a token or a session.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(me::me)).routes(routes!(logout::logout))
}

/// Routes open to anyone (they start and finish a login).
pub fn public_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(login::login)).routes(routes!(callback::callback))
}

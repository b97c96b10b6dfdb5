//! `/api/settings`: the panel's runtime settings. Every token may read them (secrets masked);
//! only an admin may change them.

mod checks;
mod get;
mod put;
mod view;

use utoipa_axum::{router::OpenApiRouter, routes};

use crate::AppState;

pub use checks::{CheckStatus, TokenCheck, TokenChecks};
pub use put::{store_error, UpdateSettings};
pub use view::{SecretView, SettingsView};

/// Routes of this area.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get::get_settings, put::put_settings))
}

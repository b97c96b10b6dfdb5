//! `/api/projects`: create, list, read, update, archive.

mod archive;
mod create;
mod get;
mod list;
mod update;

use utoipa_axum::{router::OpenApiRouter, routes};

use crate::AppState;

pub use create::CreateProject;
pub use update::UpdateProject;

/// Routes of this area.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create::create_project, list::list_projects))
        .routes(routes!(get::get_project, update::update_project))
        .routes(routes!(archive::archive_project))
}

/// Parses an optional raw string into a validated type.
fn parse_opt<T: TryFrom<String, Error = warp_domain::ValidationError>>(
    raw: Option<String>,
) -> Result<Option<T>, warp_domain::ValidationError> {
    raw.map(T::try_from).transpose()
}

//! `/api/projects`: create, list, read, update, archive; deploy an existing repo or folder,
//! create from a GitHub template; redeploy, stop, start, remove; quick services.

mod actions;
mod archive;
mod compose_policy;
mod create;
mod deploy_existing;
mod env_input;
mod from_template;
mod get;
mod list;
mod queue;
mod quick_service;
mod route;
mod update;

use utoipa_axum::{router::OpenApiRouter, routes};

use crate::AppState;

pub use actions::{Redeploy, Remove};
pub use compose_policy::{ComposePolicy, ComposePolicyView};
pub use create::CreateProject;
pub use from_template::FromTemplate;
pub use deploy_existing::{DeployExisting, FolderSourceInput, GitSourceInput, GithubSourceInput, SourceInput};
pub use queue::ActionAccepted;
pub use quick_service::QuickService;
pub use route::{RouteAccepted, RouteInput};
pub use update::UpdateProject;

/// Routes of this area.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create::create_project, list::list_projects))
        .routes(routes!(get::get_project, update::update_project))
        .routes(routes!(archive::archive_project))
        .routes(routes!(deploy_existing::deploy_existing))
        .routes(routes!(from_template::from_template))
        .routes(routes!(quick_service::quick_service))
        .routes(routes!(actions::redeploy))
        .routes(routes!(actions::stop))
        .routes(routes!(actions::start))
        .routes(routes!(actions::remove))
        .routes(routes!(compose_policy::set_compose_policy))
        .routes(routes!(route::put_route, route::delete_route))
}

/// Parses an optional raw string into a validated type.
fn parse_opt<T: TryFrom<String, Error = warp_domain::ValidationError>>(
    raw: Option<String>,
) -> Result<Option<T>, warp_domain::ValidationError> {
    raw.map(T::try_from).transpose()
}

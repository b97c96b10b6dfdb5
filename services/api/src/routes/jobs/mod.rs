//! `/api/jobs`: every long action as a job: list, read, follow its log, cancel.

mod cancel;
mod get;
mod list;
mod logs;

use utoipa_axum::{router::OpenApiRouter, routes};

use crate::AppState;

/// Routes of this area.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list::list_jobs))
        .routes(routes!(get::get_job))
        .routes(routes!(logs::job_logs))
        .routes(routes!(cancel::cancel_job))
}

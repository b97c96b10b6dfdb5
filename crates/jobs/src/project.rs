//! What executors of project jobs share: the project they act on, read from the event store.

use sqlx::PgPool;
use uuid::Uuid;
use warp_domain::Project;

use crate::JobFailure;

/// Project `id` as its events say now (the read model may lag behind the job naming it).
///
/// # Errors
/// [`JobFailure::Failed`] when the store cannot be read or the project does not exist.
pub async fn load_project(pool: &PgPool, id: Uuid) -> Result<Project, JobFailure> {
    let project = warp_store::event_store::load_project(pool, id)
        .await
        .map_err(|e| JobFailure::failed(format!("reading project {id}: {e}")))?;
    if !project.created {
        return Err(JobFailure::failed(format!("project {id} does not exist")));
    }
    Ok(project)
}

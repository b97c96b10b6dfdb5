//! The event store: `cqrs-es` frameworks persisting to the `events` table via `postgres-es`.
//!
//! Appends conflict through the `events` primary key; `cqrs-es` reports that as
//! [`cqrs_es::AggregateError::AggregateConflict`], which the API maps to HTTP 409.

use std::sync::Arc;

use cqrs_es::AggregateError;
use postgres_es::PostgresCqrs;
use sqlx::PgPool;
use warp_domain::{Job, JobCommand, JobError, Project, ProjectCommand, ProjectError};
use warp_events::EventMetadata;

/// Command bus of the `Project` aggregate.
pub type ProjectCqrs = Arc<PostgresCqrs<Project>>;

/// A `Project` command bus on `pool`. No `cqrs-es` queries are attached: read models are
/// updated by the projection consumers from the event stream.
pub fn project_cqrs(pool: PgPool) -> ProjectCqrs {
    Arc::new(postgres_es::postgres_cqrs(pool, Vec::new(), ()))
}

/// Executes `command` on project `id` with `metadata` stored beside each resulting event.
pub async fn execute_project(
    cqrs: &ProjectCqrs,
    id: uuid::Uuid,
    command: ProjectCommand,
    metadata: &EventMetadata,
) -> Result<(), AggregateError<ProjectError>> {
    cqrs.execute_with_metadata(&id.to_string(), command, metadata.to_map()).await
}

/// The current state of project `id`, replayed from its events (an empty, not-created
/// project when it has none). Workers read what to deploy from here, not from the read model,
/// which may lag behind the job that names the project.
pub async fn load_project(pool: &PgPool, id: uuid::Uuid) -> Result<Project, AggregateError<ProjectError>> {
    use cqrs_es::{AggregateContext as _, EventStore as _};
    let store = cqrs_es::persist::PersistedEventStore::<postgres_es::PostgresEventRepository, Project>::new_event_store(
        postgres_es::PostgresEventRepository::new(pool.clone()),
    );
    let mut context = store.load_aggregate(&id.to_string()).await?;
    Ok(context.aggregate().clone())
}

/// Command bus of the `Job` aggregate.
pub type JobCqrs = Arc<PostgresCqrs<Job>>;

/// A `Job` command bus on `pool`.
pub fn job_cqrs(pool: PgPool) -> JobCqrs {
    Arc::new(postgres_es::postgres_cqrs(pool, Vec::new(), ()))
}

/// Executes `command` on job `id` with `metadata` stored beside each resulting event.
pub async fn execute_job(
    cqrs: &JobCqrs,
    id: uuid::Uuid,
    command: JobCommand,
    metadata: &EventMetadata,
) -> Result<(), AggregateError<JobError>> {
    cqrs.execute_with_metadata(&id.to_string(), command, metadata.to_map()).await
}

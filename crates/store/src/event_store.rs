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

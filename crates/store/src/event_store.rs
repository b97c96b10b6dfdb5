//! The event store: `cqrs-es` frameworks persisting to the `events` table through
//! [`EventRepository`] (reads by `postgres-es`, each command's events appended in one
//! statement).
//!
//! Appends conflict through the `events` primary key; `cqrs-es` reports that as
//! [`cqrs_es::AggregateError::AggregateConflict`]. A conflict only means another command on the
//! same aggregate committed first (often the panel's own: a job runner's `Start`, a deploy's
//! outcome), so [`execute_project`] and [`execute_job`] run the command again on the fresh
//! state, up to [`CONFLICT_RETRIES`] times: the aggregate decides again, so nothing is
//! applied twice and a command the new state refuses fails with its own error. Callers that
//! need "exactly this version" say so in the command (`expected_version`, from `If-Match`).
//! Only a conflict that outlives the retries reaches the caller (the API answers 409).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use cqrs_es::persist::PersistedEventStore;
use cqrs_es::{Aggregate, AggregateError, CqrsFramework};
use sqlx::PgPool;
use warp_domain::{
    DeliveryCommand, DeliveryError, GithubDelivery, Job, JobCommand, JobError, Project, ProjectCommand, ProjectError, Session,
    SessionCommand, SessionError,
};
use warp_events::EventMetadata;

pub use crate::event_repository::EventRepository;

/// A `cqrs-es` command bus of aggregate `A` on the `events` table.
pub type Cqrs<A> = CqrsFramework<A, PersistedEventStore<EventRepository, A>>;

/// The command bus of aggregate `A` on `pool`, with no `cqrs-es` queries attached: read
/// models are updated by the projection consumers from the event stream (or, for jobs, by the
/// database in the appending statement).
pub fn framework<A: Aggregate<Services = ()>>(pool: PgPool) -> Arc<Cqrs<A>> {
    Arc::new(CqrsFramework::new(PersistedEventStore::new_event_store(EventRepository::new(pool)), Vec::new(), ()))
}

/// Command bus of the `Project` aggregate.
pub type ProjectCqrs = Arc<Cqrs<Project>>;

/// A `Project` command bus on `pool`. No `cqrs-es` queries are attached: read models are
/// updated by the projection consumers from the event stream.
pub fn project_cqrs(pool: PgPool) -> ProjectCqrs {
    framework(pool)
}

/// Executes `command` on project `id` with `metadata` stored beside each resulting event.
pub async fn execute_project(
    cqrs: &ProjectCqrs,
    id: uuid::Uuid,
    command: ProjectCommand,
    metadata: &EventMetadata,
) -> Result<(), AggregateError<ProjectError>> {
    let id = id.to_string();
    retry_conflicts(|| cqrs.execute_with_metadata(&id, command.clone(), metadata.to_map())).await
}

/// The current state of project `id`, replayed from its events (an empty, not-created
/// project when it has none). Workers read what to deploy from here, not from the read model,
/// which may lag behind the job that names the project.
pub async fn load_project(pool: &PgPool, id: uuid::Uuid) -> Result<Project, AggregateError<ProjectError>> {
    use cqrs_es::{AggregateContext as _, EventStore as _};
    let store = PersistedEventStore::<EventRepository, Project>::new_event_store(EventRepository::new(pool.clone()));
    let mut context = store.load_aggregate(&id.to_string()).await?;
    Ok(context.aggregate().clone())
}

/// Command bus of the `Job` aggregate.
pub type JobCqrs = Arc<Cqrs<Job>>;

/// A `Job` command bus on `pool`.
pub fn job_cqrs(pool: PgPool) -> JobCqrs {
    framework(pool)
}

/// Executes `command` on job `id` with `metadata` stored beside each resulting event.
pub async fn execute_job(
    cqrs: &JobCqrs,
    id: uuid::Uuid,
    command: JobCommand,
    metadata: &EventMetadata,
) -> Result<(), AggregateError<JobError>> {
    let id = id.to_string();
    retry_conflicts(|| cqrs.execute_with_metadata(&id, command.clone(), metadata.to_map())).await
}

/// Whether [`queue_job`] queued the job or found it queued already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queued {
    /// This call queued it.
    Now,
    /// A job with that id existed: someone (an earlier delivery of the same event, the API
    /// that asked first) queued it before.
    Already,
}

/// Queues job `id` with `input` unless a job with that id exists: the way a handler that may
/// see its event twice, or that races the API for the same job, queues work. The id decides
/// what "the same job" is (see `warp_events::job::job_id_for_event`).
///
/// # Errors
/// Any error of the `Queue` command but `AlreadyExists`.
pub async fn queue_job(
    cqrs: &JobCqrs,
    id: uuid::Uuid,
    input: warp_events::JobInput,
    metadata: &EventMetadata,
) -> Result<Queued, AggregateError<JobError>> {
    match execute_job(cqrs, id, JobCommand::Queue { input, timeout_seconds: None }, metadata).await {
        Ok(()) => Ok(Queued::Now),
        Err(AggregateError::UserError(JobError::AlreadyExists)) => Ok(Queued::Already),
        Err(error) => Err(error),
    }
}

/// Times a command is run again after an optimistic-concurrency conflict.
pub const CONFLICT_RETRIES: u32 = 8;

/// Runs `attempt` until it does not end in [`AggregateError::AggregateConflict`], at most
/// `1 + CONFLICT_RETRIES` times, waiting 2, 4, 8 … ms (plus up to as much again at random, so
/// two writers do not collide in step) between tries.
async fn retry_conflicts<E, F, Fut>(mut attempt: F) -> Result<(), AggregateError<E>>
where
    E: std::error::Error,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), AggregateError<E>>>,
{
    let mut tries = 0;
    loop {
        match attempt().await {
            Err(AggregateError::AggregateConflict) if tries < CONFLICT_RETRIES => {
                tries += 1;
                let base = 1u64 << tries;
                let jitter = rand::random::<u64>() % (base + 1);
                tokio::time::sleep(Duration::from_millis(base + jitter)).await;
            }
            outcome => return outcome,
        }
    }
}

/// Command bus of the `Session` aggregate (GitHub logins).
pub type SessionCqrs = Arc<Cqrs<Session>>;

/// A `Session` command bus on `pool`.
pub fn session_cqrs(pool: PgPool) -> SessionCqrs {
    framework(pool)
}

/// Executes `command` on login attempt `id` with `metadata` stored beside each event
/// (conflicts retried like the other aggregates').
pub async fn execute_session(
    cqrs: &SessionCqrs,
    id: uuid::Uuid,
    command: SessionCommand,
    metadata: &EventMetadata,
) -> Result<(), AggregateError<SessionError>> {
    let id = id.to_string();
    retry_conflicts(|| cqrs.execute_with_metadata(&id, command.clone(), metadata.to_map())).await
}

/// Command bus of the `GithubDelivery` aggregate (webhook deliveries).
pub type DeliveryCqrs = Arc<Cqrs<GithubDelivery>>;

/// A `GithubDelivery` command bus on `pool`.
pub fn delivery_cqrs(pool: PgPool) -> DeliveryCqrs {
    framework(pool)
}

/// Executes `command` on the delivery aggregate `id` (see
/// `warp_events::github_delivery::delivery_aggregate_id`) with `metadata`. Two receipts of one delivery
/// at once conflict on the aggregate's first event; the retry then finds it received and is
/// refused with [`DeliveryError::AlreadyReceived`].
pub async fn execute_delivery(
    cqrs: &DeliveryCqrs,
    id: uuid::Uuid,
    command: DeliveryCommand,
    metadata: &EventMetadata,
) -> Result<(), AggregateError<DeliveryError>> {
    let id = id.to_string();
    retry_conflicts(|| cqrs.execute_with_metadata(&id, command.clone(), metadata.to_map())).await
}

//! Claiming, running and finishing jobs; recovering jobs whose worker died.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::FutureExt;
use sqlx::postgres::PgListener;
use sqlx::{Connection, PgConnection, PgPool};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;
use warp_domain::{JobCommand, JobError};
use warp_events::{EventMetadata, JobErrorKind, JobInput, JobType};
use warp_platform::redact::Redactor;
use warp_platform::Shutdown;
use warp_store::event_store::{self, JobCqrs};
use warp_store::projections::jobs::{self, JobView};

use crate::executor::AnyExecutor;
use crate::log::JobLog;
use crate::{process, Executor, JobContext, JobFailure};

/// Extra time, beyond the kill grace period, an executor gets to return after its job stopped.
const STOP_MARGIN: Duration = Duration::from_secs(5);

/// The channel the `jobs` read model notifies on changes.
const JOBS_CHANNEL: &str = "warp_jobs";

/// Runner settings.
#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// This worker's name in `JobStarted` events and logs (e.g. `docker@host:pid`).
    pub worker: String,
    /// Most jobs running at once (on different targets).
    pub max_parallel: usize,
    /// Fallback poll interval for new jobs (the runner wakes on NOTIFY).
    pub poll_interval: Duration,
    /// How often a running job checks whether it was cancelled.
    pub cancel_poll: Duration,
    /// Time between SIGTERM and SIGKILL when a job's processes are stopped.
    pub kill_grace: Duration,
    /// Least time between two checks for jobs whose worker died.
    pub recovery_interval: Duration,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        Self {
            worker: format!("worker-{}", std::process::id()),
            max_parallel: 4,
            poll_interval: Duration::from_secs(1),
            cancel_poll: Duration::from_millis(250),
            kill_grace: Duration::from_secs(10),
            recovery_interval: Duration::from_secs(5),
        }
    }
}

/// Runs the jobs of the types it has executors for.
pub struct Runner {
    pool: PgPool,
    nats: async_nats::Client,
    redactor: Redactor,
    cqrs: JobCqrs,
    executors: HashMap<JobType, Arc<dyn AnyExecutor>>,
    config: RunnerConfig,
    /// Jobs this runner is running: id → target.
    running: Mutex<HashMap<Uuid, String>>,
}

/// How a running attempt was stopped from outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    Cancelled,
    TimedOut,
    ShuttingDown,
}

impl Runner {
    /// A runner with no executors yet.
    pub fn new(pool: PgPool, nats: async_nats::Client, redactor: Redactor, config: RunnerConfig) -> Self {
        let cqrs = event_store::job_cqrs(pool.clone());
        Self { pool, nats, redactor, cqrs, executors: HashMap::new(), config, running: Mutex::default() }
    }

    /// Runs jobs of the type `E::Input` belongs to with `executor` (a later registration for
    /// the same type replaces an earlier one).
    pub fn register<E: Executor>(mut self, executor: E) -> Self {
        self.executors.insert(<E::Input as warp_events::TypedJobInput>::JOB_TYPE, Arc::new(executor));
        self
    }

    fn job_types(&self) -> Vec<String> {
        self.executors.keys().map(|t| t.as_str().to_owned()).collect()
    }

    fn metadata(&self, job_id: Uuid) -> EventMetadata {
        EventMetadata::for_job(&self.config.worker, job_id)
    }

    /// Runs until `shutdown`; then stops running jobs (their processes are killed and the jobs
    /// interrupted: re-queued if retry-safe, else failed) and returns.
    pub async fn run(self: Arc<Self>, shutdown: Shutdown) -> anyhow::Result<()> {
        let mut listener = PgListener::connect_with(&self.pool).await?;
        listener.listen(JOBS_CHANNEL).await?;
        let mut tasks = JoinSet::new();
        tracing::info!(worker = %self.config.worker, job.types = ?self.job_types(), "job runner started");
        let mut last_recovery: Option<tokio::time::Instant> = None;
        loop {
            if last_recovery.is_none_or(|at| at.elapsed() >= self.config.recovery_interval) {
                last_recovery = Some(tokio::time::Instant::now());
                if let Err(error) = self.recover_orphans().await {
                    tracing::warn!(error = %format!("{error:#}"), "checking for interrupted jobs failed");
                }
            }
            if let Err(error) = self.fill(&mut tasks, &shutdown).await {
                tracing::warn!(error = %format!("{error:#}"), "claiming jobs failed");
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = listener.recv() => {}
                _ = tokio::time::sleep(self.config.poll_interval) => {}
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            }
        }
        while tasks.join_next().await.is_some() {}
        tracing::info!(worker = %self.config.worker, "job runner stopped");
        Ok(())
    }

    /// Claims and starts runnable jobs up to the parallelism limit.
    async fn fill(self: &Arc<Self>, tasks: &mut JoinSet<()>, shutdown: &Shutdown) -> anyhow::Result<()> {
        loop {
            let (busy, free) = {
                let running = self.running.lock().unwrap_or_else(|e| e.into_inner());
                (running.values().cloned().collect::<Vec<_>>(), self.config.max_parallel.saturating_sub(running.len()))
            };
            if free == 0 {
                return Ok(());
            }
            let candidates = jobs::runnable(&self.pool, &self.job_types(), &busy, free as i64).await?;
            let mut started = false;
            for job in candidates {
                if let Some(lock) = self.claim(&job).await? {
                    started = true;
                    self.running.lock().unwrap_or_else(|e| e.into_inner()).insert(job.id, job.target.clone());
                    let runner = Arc::clone(self);
                    let shutdown = shutdown.clone();
                    tasks.spawn(async move { runner.execute(job, lock, shutdown).await });
                }
            }
            if !started {
                return Ok(());
            }
        }
    }

    /// Takes the target lock and starts the job; `None` when another worker got there first.
    async fn claim(&self, job: &JobView) -> anyhow::Result<Option<PgConnection>> {
        let Some(mut lock) = try_lock_target(&self.pool, &job.target).await? else {
            return Ok(None);
        };
        let start = JobCommand::Start { worker: self.config.worker.clone() };
        match event_store::execute_job(&self.cqrs, job.id, start, &self.metadata(job.id)).await {
            Ok(()) => Ok(Some(lock)),
            Err(error) => {
                tracing::debug!(job.id = %job.id, error = %error, "job not started (taken or changed)");
                let _ = unlock_target(&mut lock, &job.target).await;
                let _ = lock.close().await;
                Ok(None)
            }
        }
    }

    /// Runs one claimed job to its end and records the outcome.
    async fn execute(self: Arc<Self>, job: JobView, mut lock: PgConnection, shutdown: Shutdown) {
        let span = tracing::info_span!("job", job.id = %job.id, job.type = %job.job_type, worker = %self.config.worker);
        let outcome = tracing::Instrument::instrument(self.attempt(&job, &shutdown), span).await;
        if let Err(error) = outcome {
            tracing::error!(job.id = %job.id, error = %format!("{error:#}"), "job bookkeeping failed");
        }
        let _ = unlock_target(&mut lock, &job.target).await;
        let _ = lock.close().await;
        self.running.lock().unwrap_or_else(|e| e.into_inner()).remove(&job.id);
    }

    async fn attempt(&self, job: &JobView, shutdown: &Shutdown) -> anyhow::Result<()> {
        // The job's output is masked with the panel's secrets and its own project's.
        let redactor = self.redactor.for_project(job.project_id.map(|id| id.to_string()).as_deref());
        let log = JobLog::open(job.id, self.pool.clone(), self.nats.clone(), redactor.clone()).await?;
        let flusher = log.spawn_flusher();
        let attempt = u32::try_from(job.attempt).unwrap_or(0) + 1;
        log.system(&format!("{} job started on {} (attempt {attempt})", job.job_type, self.config.worker));

        let cancel = CancellationToken::new();
        let stop: Arc<Mutex<Option<Stop>>> = Arc::default();
        let watcher = tokio::spawn(watch(
            self.pool.clone(),
            job.id,
            Duration::from_secs(u64::try_from(job.timeout_seconds).unwrap_or(1).max(1)),
            self.config.cancel_poll,
            shutdown.clone(),
            cancel.clone(),
            stop.clone(),
        ));
        let input: Option<JobInput> = serde_json::from_value(job.input.clone()).ok();
        let result = match (input, JobType::parse(&job.job_type).and_then(|t| self.executors.get(&t).map(|e| (t, e)))) {
            (Some(input), Some((job_type, executor))) => {
                let context =
                    JobContext { job_id: job.id, job_type, attempt, log: log.clone(), cancel: cancel.clone(), kill_grace: self.config.kill_grace };
                self.run_guarded(executor.as_ref(), input, &context).await
            }
            _ => Err(JobFailure::failed(format!("no executor for job type {}", job.job_type))),
        };
        watcher.abort();
        cancel.cancel();
        let stopped_by = *stop.lock().unwrap_or_else(|e| e.into_inner());

        let (command, status) = match (stopped_by, result) {
            (Some(Stop::ShuttingDown), _) => (JobCommand::Interrupt { reason: "its worker shut down".into() }, "interrupted"),
            (Some(Stop::TimedOut), _) => (JobCommand::MarkTimedOut, "timed_out"),
            (Some(Stop::Cancelled), _) => (JobCommand::MarkCancelled, "cancelled"),
            (None, Ok(())) => (JobCommand::Succeed, "succeeded"),
            (None, Err(JobFailure::Failed(message))) => {
                log.system(&format!("error: {message}"));
                let message = redactor.redact(&message);
                (JobCommand::Fail { kind: JobErrorKind::ExecutionFailed, message }, "failed")
            }
            (None, Err(JobFailure::Stopped)) => {
                (JobCommand::Fail { kind: JobErrorKind::Internal, message: "the job stopped unexpectedly".into() }, "failed")
            }
        };
        match status {
            "timed_out" => log.system(&format!("job timed out after {} s; its processes were stopped", job.timeout_seconds)),
            "interrupted" => log.system("the worker is shutting down; the job was interrupted"),
            other => log.system(&format!("job {other}")),
        }
        flusher.abort();
        // Lines are stored before the outcome is recorded, so a reader that sees the job ended
        // has every line. An interrupted job may run again: its log goes on.
        if status == "interrupted" {
            if let Err(error) = log.flush().await {
                tracing::warn!(job.id = %job.id, error = %error, "storing job log lines failed");
            }
        } else {
            log.end(status).await;
        }
        self.record(job.id, command).await
    }

    /// Runs the executor so that it can neither take the runner down (a panic is a failed
    /// attempt) nor outlive its stop: once the job's token trips, the executor gets the kill
    /// grace period plus [`STOP_MARGIN`] to return, then it is dropped (which kills the
    /// processes it still has).
    async fn run_guarded(&self, executor: &dyn AnyExecutor, input: JobInput, context: &JobContext) -> Result<(), JobFailure> {
        let run = std::panic::AssertUnwindSafe(executor.run(input, context)).catch_unwind();
        let deadline = async {
            context.cancel.cancelled().await;
            tokio::time::sleep(self.config.kill_grace + STOP_MARGIN).await;
        };
        tokio::select! {
            outcome = run => outcome.unwrap_or_else(|_| Err(JobFailure::failed("the job's executor panicked"))),
            _ = deadline => {
                context.log.system("the job did not stop in time; abandoning it");
                Err(JobFailure::Stopped)
            }
        }
    }

    /// Records the attempt's outcome, retrying while the event store is unreachable.
    async fn record(&self, job_id: Uuid, command: JobCommand) -> anyhow::Result<()> {
        let mut delay = Duration::from_millis(100);
        for _ in 0..8 {
            match event_store::execute_job(&self.cqrs, job_id, command.clone(), &self.metadata(job_id)).await {
                Ok(()) => return Ok(()),
                Err(cqrs_es::AggregateError::UserError(error)) => return Err(error.into()),
                Err(error) => {
                    tracing::warn!(job.id = %job_id, error = %error, "recording the job outcome failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
            }
        }
        anyhow::bail!("could not record the outcome of job {job_id}")
    }

    /// Interrupts jobs shown as running whose target lock nobody holds: their worker is gone.
    async fn recover_orphans(&self) -> anyhow::Result<()> {
        for (job_id, target) in jobs::running(&self.pool, &self.job_types()).await? {
            if self.running.lock().unwrap_or_else(|e| e.into_inner()).contains_key(&job_id) {
                continue;
            }
            let Some(mut lock) = try_lock_target(&self.pool, &target).await? else {
                continue;
            };
            // Nothing the dead worker started may run on, whatever happens to the job next.
            let killed = process::kill_orphans(job_id);
            if killed > 0 {
                tracing::warn!(job.id = %job_id, processes = killed, "killed processes left by the job's dead worker");
            }
            let command = JobCommand::Interrupt { reason: "its worker stopped while running it".into() };
            match event_store::execute_job(&self.cqrs, job_id, command, &self.metadata(job_id)).await {
                Ok(()) => {
                    tracing::warn!(job.id = %job_id, "job interrupted: its worker stopped while running it");
                    if let Ok(log) = JobLog::open(job_id, self.pool.clone(), self.nats.clone(), self.redactor.clone()).await {
                        log.system("the worker running this job stopped; the job was interrupted");
                        if killed > 0 {
                            log.system(&format!("killed {killed} process(es) the job had left running"));
                        }
                        let status = jobs_status_after_interrupt(&self.pool, job_id).await;
                        if status != "queued" {
                            log.end(&status).await;
                        } else if let Err(error) = log.flush().await {
                            tracing::warn!(job.id = %job_id, error = %error, "storing job log lines failed");
                        }
                    }
                }
                // Already ended (the read model was behind): nothing to recover.
                Err(cqrs_es::AggregateError::UserError(JobError::AlreadyFinished { .. } | JobError::WrongState { .. })) => {}
                Err(error) => tracing::warn!(job.id = %job_id, error = %error, "could not interrupt job"),
            }
            let _ = unlock_target(&mut lock, &target).await;
            let _ = lock.close().await;
        }
        Ok(())
    }
}

/// Trips `cancel` on timeout, on a cancel request, or on shutdown, recording which came first.
async fn watch(
    pool: PgPool,
    job_id: Uuid,
    timeout: Duration,
    poll: Duration,
    shutdown: Shutdown,
    cancel: CancellationToken,
    stop: Arc<Mutex<Option<Stop>>>,
) {
    let deadline = tokio::time::Instant::now() + timeout;
    let reason = loop {
        tokio::select! {
            _ = tokio::time::sleep_until(deadline) => break Stop::TimedOut,
            _ = shutdown.cancelled() => break Stop::ShuttingDown,
            _ = tokio::time::sleep(poll) => {
                if cancel_requested(&pool, job_id).await {
                    break Stop::Cancelled;
                }
            }
        }
    };
    stop.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert(reason);
    cancel.cancel();
}

/// Whether the event store holds a cancel request for the job (read from the store itself, so
/// the read model's lag does not delay a cancel).
async fn cancel_requested(pool: &PgPool, job_id: Uuid) -> bool {
    sqlx::query_scalar(
        "select exists(select 1 from events where aggregate_type = 'job' and aggregate_id = $1
                                              and event_type = 'JobCancelRequested')",
    )
    .bind(job_id.to_string())
    .fetch_one(pool)
    .await
    .unwrap_or(false)
}

async fn jobs_status_after_interrupt(pool: &PgPool, job_id: Uuid) -> String {
    let last: Option<String> = sqlx::query_scalar(
        "select event_type from events where aggregate_type = 'job' and aggregate_id = $1 order by sequence desc limit 1",
    )
    .bind(job_id.to_string())
    .fetch_optional(pool)
    .await
    .ok()
    .flatten();
    match last.as_deref() {
        Some("JobRequeued") => "queued".into(),
        Some("JobCancelled") => "cancelled".into(),
        _ => "failed".into(),
    }
}

/// Takes the session advisory lock of `target` on a connection of its own; `None` when held.
async fn try_lock_target(pool: &PgPool, target: &str) -> anyhow::Result<Option<PgConnection>> {
    let mut conn = pool.acquire().await?.detach();
    let locked: bool = sqlx::query_scalar("select pg_try_advisory_lock(hashtextextended($1, 7))")
        .bind(target)
        .fetch_one(&mut conn)
        .await?;
    if locked {
        Ok(Some(conn))
    } else {
        let _ = conn.close().await;
        Ok(None)
    }
}

async fn unlock_target(conn: &mut PgConnection, target: &str) -> sqlx::Result<()> {
    sqlx::query("select pg_advisory_unlock(hashtextextended($1, 7))").bind(target).execute(conn).await.map(|_| ())
}

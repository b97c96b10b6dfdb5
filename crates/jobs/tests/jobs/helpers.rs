//! A harness: database, stream, relay, read-model consumers, and job runners as tasks.

use std::marker::PhantomData;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use warp_events::job::{
    CreateFromTemplateInput, DeployInput, PublishRouteInput, QuickServiceInput, RemoveInput, RestartTunnelInput, StartInput,
    StopInput,
};
use warp_events::TypedJobInput;
use tokio::task::JoinHandle;
use uuid::Uuid;
use warp_consumer_kit::ConsumerOptions;
use warp_domain::JobCommand;
use warp_events::{EventMetadata, JobInput};
use warp_jobs::process::ProcessSpec;
use warp_jobs::{Executor, JobContext, JobFailure, Runner, RunnerConfig};
use warp_platform::redact::Redactor;
use warp_platform::{NatsUser, Shutdown};
use warp_store::event_store::{self, JobCqrs};
use warp_store::projections::jobs::{self, JobView};
use warp_test_support::{eventually, TestDb, TestNats};

pub const WAIT: Duration = Duration::from_secs(20);

pub struct Harness {
    pub db: TestDb,
    pub nats: TestNats,
    /// The job runners' connection: the docker service's NATS user (runners run in it).
    pub runner_nats: async_nats::Client,
    pub cqrs: JobCqrs,
    pub redactor: Redactor,
    pub shutdown: Shutdown,
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl Harness {
    /// Database, stream, relay and the read-model service.
    pub async fn new() -> Self {
        let h = Self::bare().await;
        h.start_pipeline().await;
        h
    }

    /// Database and stream only: no relay and no consumer runs.
    pub async fn bare() -> Self {
        let db = TestDb::new().await;
        let nats = TestNats::new().await;
        nats.apply_definitions().await;
        let cqrs = event_store::job_cqrs(db.pool.clone());
        let runner_nats = nats.connect_as(NatsUser::Docker).await;
        Self { db, nats, runner_nats, cqrs, redactor: Redactor::default(), shutdown: Shutdown::new() }
    }

    /// Starts the relay and the read-model service.
    pub async fn start_pipeline(&self) {
        let (db, nats, shutdown) = (&self.db, &self.nats, &self.shutdown);
        let relay = warp_store::relay::Relay::new(
            db.pool.clone(),
            async_nats::jetstream::new(nats.connect_as(NatsUser::Relay).await),
            nats.names.clone(),
            warp_store::relay::RelayConfig { poll_interval: Duration::from_millis(100), ..Default::default() },
        );
        tokio::spawn({
            let stop = shutdown.clone();
            async move { relay.run(stop).await }
        });
        let options = ConsumerOptions {
            base_backoff: Duration::from_millis(20),
            max_backoff: Duration::from_millis(200),
            reconnect_delay: Duration::from_millis(100),
            ..ConsumerOptions::default()
        };
        let client = nats.connect_as(NatsUser::ReadModels).await;
        tokio::spawn(warp_read_models::run(db.pool.clone(), client, nats.names.clone(), options, shutdown.clone()));
    }

    pub fn config(worker: &str) -> RunnerConfig {
        RunnerConfig {
            worker: worker.to_owned(),
            max_parallel: 4,
            poll_interval: Duration::from_millis(100),
            cancel_poll: Duration::from_millis(50),
            kill_grace: Duration::from_millis(500),
            recovery_interval: Duration::from_millis(200),
        }
    }

    /// A runner whose every job type runs `executor`, stopped by `stop`.
    pub fn spawn_runner<E: TestExecutor>(&self, worker: &str, executor: E, stop: Shutdown) -> JoinHandle<anyhow::Result<()>> {
        let runner = Runner::new(self.db.pool.clone(), self.runner_nats.clone(), self.redactor.clone(), Self::config(worker));
        tokio::spawn(Arc::new(every_type(runner, executor)).run(stop))
    }

    pub async fn queue(&self, input: JobInput, timeout_seconds: Option<u64>) -> Uuid {
        let id = Uuid::now_v7();
        let metadata = EventMetadata { actor: Some("octocat".into()), ..Default::default() };
        event_store::execute_job(&self.cqrs, id, JobCommand::Queue { input, timeout_seconds }, &metadata).await.unwrap();
        id
    }

    pub async fn cancel(&self, id: Uuid) {
        event_store::execute_job(&self.cqrs, id, JobCommand::Cancel, &EventMetadata::default()).await.unwrap();
    }

    /// Waits until job `id` has `status` in the read model.
    pub async fn wait_status(&self, id: Uuid, status: &str) -> JobView {
        eventually(WAIT, &format!("job {id} is {status}"), || async {
            jobs::get(&self.db.pool, id).await.unwrap().filter(|j| j.status == status)
        })
        .await
    }

    pub async fn log_lines(&self, id: Uuid) -> Vec<(String, String)> {
        sqlx::query_as("select stream, line from job_logs where job_id = $1 order by seq")
            .bind(id)
            .fetch_all(&self.db.pool)
            .await
            .unwrap()
    }

    pub async fn wait_log_line(&self, id: Uuid, needle: &str) {
        eventually(WAIT, &format!("job {id} logs {needle:?}"), || async {
            self.log_lines(id).await.into_iter().any(|(_, l)| l.contains(needle)).then_some(())
        })
        .await;
    }
}

/// What a test's executor does, whatever the job's type.
pub trait TestExecutor: Clone + Send + Sync + 'static {
    fn run<'a>(&'a self, job: &'a JobContext) -> BoxFuture<'a, Result<(), JobFailure>>;
}

/// `E` as the executor of the job type whose input is `I`.
pub struct As<I, E>(pub E, PhantomData<fn() -> I>);

impl<I: TypedJobInput, E: TestExecutor> Executor for As<I, E> {
    type Input = I;

    async fn run(&self, _input: I, job: &JobContext) -> Result<(), JobFailure> {
        self.0.run(job).await
    }
}

/// `runner` with `executor` registered for every job type.
pub fn every_type<E: TestExecutor>(runner: Runner, executor: E) -> Runner {
    fn with<I: TypedJobInput, E: TestExecutor>(runner: Runner, executor: &E) -> Runner {
        runner.register(As::<I, E>(executor.clone(), PhantomData))
    }
    let runner = with::<DeployInput, E>(runner, &executor);
    let runner = with::<CreateFromTemplateInput, E>(runner, &executor);
    let runner = with::<QuickServiceInput, E>(runner, &executor);
    let runner = with::<PublishRouteInput, E>(runner, &executor);
    let runner = with::<RestartTunnelInput, E>(runner, &executor);
    let runner = with::<StopInput, E>(runner, &executor);
    let runner = with::<StartInput, E>(runner, &executor);
    with::<RemoveInput, E>(runner, &executor)
}

/// Runs `sh -c <script>` (tests only; the panel itself never starts a shell).
#[derive(Clone)]
pub struct Script(pub &'static str);

impl TestExecutor for Script {
    fn run<'a>(&'a self, job: &'a JobContext) -> BoxFuture<'a, Result<(), JobFailure>> {
        Box::pin(async move { job.run(&ProcessSpec::new("sh", ["-c", self.0])).await })
    }
}

/// Records when each job started and ended, and holds each job until two jobs have been
/// running at the same moment (or `wait` passed): jobs that may overlap are shown to overlap
/// whatever the machine's load, and jobs that may not are never held by each other.
#[derive(Clone)]
pub struct Overlap {
    pub wait: Duration,
    pub spans: Arc<Mutex<Vec<(Uuid, Instant, Instant)>>>,
    /// (running now, most ever running at once).
    pub running: Arc<Mutex<(usize, usize)>>,
}

impl Overlap {
    /// The most jobs that ran at the same moment.
    pub fn most_at_once(&self) -> usize {
        self.running.lock().unwrap().1
    }
}

impl TestExecutor for Overlap {
    fn run<'a>(&'a self, job: &'a JobContext) -> BoxFuture<'a, Result<(), JobFailure>> {
        Box::pin(async move {
            let start = Instant::now();
            {
                let mut running = self.running.lock().unwrap();
                running.0 += 1;
                running.1 = running.1.max(running.0);
            }
            while self.most_at_once() < 2 && start.elapsed() < self.wait {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            self.running.lock().unwrap().0 -= 1;
            self.spans.lock().unwrap().push((job.job_id, start, Instant::now()));
            Ok(())
        })
    }
}

pub fn project() -> Uuid {
    Uuid::now_v7()
}

/// A deploy job's input for a new project.
pub fn deploy() -> JobInput {
    DeployInput { project_id: project() }.into()
}

/// A publish-route job's input (retry-safe) for a new project.
pub fn publish_route() -> JobInput {
    PublishRouteInput { project_id: project() }.into()
}

//! A harness: database, stream, relay, read-model consumers, and job runners as tasks.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use tokio::task::JoinHandle;
use uuid::Uuid;
use warp_consumer_kit::ConsumerOptions;
use warp_domain::JobCommand;
use warp_events::{EventMetadata, JobInput};
use warp_jobs::process::ProcessSpec;
use warp_jobs::{Executor, JobContext, JobFailure, Runner, RunnerConfig};
use warp_platform::redact::Redactor;
use warp_platform::Shutdown;
use warp_store::event_store::{self, JobCqrs};
use warp_store::projections::jobs::{self, JobView};
use warp_test_support::{eventually, TestDb, TestNats};

pub const WAIT: Duration = Duration::from_secs(20);

pub struct Harness {
    pub db: TestDb,
    pub nats: TestNats,
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
    pub async fn new() -> Self {
        let db = TestDb::new().await;
        let nats = TestNats::new().await;
        nats.apply_definitions().await;
        let shutdown = Shutdown::new();
        let relay = warp_store::relay::Relay::new(
            db.pool.clone(),
            nats.js.clone(),
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
        tokio::spawn(warp_audit::run(db.pool.clone(), nats.client.clone(), nats.names.clone(), options, shutdown.clone()));
        let cqrs = event_store::job_cqrs(db.pool.clone());
        Self { db, nats, cqrs, redactor: Redactor::default(), shutdown }
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
    pub fn spawn_runner<E: Executor + Clone>(&self, worker: &str, executor: E, stop: Shutdown) -> JoinHandle<anyhow::Result<()>> {
        let mut runner = Runner::new(self.db.pool.clone(), self.nats.client.clone(), self.redactor.clone(), Self::config(worker));
        for job_type in warp_events::JobType::ALL {
            runner = runner.register(job_type, executor.clone());
        }
        tokio::spawn(Arc::new(runner).run(stop))
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

/// Runs `sh -c <script>` (tests only; the panel itself never starts a shell).
#[derive(Clone)]
pub struct Script(pub &'static str);

impl Executor for Script {
    fn run<'a>(&'a self, job: &'a JobContext) -> BoxFuture<'a, Result<(), JobFailure>> {
        Box::pin(async move { job.run(&ProcessSpec::new("sh", ["-c", self.0])).await })
    }
}

/// Sleeps `duration` without a process, recording when each job started and ended.
#[derive(Clone)]
pub struct Timed {
    pub duration: Duration,
    pub spans: Arc<Mutex<Vec<(Uuid, Instant, Instant)>>>,
}

impl Executor for Timed {
    fn run<'a>(&'a self, job: &'a JobContext) -> BoxFuture<'a, Result<(), JobFailure>> {
        Box::pin(async move {
            let start = Instant::now();
            tokio::time::sleep(self.duration).await;
            self.spans.lock().unwrap().push((job.job_id, start, Instant::now()));
            Ok(())
        })
    }
}

pub fn project() -> Uuid {
    Uuid::now_v7()
}

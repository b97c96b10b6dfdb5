//! The job runner against real Postgres, NATS and processes.

mod helpers;

use std::sync::Arc;
use std::time::Duration;

use helpers::{deploy, project, publish_route, Harness, Script, TestExecutor, Overlap, WAIT};
use warp_events::job::{DeployInput, PublishRouteInput, RestartTunnelInput};
use warp_platform::Shutdown;
use warp_test_support::eventually;

#[tokio::test]
async fn a_succeeding_job_records_its_output_and_ends_succeeded() {
    let h = Harness::new().await;
    h.spawn_runner("w1", Script("echo hello; echo oops >&2"), h.shutdown.clone());
    let id = h.queue(deploy(), None).await;
    let job = h.wait_status(id, "succeeded").await;
    assert_eq!(job.attempt, 1);
    assert_eq!(job.worker.as_deref(), Some("w1"));
    assert!(job.started_at.is_some() && job.finished_at.is_some());
    let lines = h.log_lines(id).await;
    assert!(lines.contains(&("stdout".into(), "hello".into())), "{lines:?}");
    assert!(lines.contains(&("stderr".into(), "oops".into())), "{lines:?}");
    assert_eq!(lines.last().unwrap(), &("system".into(), "job succeeded".into()));
}

#[tokio::test]
async fn a_failing_process_fails_the_job_with_its_exit_status() {
    let h = Harness::new().await;
    h.spawn_runner("w1", Script("echo working; exit 3"), h.shutdown.clone());
    let id = h.queue(deploy(), None).await;
    let job = h.wait_status(id, "failed").await;
    assert_eq!(job.error_kind.as_deref(), Some("execution_failed"));
    assert!(job.error_message.as_deref().unwrap().contains("exit status: 3"), "{:?}", job.error_message);
}

#[tokio::test]
async fn secrets_are_redacted_from_job_logs_and_errors() {
    let h = Harness::new().await;
    h.redactor.set_secrets("test", vec!["canary-5ecret-value".into()]);
    h.spawn_runner("w1", Script("echo token=canary-5ecret-value; echo canary-5ecret-value >&2; exit 1"), h.shutdown.clone());
    let id = h.queue(deploy(), None).await;
    h.wait_status(id, "failed").await;
    let lines = h.log_lines(id).await;
    assert!(lines.contains(&("stdout".into(), "token=[REDACTED]".into())), "{lines:?}");
    assert!(lines.iter().all(|(_, l)| !l.contains("canary-5ecret-value")));
}

#[tokio::test]
async fn cancel_kills_the_whole_process_group_even_a_child_that_ignores_sigterm() {
    let h = Harness::new().await;
    let pid_file = std::env::temp_dir().join(format!("warp-job-{}.pid", uuid::Uuid::new_v4()));
    let script: &'static str = Box::leak(
        format!("trap '' TERM; sleep 60 & echo $! > {}; echo started; wait; echo never", pid_file.display()).into_boxed_str(),
    );
    h.spawn_runner("w1", Script(script), h.shutdown.clone());
    let id = h.queue(deploy(), None).await;
    h.wait_log_line(id, "started").await;
    let pid: i32 = std::fs::read_to_string(&pid_file).unwrap().trim().parse().unwrap();
    assert!(alive(pid), "the child runs before the cancel");

    h.cancel(id).await;
    let job = h.wait_status(id, "cancelled").await;
    assert!(job.cancel_requested);
    eventually(WAIT, "the SIGTERM-ignoring child is gone", || async { (!alive(pid)).then_some(()) }).await;
    let lines = h.log_lines(id).await;
    assert!(lines.iter().any(|(_, l)| l.contains("SIGKILL")), "the log says it escalated: {lines:?}");
    assert!(lines.iter().all(|(_, l)| l != "never"));
    let _ = std::fs::remove_file(pid_file);
}

#[tokio::test]
async fn a_job_that_runs_past_its_timeout_is_stopped_and_marked_timed_out() {
    let h = Harness::new().await;
    h.spawn_runner("w1", Script("echo started; sleep 60"), h.shutdown.clone());
    let id = h.queue(deploy(), Some(1)).await;
    let job = h.wait_status(id, "timed_out").await;
    assert_eq!(job.error_message.as_deref(), Some("timed out after 1 s"));
    let elapsed = job.finished_at.unwrap() - job.started_at.unwrap();
    assert!(elapsed < chrono::Duration::seconds(10), "stopped promptly: {elapsed}");
}

#[tokio::test]
async fn a_queued_job_that_is_cancelled_never_runs() {
    let h = Harness::new().await;
    let id = h.queue(deploy(), None).await;
    h.cancel(id).await;
    h.wait_status(id, "cancelled").await;
    h.spawn_runner("w1", Script("echo ran"), h.shutdown.clone());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(h.log_lines(id).await.is_empty());
}

#[tokio::test]
async fn a_job_whose_worker_died_is_failed_as_interrupted_by_the_next_worker() {
    let h = Harness::new().await;
    let first = Shutdown::new();
    let crashed = h.spawn_runner("w1", Script("echo started; sleep 60"), first.clone());
    let id = h.queue(deploy(), None).await;
    h.wait_log_line(id, "started").await;
    h.wait_status(id, "running").await;
    crashed.abort(); // no cleanup runs: like a killed process, its lock connection just closes
    let _ = crashed.await;

    h.spawn_runner("w2", Script("echo second"), h.shutdown.clone());
    let job = h.wait_status(id, "failed").await;
    assert_eq!(job.error_kind.as_deref(), Some("interrupted"));
    assert!(job.error_message.as_deref().unwrap().starts_with("interrupted"));
}

#[tokio::test]
async fn a_retry_safe_job_whose_worker_died_runs_again_elsewhere() {
    let h = Harness::new().await;
    let first = Shutdown::new();
    let crashed = h.spawn_runner("w1", Script("echo started; sleep 60"), first.clone());
    let id = h.queue(publish_route(), None).await;
    h.wait_log_line(id, "started").await;
    crashed.abort();
    let _ = crashed.await;

    h.spawn_runner("w2", Script("echo second attempt"), h.shutdown.clone());
    let job = h.wait_status(id, "succeeded").await;
    assert_eq!(job.attempt, 2);
    assert_eq!(job.worker.as_deref(), Some("w2"));
    let lines = h.log_lines(id).await;
    assert!(lines.iter().any(|(_, l)| l == "second attempt"));
}

#[tokio::test]
async fn jobs_on_one_project_run_in_order_while_jobs_on_two_projects_overlap() {
    let h = Harness::new().await;
    let executor = Overlap { wait: Duration::from_secs(20), spans: Arc::default(), running: Arc::default() };
    let (one, two) = (project(), project());
    let first = h.queue(DeployInput { project_id: one }.into(), None).await;
    let second = h.queue(PublishRouteInput { project_id: one }.into(), None).await;
    let other = h.queue(DeployInput { project_id: two }.into(), None).await;
    h.spawn_runner("w1", executor.clone(), h.shutdown.clone());
    for id in [first, second, other] {
        h.wait_status(id, "succeeded").await;
    }
    let spans = executor.spans.lock().unwrap().clone();
    let span = |id| spans.iter().find(|(j, _, _)| *j == id).copied().unwrap();
    let (_, _, first_end) = span(first);
    let (_, second_start, _) = span(second);
    assert!(second_start >= first_end, "the second job of one project waits for the first");
    assert_eq!(executor.most_at_once(), 2, "jobs of two projects ran at the same time");
}

#[tokio::test]
async fn a_worker_that_shuts_down_requeues_a_retry_safe_job_for_the_next_one() {
    let h = Harness::new().await;
    let first = Shutdown::new();
    let stopping = h.spawn_runner("w1", Script("echo started; sleep 60"), first.clone());
    let id = h.queue(RestartTunnelInput {}.into(), None).await;
    h.wait_log_line(id, "started").await;
    first.cancel();
    stopping.await.unwrap().unwrap();
    h.wait_status(id, "queued").await;
    h.spawn_runner("w2", Script("echo done"), h.shutdown.clone());
    let job = h.wait_status(id, "succeeded").await;
    assert_eq!(job.attempt, 2);
}

fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // A zombie (state Z) has exited; it only waits to be reaped by its parent.
        Ok(stat) => stat.rsplit(')').next().is_some_and(|rest| !rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

#[tokio::test]
async fn a_job_process_sees_none_of_the_panels_secrets_in_its_environment() {
    std::env::set_var("WARP_SECRET_KEY", "do-not-leak-this-key");
    let h = Harness::new().await;
    h.spawn_runner("w1", Script("echo key=${WARP_SECRET_KEY:-unset} db=${WARP_DATABASE_URL:-unset} path=${PATH:+set}"), h.shutdown.clone());
    let id = h.queue(deploy(), None).await;
    h.wait_status(id, "succeeded").await;
    let lines = h.log_lines(id).await;
    assert!(lines.contains(&("stdout".into(), "key=unset db=unset path=set".into())), "{lines:?}");
}

/// Panics: a bug in an executor.
#[derive(Clone)]
struct Panics;

impl TestExecutor for Panics {
    fn run<'a>(&'a self, _job: &'a warp_jobs::JobContext) -> futures::future::BoxFuture<'a, Result<(), warp_jobs::JobFailure>> {
        Box::pin(async { panic!("executor bug") })
    }
}

#[tokio::test]
async fn an_executor_that_panics_fails_its_job_and_frees_its_target() {
    let h = Harness::new().await;
    h.spawn_runner("w1", Panics, h.shutdown.clone());
    let target = project();
    let first = h.queue(DeployInput { project_id: target }.into(), None).await;
    let job = h.wait_status(first, "failed").await;
    assert_eq!(job.error_message.as_deref(), Some("the job's executor panicked"));
    let second = h.queue(PublishRouteInput { project_id: target }.into(), None).await;
    h.wait_status(second, "failed").await;
}

#[tokio::test]
async fn a_job_is_visible_and_runs_the_moment_it_is_queued_with_no_relay_or_consumer_running() {
    let h = Harness::bare().await;
    let id = h.queue(deploy(), None).await;
    // No waiting: the read model is written in the transaction that queued the job.
    let job = warp_store::projections::jobs::get(&h.db.pool, id).await.unwrap().expect("the job is listed at once");
    assert_eq!(job.status, "queued");
    h.spawn_runner("w1", Script("echo ran"), h.shutdown.clone());
    let job = h.wait_status(id, "succeeded").await;
    assert_eq!(job.worker.as_deref(), Some("w1"));
    let published: i64 = sqlx::query_scalar("select count(*) from event_outbox where published_at is not null")
        .fetch_one(&h.db.pool)
        .await
        .unwrap();
    assert_eq!(published, 0, "nothing was relayed: the job ran on the store alone");
}

#[tokio::test]
async fn rebuilding_the_jobs_read_model_from_the_store_gives_the_same_rows() {
    let h = Harness::bare().await;
    let cancelled = h.queue(publish_route(), None).await;
    h.cancel(cancelled).await;
    h.spawn_runner("w1", Script("echo ran"), h.shutdown.clone());
    let done = h.queue(deploy(), None).await;
    h.wait_status(done, "succeeded").await;
    let before: Vec<warp_store::projections::jobs::JobView> =
        sqlx::query_as("select * from jobs order by id").fetch_all(&h.db.pool).await.unwrap();
    sqlx::query("update jobs set status = 'running'").execute(&h.db.pool).await.unwrap();
    let applied = warp_store::projections::jobs::rebuild(&h.db.pool).await.unwrap();
    let after: Vec<warp_store::projections::jobs::JobView> =
        sqlx::query_as("select * from jobs order by id").fetch_all(&h.db.pool).await.unwrap();
    assert!(applied >= 5, "every job event was replayed: {applied}");
    assert_eq!(before, after);
}

/// Environment of [`worker_process`]: the database URL it runs jobs from.
const WORKER_DB_ENV: &str = "WARP_TEST_WORKER_DATABASE_URL";

/// Not a test: the body of the separate worker process that
/// `a_worker_killed_with_sigkill_leaves_no_process_of_its_job_once_the_job_is_recovered` kills.
#[tokio::test]
#[ignore = "run by another test as a child process"]
async fn worker_process() {
    let Ok(url) = std::env::var(WORKER_DB_ENV) else { return };
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let login = warp_test_support::nats_login(warp_platform::NatsUser::Docker);
    let nats = warp_platform::nats::connect(&std::env::var("WARP_NATS_URL").unwrap(), &login).await.unwrap();
    let script = Script("sleep 300 & echo $! > \"$PID_FILE\"; echo started; wait");
    let runner = helpers::every_type(
        warp_jobs::Runner::new(pool, nats, warp_platform::redact::Redactor::default(), Harness::config("doomed")),
        WithPidFile(script, std::env::var("PID_FILE").unwrap()),
    );
    Arc::new(runner).run(Shutdown::new()).await.unwrap();
}

/// A script run with `PID_FILE` in its environment.
#[derive(Clone)]
struct WithPidFile(Script, String);

impl TestExecutor for WithPidFile {
    fn run<'a>(&'a self, job: &'a warp_jobs::JobContext) -> futures::future::BoxFuture<'a, Result<(), warp_jobs::JobFailure>> {
        let spec = warp_jobs::process::ProcessSpec::new("sh", ["-c", self.0 .0]).env("PID_FILE", &self.1);
        Box::pin(async move { job.run(&spec).await })
    }
}

#[tokio::test]
async fn a_worker_killed_with_sigkill_leaves_no_process_of_its_job_once_the_job_is_recovered() {
    let h = Harness::bare().await;
    let pid_file = std::env::temp_dir().join(format!("warp-orphan-{}.pid", uuid::Uuid::new_v4()));
    let mut worker = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["worker_process", "--exact", "--ignored", "--nocapture"])
        .env(WORKER_DB_ENV, &h.db.url)
        .env("PID_FILE", &pid_file)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let id = h.queue(deploy(), None).await;
    h.wait_log_line(id, "started").await;
    let pid: i32 = std::fs::read_to_string(&pid_file).unwrap().trim().parse().unwrap();

    worker.kill().unwrap(); // SIGKILL: no cleanup of any kind runs
    worker.wait().unwrap();
    assert!(alive(pid), "the job's process outlives its killed worker");

    h.spawn_runner("w2", Script("echo second"), h.shutdown.clone());
    let job = h.wait_status(id, "failed").await;
    assert_eq!(job.error_kind.as_deref(), Some("interrupted"));
    eventually(WAIT, "the orphaned process is gone", || async { (!alive(pid)).then_some(()) }).await;
    h.wait_log_line(id, "process(es) the job had left running").await;
    let _ = std::fs::remove_file(pid_file);
}

#[tokio::test]
async fn a_projects_env_values_mask_its_own_job_logs_and_never_another_projects() {
    let h = Harness::bare().await;
    let (mine, theirs) = (project(), project());
    h.redactor.set_project_secrets(&mine.to_string(), vec!["ordinary-words".into()]);
    h.spawn_runner("w1", Script("echo these are ordinary-words"), h.shutdown.clone());
    let own = h.queue(DeployInput { project_id: mine }.into(), None).await;
    let other = h.queue(DeployInput { project_id: theirs }.into(), None).await;
    h.wait_status(own, "succeeded").await;
    h.wait_status(other, "succeeded").await;
    assert!(h.log_lines(own).await.contains(&("stdout".into(), "these are [REDACTED]".into())));
    assert!(h.log_lines(other).await.contains(&("stdout".into(), "these are ordinary-words".into())), "nobody hides text in another project's log");
}

//! The job runner against real Postgres, NATS and processes.

mod helpers;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use helpers::{project, Harness, Script, Timed, WAIT};
use warp_events::JobInput;
use warp_platform::Shutdown;
use warp_test_support::eventually;

#[tokio::test]
async fn a_succeeding_job_records_its_output_and_ends_succeeded() {
    let h = Harness::new().await;
    h.spawn_runner("w1", Script("echo hello; echo oops >&2"), h.shutdown.clone());
    let id = h.queue(JobInput::Deploy { project_id: project() }, None).await;
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
    let id = h.queue(JobInput::Deploy { project_id: project() }, None).await;
    let job = h.wait_status(id, "failed").await;
    assert_eq!(job.error_kind.as_deref(), Some("execution_failed"));
    assert!(job.error_message.as_deref().unwrap().contains("exit status: 3"), "{:?}", job.error_message);
}

#[tokio::test]
async fn secrets_are_redacted_from_job_logs_and_errors() {
    let h = Harness::new().await;
    h.redactor.set_secrets("test", vec!["canary-5ecret-value".into()]);
    h.spawn_runner("w1", Script("echo token=canary-5ecret-value; echo canary-5ecret-value >&2; exit 1"), h.shutdown.clone());
    let id = h.queue(JobInput::Deploy { project_id: project() }, None).await;
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
    let id = h.queue(JobInput::Deploy { project_id: project() }, None).await;
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
    let id = h.queue(JobInput::Deploy { project_id: project() }, Some(1)).await;
    let job = h.wait_status(id, "timed_out").await;
    assert_eq!(job.error_message.as_deref(), Some("timed out after 1 s"));
    let elapsed = job.finished_at.unwrap() - job.started_at.unwrap();
    assert!(elapsed < chrono::Duration::seconds(10), "stopped promptly: {elapsed}");
}

#[tokio::test]
async fn a_queued_job_that_is_cancelled_never_runs() {
    let h = Harness::new().await;
    let id = h.queue(JobInput::Deploy { project_id: project() }, None).await;
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
    let id = h.queue(JobInput::Deploy { project_id: project() }, None).await;
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
    let id = h.queue(JobInput::PublishRoute { project_id: project() }, None).await;
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
    let spans = Arc::new(Mutex::new(Vec::new()));
    let (one, two) = (project(), project());
    let first = h.queue(JobInput::Deploy { project_id: one }, None).await;
    let second = h.queue(JobInput::PublishRoute { project_id: one }, None).await;
    let other = h.queue(JobInput::Deploy { project_id: two }, None).await;
    h.spawn_runner("w1", Timed { duration: Duration::from_millis(700), spans: spans.clone() }, h.shutdown.clone());
    for id in [first, second, other] {
        h.wait_status(id, "succeeded").await;
    }
    let spans = spans.lock().unwrap().clone();
    let span = |id| spans.iter().find(|(j, _, _)| *j == id).copied().unwrap();
    let (_, first_start, first_end) = span(first);
    let (_, second_start, _) = span(second);
    let (_, other_start, other_end) = span(other);
    assert!(second_start >= first_end, "the second job of one project waits for the first");
    assert!(other_start < first_end && first_start < other_end, "jobs of two projects overlap");
}

#[tokio::test]
async fn a_worker_that_shuts_down_requeues_a_retry_safe_job_for_the_next_one() {
    let h = Harness::new().await;
    let first = Shutdown::new();
    let stopping = h.spawn_runner("w1", Script("echo started; sleep 60"), first.clone());
    let id = h.queue(JobInput::RestartTunnel {}, None).await;
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
    let id = h.queue(JobInput::Deploy { project_id: project() }, None).await;
    h.wait_status(id, "succeeded").await;
    let lines = h.log_lines(id).await;
    assert!(lines.contains(&("stdout".into(), "key=unset db=unset path=set".into())), "{lines:?}");
}

/// Panics: a bug in an executor.
#[derive(Clone)]
struct Panics;

impl warp_jobs::Executor for Panics {
    fn run<'a>(&'a self, _job: &'a warp_jobs::JobContext) -> futures::future::BoxFuture<'a, Result<(), warp_jobs::JobFailure>> {
        Box::pin(async { panic!("executor bug") })
    }
}

#[tokio::test]
async fn an_executor_that_panics_fails_its_job_and_frees_its_target() {
    let h = Harness::new().await;
    h.spawn_runner("w1", Panics, h.shutdown.clone());
    let target = project();
    let first = h.queue(JobInput::Deploy { project_id: target }, None).await;
    let job = h.wait_status(first, "failed").await;
    assert_eq!(job.error_message.as_deref(), Some("the job's executor panicked"));
    let second = h.queue(JobInput::PublishRoute { project_id: target }, None).await;
    h.wait_status(second, "failed").await;
}

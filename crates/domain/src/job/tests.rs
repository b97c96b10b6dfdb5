use cqrs_es::test::TestFramework;
use warp_events::job::{DeployInput, PublishRouteInput, RestartTunnelInput};
use warp_events::{JobErrorKind, JobEvent, JobInput};

use super::*;

type JobTest = TestFramework<Job>;

fn project() -> uuid::Uuid {
    uuid::Uuid::from_u128(7)
}

fn queued_deploy() -> JobEvent {
    JobEvent::JobQueued {
        input: JobInput::Deploy(DeployInput { project_id: project() }),
        project_id: Some(project()),
        target: Some(format!("project:{}", project())),
        timeout_seconds: 1800,
        max_attempts: 1,
    }
}

fn queued_route() -> JobEvent {
    JobEvent::JobQueued {
        input: JobInput::PublishRoute(PublishRouteInput { project_id: project() }),
        project_id: Some(project()),
        target: Some(format!("project:{}", project())),
        timeout_seconds: 120,
        max_attempts: 3,
    }
}

fn started(attempt: u32) -> JobEvent {
    JobEvent::JobStarted { worker: "w1".into(), attempt }
}

#[test]
fn queueing_records_the_types_timeout_and_attempts() {
    JobTest::with(())
        .given_no_previous_events()
        .when(JobCommand::Queue { input: JobInput::Deploy(DeployInput { project_id: project() }), timeout_seconds: None })
        .then_expect_events(vec![queued_deploy()]);
}

#[test]
fn a_zero_timeout_is_refused() {
    JobTest::with(())
        .given_no_previous_events()
        .when(JobCommand::Queue { input: JobInput::RestartTunnel(RestartTunnelInput {}), timeout_seconds: Some(0) })
        .then_expect_error(JobError::InvalidTimeout);
}

#[test]
fn only_a_queued_job_can_start() {
    JobTest::with(())
        .given(vec![queued_deploy(), started(1)])
        .when(JobCommand::Start { worker: "w2".into() })
        .then_expect_error(JobError::WrongState { status: "running", wanted: "queued" });
}

#[test]
fn cancelling_a_queued_job_cancels_it_at_once() {
    JobTest::with(())
        .given(vec![queued_deploy()])
        .when(JobCommand::Cancel)
        .then_expect_events(vec![JobEvent::JobCancelRequested {}, JobEvent::JobCancelled {}]);
}

#[test]
fn cancelling_a_running_job_asks_its_worker_to_stop() {
    JobTest::with(())
        .given(vec![queued_deploy(), started(1)])
        .when(JobCommand::Cancel)
        .then_expect_events(vec![JobEvent::JobCancelRequested {}]);
}

#[test]
fn a_finished_job_cannot_be_cancelled() {
    JobTest::with(())
        .given(vec![queued_deploy(), started(1), JobEvent::JobSucceeded {}])
        .when(JobCommand::Cancel)
        .then_expect_error(JobError::AlreadyFinished { status: "succeeded" });
}

#[test]
fn an_interrupted_job_that_is_not_retry_safe_fails_as_interrupted() {
    JobTest::with(())
        .given(vec![queued_deploy(), started(1)])
        .when(JobCommand::Interrupt { reason: "worker restarted".into() })
        .then_expect_events(vec![JobEvent::JobFailed {
            kind: JobErrorKind::Interrupted,
            message: "interrupted: worker restarted".into(),
        }]);
}

#[test]
fn an_interrupted_retry_safe_job_is_requeued_until_its_attempts_run_out() {
    JobTest::with(())
        .given(vec![queued_route(), started(1)])
        .when(JobCommand::Interrupt { reason: "worker restarted".into() })
        .then_expect_events(vec![JobEvent::JobRequeued { reason: "worker restarted".into() }]);
    let requeued = JobEvent::JobRequeued { reason: "x".into() };
    JobTest::with(())
        .given(vec![queued_route(), started(1), requeued.clone(), started(2), requeued, started(3)])
        .when(JobCommand::Interrupt { reason: "again".into() })
        .then_expect_events(vec![JobEvent::JobFailed { kind: JobErrorKind::Interrupted, message: "interrupted: again".into() }]);
}

#[test]
fn a_timed_out_job_records_its_timeout() {
    JobTest::with(())
        .given(vec![queued_deploy(), started(1)])
        .when(JobCommand::MarkTimedOut)
        .then_expect_events(vec![JobEvent::JobTimedOut { timeout_seconds: 1800 }]);
}

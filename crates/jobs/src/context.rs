//! What an executor gets for one attempt.

use std::time::Duration;

use tokio_util::sync::CancellationToken;
use uuid::Uuid;
use warp_events::JobType;

use crate::log::JobLog;
use crate::process::{self, ProcessSpec, Supervision};
use crate::JobFailure;

/// One running attempt of a job. The job's typed input is given to the executor beside it.
pub struct JobContext {
    pub job_id: Uuid,
    pub job_type: JobType,
    /// 1-based attempt number.
    pub attempt: u32,
    pub log: JobLog,
    pub(crate) cancel: CancellationToken,
    pub(crate) kill_grace: Duration,
}

impl JobContext {
    /// Trips when the job is cancelled, times out, or the worker shuts down.
    pub fn cancelled(&self) -> &CancellationToken {
        &self.cancel
    }

    fn supervision(&self) -> Supervision<'_> {
        Supervision { job_id: self.job_id, log: &self.log, cancel: &self.cancel, grace: self.kill_grace }
    }

    /// Runs `spec` to completion with the job's cancel applied; a non-zero exit is a failure
    /// naming the program and its exit status.
    pub async fn run(&self, spec: &ProcessSpec) -> Result<(), JobFailure> {
        let status = process::run(spec, self.supervision()).await?;
        if status.success() {
            Ok(())
        } else {
            let program = spec.program.to_string_lossy();
            Err(JobFailure::failed(format!("{program} exited with {status}")))
        }
    }

    /// Runs `spec` like [`JobContext::run`] and returns its stdout, which is not logged
    /// (stderr is).
    pub async fn output(&self, spec: &ProcessSpec) -> Result<Vec<u8>, JobFailure> {
        let (status, stdout) = process::run_captured(spec, self.supervision()).await?;
        if status.success() {
            Ok(stdout)
        } else {
            let program = spec.program.to_string_lossy();
            Err(JobFailure::failed(format!("{program} exited with {status}")))
        }
    }
}

//! The `stop` job: `compose stop`; the containers keep their state.

use std::sync::Arc;

use warp_events::job::StopInput;
use warp_jobs::{Executor, JobContext, JobFailure};

use super::steps::lifecycle::{self, Lifecycle};
use super::DeployServices;

/// Runs `stop` jobs.
pub struct StopExecutor(pub Arc<DeployServices>);

impl Executor for StopExecutor {
    type Input = StopInput;

    async fn run(&self, input: StopInput, job: &JobContext) -> Result<(), JobFailure> {
        lifecycle::run(&self.0, job, input.project_id, Lifecycle::Stop).await
    }
}

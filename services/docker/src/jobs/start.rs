//! The `start` job: `compose start` of the project's stopped containers.

use std::sync::Arc;

use warp_events::job::StartInput;
use warp_jobs::{Executor, JobContext, JobFailure};

use super::steps::lifecycle::{self, Lifecycle};
use super::DeployServices;

/// Runs `start` jobs.
pub struct StartExecutor(pub Arc<DeployServices>);

impl Executor for StartExecutor {
    type Input = StartInput;

    async fn run(&self, input: StartInput, job: &JobContext) -> Result<(), JobFailure> {
        lifecycle::run(&self.0, job, input.project_id, Lifecycle::Start).await
    }
}

//! What a service implements to run one job type.

use std::future::Future;

use futures::future::BoxFuture;
use futures::FutureExt as _;
use warp_events::{JobInput, TypedJobInput};

use crate::JobContext;

/// Why an attempt failed. The message is redacted before it is stored or shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobFailure {
    /// The action failed (a process exited non-zero, an API refused): shown to the user.
    Failed(String),
    /// The job's cancellation token tripped (cancel or timeout) and the action stopped.
    Stopped,
}

impl JobFailure {
    /// A [`JobFailure::Failed`] with `message`.
    pub fn failed(message: impl Into<String>) -> Self {
        JobFailure::Failed(message.into())
    }
}

/// Runs the jobs of one type: the type whose input is [`Executor::Input`] (e.g.
/// `warp_events::job::DeployInput` for `deploy`). Written like the consumer kit's `Handler`:
/// a plain `async fn` in the impl, whose future must be `Send`.
///
/// Executors must stop promptly when [`JobContext::cancelled`] trips (processes started with
/// [`JobContext::run`] are killed for them).
pub trait Executor: Send + Sync + 'static {
    /// The input of the job type this executor runs.
    type Input: TypedJobInput;

    /// Runs one attempt of a job with `input`.
    fn run(&self, input: Self::Input, job: &JobContext) -> impl Future<Output = Result<(), JobFailure>> + Send;
}

/// An [`Executor`] with its input type erased, as the runner keeps them.
pub(crate) trait AnyExecutor: Send + Sync + 'static {
    fn run<'a>(&'a self, input: JobInput, job: &'a JobContext) -> BoxFuture<'a, Result<(), JobFailure>>;
}

impl<E: Executor> AnyExecutor for E {
    fn run<'a>(&'a self, input: JobInput, job: &'a JobContext) -> BoxFuture<'a, Result<(), JobFailure>> {
        match E::Input::from_input(input) {
            Some(input) => Executor::run(self, input, job).boxed(),
            // The runner looks executors up by the input's type, so this is a bug.
            None => futures::future::ready(Err(JobFailure::failed(format!(
                "the {} executor was given another type's input",
                E::Input::JOB_TYPE.as_str()
            ))))
            .boxed(),
        }
    }
}

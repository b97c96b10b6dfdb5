//! What a service implements to run one job type.

use futures::future::BoxFuture;

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

/// Runs jobs of one type. Executors must stop promptly when [`JobContext::cancelled`] trips
/// (processes started with [`JobContext::run`] are killed for them).
pub trait Executor: Send + Sync + 'static {
    /// Runs one attempt.
    fn run<'a>(&'a self, job: &'a JobContext) -> BoxFuture<'a, Result<(), JobFailure>>;
}

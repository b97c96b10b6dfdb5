//! Why the `Job` aggregate refuses a command.

/// A refused job command. The HTTP layer maps `NotFound` to 404 and the rest to 409 (or 422
/// for `InvalidTimeout`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    #[error("a job with this id already exists")]
    AlreadyExists,
    #[error("job not found")]
    NotFound,
    #[error("the job has already ended ({status})")]
    AlreadyFinished { status: &'static str },
    #[error("the job is {status}, not {wanted}")]
    WrongState { status: &'static str, wanted: &'static str },
    #[error("timeout_seconds must be at least 1")]
    InvalidTimeout,
}

//! Why the `Project` aggregate refuses a command.

/// A refused project command. The HTTP layer maps `AlreadyExists`, `Archived` and
/// `VersionMismatch` to 409 and `NotFound` to 404.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProjectError {
    #[error("a project with this id already exists")]
    AlreadyExists,
    #[error("project not found")]
    NotFound,
    #[error("project is archived and accepts no changes")]
    Archived,
    #[error("project is at version {actual}, the request expected version {expected}")]
    VersionMismatch { expected: u64, actual: u64 },
}

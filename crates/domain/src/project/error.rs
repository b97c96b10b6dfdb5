//! Why the `Project` aggregate refuses a command.

/// A refused project command. The HTTP layer maps `NotFound` to 404 and every other
/// refusal (a state conflict) to 409.
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
    /// The project has no compose source (it was created plain or as a quick service).
    #[error("project has no compose source to deploy; create it with deploy-existing")]
    NotDeployable,
    /// A route was requested for a project without a subdomain.
    #[error("project has no subdomain to publish")]
    NoSubdomain,
    /// A repository report names a job that is not the project's pending repository creation.
    #[error("job {0} is not creating this project's repository")]
    NotCreatingRepo(uuid::Uuid),
}

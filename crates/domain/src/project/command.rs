//! Commands accepted by the `Project` aggregate. Every field is already validated.

use crate::validate::{Description, ProjectName, Subdomain};

/// What a caller may ask of a project.
///
/// `expected_version` (from an HTTP `If-Match`) makes a command fail with
/// [`super::ProjectError::VersionMismatch`] when the project changed since the caller read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProjectCommand {
    /// Create the project. Refused if this id already holds one.
    Create {
        name: ProjectName,
        description: Option<Description>,
        subdomain: Option<Subdomain>,
    },
    /// Rename and/or change settings in one step. `None` leaves a field as it is; for the
    /// optional settings `Some(None)` clears the value. Unchanged values emit no event.
    Update {
        name: Option<ProjectName>,
        description: Option<Option<Description>>,
        subdomain: Option<Option<Subdomain>>,
        expected_version: Option<u64>,
    },
    /// Archive the project; it then refuses every further command.
    Archive { expected_version: Option<u64> },
}

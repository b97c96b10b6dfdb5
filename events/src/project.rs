//! Events of the `Project` aggregate (aggregate type `project`, id a UUID).

use cqrs_es::DomainEvent;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Aggregate type under which project events are stored and published.
pub const AGGREGATE_TYPE: &str = "project";

/// Every fact about a project. Serialised externally tagged:
/// `{"ProjectCreated":{"name":"shop","description":null,"subdomain":"shop"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ProjectEvent {
    /// A project was created. `name` is the validated display name (1-64 characters);
    /// `subdomain` an RFC 1123 label or `null`.
    ProjectCreated {
        name: String,
        description: Option<String>,
        subdomain: Option<String>,
    },
    /// The project's display name changed from `from` to `to`.
    ProjectRenamed { from: String, to: String },
    /// The project's settings now are exactly these values (`null` clears one).
    ProjectSettingsUpdated {
        description: Option<String>,
        subdomain: Option<String>,
    },
    /// The project was archived: it accepts no further changes.
    ProjectArchived {},
}

impl ProjectEvent {
    /// Event type names, as stored in `events.event_type`, one per variant.
    pub const TYPES: [&'static str; 4] = [
        "ProjectCreated",
        "ProjectRenamed",
        "ProjectSettingsUpdated",
        "ProjectArchived",
    ];
}

impl DomainEvent for ProjectEvent {
    fn event_type(&self) -> String {
        let name = match self {
            ProjectEvent::ProjectCreated { .. } => "ProjectCreated",
            ProjectEvent::ProjectRenamed { .. } => "ProjectRenamed",
            ProjectEvent::ProjectSettingsUpdated { .. } => "ProjectSettingsUpdated",
            ProjectEvent::ProjectArchived {} => "ProjectArchived",
        };
        name.to_owned()
    }

    fn event_version(&self) -> String {
        "1.0".to_owned()
    }
}

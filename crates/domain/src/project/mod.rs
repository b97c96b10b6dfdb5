//! The `Project` aggregate: a named unit the panel deploys and publishes.
//!
//! Life cycle: created → (updated)* → archived. Commands on an archived project are refused.

mod command;
mod error;

use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};
use warp_events::ProjectEvent;

pub use command::ProjectCommand;
pub use error::ProjectError;

/// State of one project, rebuilt from its events.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Project {
    /// Number of events applied so far (the aggregate version; 0 before creation).
    pub version: u64,
    pub created: bool,
    pub archived: bool,
    pub name: String,
    pub description: Option<String>,
    pub subdomain: Option<String>,
}

impl Project {
    fn check_writable(&self, expected_version: Option<u64>) -> Result<(), ProjectError> {
        if !self.created {
            return Err(ProjectError::NotFound);
        }
        if self.archived {
            return Err(ProjectError::Archived);
        }
        match expected_version {
            Some(expected) if expected != self.version => {
                Err(ProjectError::VersionMismatch { expected, actual: self.version })
            }
            _ => Ok(()),
        }
    }
}

impl Aggregate for Project {
    const TYPE: &'static str = warp_events::project::AGGREGATE_TYPE;
    type Command = ProjectCommand;
    type Event = ProjectEvent;
    type Error = ProjectError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        match command {
            ProjectCommand::Create { name, description, subdomain } => {
                if self.created {
                    return Err(ProjectError::AlreadyExists);
                }
                let event = ProjectEvent::ProjectCreated {
                    name: name.into(),
                    description: description.map(Into::into),
                    subdomain: subdomain.map(Into::into),
                };
                sink.write(event, self).await;
            }
            ProjectCommand::Update { name, description, subdomain, expected_version } => {
                self.check_writable(expected_version)?;
                if let Some(name) = name.filter(|n| n.as_str() != self.name) {
                    let from = self.name.clone();
                    sink.write(ProjectEvent::ProjectRenamed { from, to: name.into() }, self).await;
                }
                let description = description.map_or(self.description.clone(), |d| d.map(Into::into));
                let subdomain = subdomain.map_or(self.subdomain.clone(), |s| s.map(Into::into));
                if description != self.description || subdomain != self.subdomain {
                    let event = ProjectEvent::ProjectSettingsUpdated { description, subdomain };
                    sink.write(event, self).await;
                }
            }
            ProjectCommand::Archive { expected_version } => {
                self.check_writable(expected_version)?;
                sink.write(ProjectEvent::ProjectArchived {}, self).await;
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        self.version += 1;
        match event {
            ProjectEvent::ProjectCreated { name, description, subdomain } => {
                self.created = true;
                self.name = name;
                self.description = description;
                self.subdomain = subdomain;
            }
            ProjectEvent::ProjectRenamed { to, .. } => self.name = to,
            ProjectEvent::ProjectSettingsUpdated { description, subdomain } => {
                self.description = description;
                self.subdomain = subdomain;
            }
            ProjectEvent::ProjectArchived {} => self.archived = true,
        }
    }
}

#[cfg(test)]
mod tests;

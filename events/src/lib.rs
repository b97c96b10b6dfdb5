//! The wire contract of Warp Panel: what every service agrees on.
//!
//! # Layout
//! - [`envelope`]: [`EventEnvelope`], the JSON body of every message on the event stream, and
//!   [`EventMetadata`], the actor/request/correlation ids that travel with each event.
//! - [`project`]: [`ProjectEvent`], the facts recorded by the `Project` aggregate.
//! - [`docker`]: request-reply messages of the docker service (`warp.docker.<host>.<action>`)
//!   and live container log lines.
//! - [`github`]: request-reply messages of the github service (`warp.github.<action>`).
//! - [`github_delivery`]: [`GithubDeliveryEvent`], GitHub webhook deliveries the panel accepted.
//! - [`job`]: [`JobEvent`] and [`JobInput`], the facts recorded by the `Job` aggregate.
//! - [`logs`]: live job log messages (`warp.logs.job.<id>`).
//! - [`settings`]: [`SettingsEvent`], the facts recorded by the `Settings` aggregate (runtime
//!   settings; secrets appear only as fingerprints).
//! - [`session`]: [`SessionEvent`], GitHub logins: sessions started and ended, refusals.
//! - [`subjects`]: stream, subject and message-id naming for NATS JetStream.
//! - [`schema`]: JSON Schema of every event, generated from these types (committed under
//!   `schema/` and checked for drift by the test suite).
//!
//! This crate does no I/O. Changing the shape of an event means bumping its `event_version`
//! and adding an upcaster, so that events already stored stay readable.

pub mod docker;
pub mod envelope;
pub mod github;
pub mod github_delivery;
pub mod job;
pub mod logs;
pub mod project;
pub mod schema;
pub mod session;
pub mod settings;
pub mod subjects;

pub use envelope::{EventEnvelope, EventMetadata, MAX_ENVELOPE_BYTES};
pub use github_delivery::GithubDeliveryEvent;
pub use job::{JobErrorKind, JobEvent, JobInput, JobType, TypedJobInput};
pub use project::ProjectEvent;
pub use session::SessionEvent;
pub use settings::{SecretName, SettingValues, SettingsEvent};

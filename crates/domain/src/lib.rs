//! Aggregates, commands and validated domain types of Warp Panel.
//!
//! # Layout
//! - [`bounded`]: byte limits on every free-text field of every event (cleaning and cutting).
//! - [`validate`]: the one validation layer: newtypes built with `TryFrom<String>` that every
//!   entry point (HTTP, CLI, consumers) parses raw input into before a command is built.
//! - [`project`]: the `Project` aggregate, its commands and errors.
//! - [`settings`]: the `Settings` aggregate (runtime settings; secrets only as fingerprints)
//!   and the validation of a settings change.
//! - [`session`]: the `Session` aggregate (GitHub logins: started, refused, ended) and the
//!   allowlist rule.
//! - [`job`]: the `Job` aggregate: one long action, queued → running → ended.
//! - [`github`]: the `GithubDelivery` aggregate: one GitHub webhook delivery, received once.
//!
//! Nothing here touches a database, NATS or HTTP: aggregates decide (`handle`) and assign
//! (`apply`), and the event store wiring lives in `warp-store`.

pub mod bounded;
pub mod github;
pub mod job;
pub mod project;
pub mod session;
pub mod settings;
pub mod validate;

pub use github::{DeliveryCommand, DeliveryError, GithubDelivery};
pub use job::{Job, JobCommand, JobError, JobStatus};
pub use project::{Project, ProjectCommand, ProjectError};
pub use session::{Session, SessionCommand, SessionError};
pub use settings::{Settings, SettingsCommand, SettingsError};
pub use validate::ValidationError;

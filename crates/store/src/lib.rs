//! Warp Panel's Postgres side.
//!
//! # Layout
//! - [`migrate`]: the sqlx migrations under `migrations/`, applied at start-up.
//! - [`event_store`]: `cqrs-es` frameworks over [`event_repository`] (reads by `postgres-es`,
//!   one statement per append).
//! - [`deploy_env`]: deploy env values, encrypted like settings secrets.
//! - [`events`]: reading stored events back as [`warp_events::EventEnvelope`]s.
//! - [`job_logs`]: stored job log lines.
//! - [`relay`]: the transactional outbox relay (outbox rows → JetStream).
//! - [`outbox`]: stuck outbox rows (never publishable) and the operator's retry and skip.
//! - [`projections`]: read models (projects, jobs, audit trail) and the audit rebuild.
//! - [`project_names`]: unique project names (a claim table beside the event store).
//! - [`project_lock`]: one change at a time per project, on pooled connections.
//! - [`settings`]: runtime settings: the `Settings` command bus, its read model and the
//!   encrypted secret store (XChaCha20-Poly1305 under `WARP_SECRET_KEY`, key check, rotation).
//! - [`sessions`]: GitHub login: pending OAuth attempts and server-side sessions (hashes and
//!   sealed values only).
//! - [`tokens`]: API tokens (hash-only storage).
//! - [`page`]: cursor pagination shared by list queries.

pub mod deploy_env;
pub mod event_repository;
pub mod event_store;
pub mod events;
pub mod job_logs;
pub mod migrate;
pub mod outbox;
pub mod page;
pub mod project_lock;
pub mod project_names;
pub mod projections;
pub mod relay;
pub mod sessions;
pub mod settings;
pub mod tokens;

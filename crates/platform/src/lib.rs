//! Process plumbing shared by every Warp Panel service.
//!
//! # Layout
//! - [`config`]: the environment settings every service shares (`WARP_DATABASE_URL`,
//!   `WARP_NATS_URL`, stream names, log format), as `clap` argument groups.
//! - [`telemetry`]: `tracing` subscriber set-up (text or JSON lines).
//! - [`shutdown`]: one cancellation token tripped by Ctrl-C or SIGTERM.
//! - [`db`]: Postgres pool creation.
//! - [`redact`]: the redactor that masks every secret the panel holds.
//! - [`secret_key`]: the master key for secrets at rest (`WARP_SECRET_KEY`), weak keys refused.
//! - [`nats`]: NATS connection and the JetStream stream/consumer definitions from `nats/`,
//!   applied idempotently at start-up.
//! - [`nats_auth`]: the NATS user of each service, its permissions, nkey seeds and the
//!   nats-server `authorization` config rendered from them.

pub mod config;
pub mod db;
pub mod nats;
pub mod nats_auth;
pub mod redact;
pub mod secret_key;
pub mod shutdown;
pub mod telemetry;

pub use config::{DatabaseArgs, NatsArgs, NatsLogin, NatsNames};
pub use nats_auth::NatsUser;
pub use shutdown::Shutdown;

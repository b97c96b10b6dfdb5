//! The read-model service (`warp read-models`): keeps the audit trail and the `projects` read
//! model up to date from the event stream.
//!
//! # Layout
//! - [`handlers::audit`]: every event → one `audit_log` row (consumer `audit`).
//! - [`handlers::read_models`]: project events → the `projects` read model (consumer
//!   `projections`). The `jobs` read model is not kept here: the database applies each job
//!   event in the transaction that appends it, so the job queue never waits on this service.
//! - [`run`]: both consumers until shutdown. Rebuilding the audit trail is
//!   [`warp_store::projections::audit::rebuild`] (`warp audit rebuild`, or the admin endpoint).

pub mod handlers;

use sqlx::PgPool;
use warp_consumer_kit::{Consumer, ConsumerOptions};
use warp_platform::{nats, NatsNames, Shutdown};

/// Runs the `audit` and `projections` consumers until `shutdown`.
pub async fn run(
    pool: PgPool,
    client: async_nats::Client,
    names: NatsNames,
    options: ConsumerOptions,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    // The relay creates the stream; each consumer creates (or updates) itself whenever it
    // subscribes, retrying until the stream exists.
    let js = async_nats::jetstream::new(client);
    let audit = Consumer::new(
        pool.clone(),
        js.clone(),
        names.clone(),
        nats::consumer_config("audit", &names)?,
        handlers::audit::AuditHandler,
        options.clone(),
    )?;
    let projections_config = nats::consumer_config("projections", &names)?;
    let projections = Consumer::new(
        pool,
        js,
        names,
        projections_config,
        handlers::read_models::ReadModelsHandler,
        options,
    )?;
    let (a, p) = tokio::join!(audit.run(shutdown.clone()), projections.run(shutdown));
    a.and(p)
}

//! The one way Warp Panel consumes events.
//!
//! # Layout
//! - [`Handler`]: what a consumer implements: apply one event inside a Postgres transaction.
//! - [`Consumer`]: the pull loop around a handler: durable JetStream consumer (definition from
//!   `nats/consumers/`), inbox dedup, ack/nak/dead-letter policy.
//! - [`inbox`]: the `consumer_inbox` table (exactly-once effect).
//! - [`dead_letters`]: messages a consumer gave up on, for operators to list.
//!
//! # Delivery policy
//! For each message: begin a transaction, claim `(consumer, message id)` in the inbox (already
//! claimed → ack and skip), run the handler, commit, then ack. So an effect is committed at
//! most once and the ack only ever follows the commit.
//! - [`HandlerError::Transient`] (or Postgres down): roll back, `Nak` with exponential backoff.
//! - After `max_deliver` deliveries (from the consumer definition), or at once for
//!   [`HandlerError::Permanent`] and unparseable messages: write a dead letter, `Term` the
//!   message, go on with the next one.

pub mod dead_letters;
pub mod inbox;
mod runner;

pub use runner::{Consumer, ConsumerOptions};

use std::future::Future;

use sqlx::PgConnection;
use warp_events::EventEnvelope;

/// Why a handler could not apply an event.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// Retrying later may succeed (a dependency is down, an earlier event is missing).
    #[error("{0:#}")]
    Transient(anyhow::Error),
    /// Retrying cannot succeed (malformed payload, an impossible state): dead-letter now.
    #[error("{0:#}")]
    Permanent(anyhow::Error),
}

/// A consumer's reaction to one event.
pub trait Handler: Send + Sync + 'static {
    /// Applies `event` using `tx`, the transaction that also records the inbox row: write the
    /// effect through it and do not commit. Errors roll the whole transaction back.
    fn handle(
        &self,
        tx: &mut PgConnection,
        event: &EventEnvelope,
    ) -> impl Future<Output = Result<(), HandlerError>> + Send;
}

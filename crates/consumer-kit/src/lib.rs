//! The one way Warp Panel consumes events.
//!
//! # Layout
//! - [`Handler`]: what a consumer implements: apply one event inside a Postgres transaction.
//! - [`Consumer`]: the pull loop around a handler: durable JetStream consumer (definition from
//!   `nats/consumers/`), inbox dedup, ack/nak/dead-letter policy.
//! - [`inbox`]: the `consumer_inbox` table (exactly-once effect).
//! - [`dead_letters`]: messages a consumer gave up on, for operators to list.
//! - [`redrive`]: re-applying dead letters through their handler (`warp dead-letters retry`).
//! - `batch`: the messages one pull delivered, applied in one transaction (falls back to one
//!   at a time when any of them fails).
//!
//! # Delivery policy
//! For each message: begin a transaction, claim `(consumer, message id)` in the inbox (already
//! claimed → ack and skip), run the handler, commit, then ack. So an effect is committed at
//! most once and the ack only ever follows the commit.
//! - [`HandlerError::Unavailable`] (Postgres down or not migrated): roll back, `Nak` with
//!   exponential backoff, for as long as it takes. An outage never makes a message poison.
//! - [`HandlerError::Transient`]: roll back, `Nak` with backoff; after
//!   [`ConsumerOptions::poison_after`] deliveries the message is poison.
//! - Poison, [`HandlerError::Permanent`] and unparseable messages: write a dead letter, `Term`
//!   the message, go on with the next one.
//!
//! Batches ([`ConsumerOptions::batch_size`]): messages that are already delivered (and, while
//! the server reports more pending, those that follow within a few milliseconds) are applied
//! together, in stream order, in one transaction that claims all their inbox rows; the acks
//! follow the commit. If any message of a batch is not an envelope, any handler fails, or the
//! commit fails, the batch is rolled back and its messages take the path above one at a time,
//! so a poison message is dead-lettered alone and a gap is retried alone.
//!
//! JetStream's own `max_deliver` is unlimited in the definitions (`-1`): the kit decides when
//! to give up, so an outage longer than a few retries loses nothing.

mod batch;
pub mod dead_letters;
pub mod inbox;
pub mod redrive;
mod runner;

pub use runner::{Consumer, ConsumerOptions};

use std::future::Future;

use sqlx::PgConnection;
use warp_events::EventEnvelope;

/// Why a handler could not apply an event.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// A dependency is down (Postgres unreachable, a table missing during a migration): retried
    /// until it is back, never counted towards poison.
    #[error("{0:#}")]
    Unavailable(anyhow::Error),
    /// Retrying later may succeed (an earlier event is missing, a conflict); after
    /// [`ConsumerOptions::poison_after`] deliveries the message is dead-lettered.
    #[error("{0:#}")]
    Transient(anyhow::Error),
    /// Retrying cannot succeed (malformed payload, an impossible state): dead-letter now.
    #[error("{0:#}")]
    Permanent(anyhow::Error),
}

impl HandlerError {
    /// A Postgres error as a handler error: connection-level failures, shutdowns, resource
    /// exhaustion and a missing table (SQLSTATE classes 08, 53, 57 and 42P01) are
    /// [`HandlerError::Unavailable`]; anything else is [`HandlerError::Transient`].
    pub fn from_sqlx(error: sqlx::Error) -> Self {
        if is_unavailable(&error) {
            HandlerError::Unavailable(error.into())
        } else {
            HandlerError::Transient(error.into())
        }
    }
}

/// Whether a Postgres error means "the database is not usable right now".
pub fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            code.starts_with("08") || code.starts_with("53") || code.starts_with("57") || code == "42P01"
        }),
        _ => false,
    }
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

    /// Applies `events` (a batch's newly claimed messages, in stream order) using `tx`, as
    /// [`Handler::handle`] would one after the other; the default does exactly that. A handler
    /// overrides it to apply a batch in fewer statements. Any error rolls the whole batch back,
    /// and its messages are then handled one at a time with [`Handler::handle`], so the outcome
    /// of an error (retry, dead letter) is decided per message.
    fn handle_batch(
        &self,
        tx: &mut PgConnection,
        events: &[&EventEnvelope],
    ) -> impl Future<Output = Result<(), HandlerError>> + Send {
        async move {
            for event in events {
                self.handle(tx, event).await?;
            }
            Ok(())
        }
    }
}

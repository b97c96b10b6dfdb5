//! Batches: the messages a pull delivered (see `runner::fill_batch`), applied in one transaction.
//!
//! A batch runs every message's handler, in stream order, in one transaction that also claims
//! all their inbox rows; after the commit every message is acked. The batch is only a faster
//! way to reach the outcome one-by-one processing would reach: when any message of it is not
//! an event envelope, a handler fails, or the commit fails, the transaction is rolled back and
//! the messages are processed one at a time ([`Consumer::process`]), so the inbox, gap,
//! retry and dead-letter rules are exactly those of a single message.

use async_nats::jetstream::{self, AckKind};
use tracing::Instrument;
use warp_events::subjects::MSG_ID_HEADER;
use warp_events::EventEnvelope;

use crate::runner::Consumer;
use crate::{inbox, Handler, HandlerError};

impl<H: Handler> Consumer<H> {
    /// Applies `messages` (in stream order) together, or one by one when that fails.
    pub(crate) async fn process_batch(&self, messages: Vec<jetstream::Message>) {
        if messages.len() <= 1 {
            for message in messages {
                self.process(message).await;
            }
            return;
        }
        let span = tracing::info_span!("consume_batch", consumer = %self.durable(), batch.size = messages.len());
        let applied = self.apply_batch(&messages).instrument(span).await;
        match applied {
            Ok(()) => {
                for message in &messages {
                    if let Err(error) = message.ack_with(AckKind::Ack).await {
                        tracing::warn!(consumer = %self.durable(), error = %error, "could not acknowledge message; it will be redelivered");
                    }
                }
            }
            Err(reason) => {
                tracing::debug!(consumer = %self.durable(), reason = %format!("{reason:#}"), "batch rolled back; processing its messages one by one");
                for message in messages {
                    self.process(message).await;
                }
            }
        }
    }

    /// Inbox claims for every message, then the handlers of the newly claimed ones in order,
    /// then one commit. Any failure rolls everything back.
    async fn apply_batch(&self, messages: &[jetstream::Message]) -> Result<(), HandlerError> {
        let mut events = Vec::with_capacity(messages.len());
        for message in messages {
            let envelope: EventEnvelope = serde_json::from_slice(&message.payload)
                .map_err(|error| HandlerError::Permanent(anyhow::Error::new(error).context("message is not an event envelope")))?;
            let header = message.headers.as_ref().and_then(|h| h.get(MSG_ID_HEADER)).map(|v| v.as_str().to_owned());
            let id = header.unwrap_or_else(|| envelope.message_id());
            events.push((id, envelope));
        }
        let transient = HandlerError::from_sqlx;
        let mut tx = self.pool().begin().await.map_err(transient)?;
        let ids: Vec<String> = events.iter().map(|(id, _)| id.clone()).collect();
        let mut fresh = inbox::claim_all(&mut tx, self.durable(), &ids).await.map_err(transient)?;
        // A message id twice in one batch is applied once, like a redelivery.
        let events: Vec<&EventEnvelope> =
            events.iter().filter(|(id, _)| fresh.remove(id)).map(|(_, envelope)| envelope).collect();
        self.handler().handle_batch(&mut tx, &events).await?;
        tx.commit().await.map_err(transient)
    }
}

//! The pull loop shared by every consumer service.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use async_nats::jetstream::{self, consumer::pull, AckKind};
use futures::{FutureExt, StreamExt};
use sqlx::PgPool;
use tracing::Instrument;
use warp_events::subjects::{CORRELATION_HEADER, MSG_ID_HEADER};
use warp_events::EventEnvelope;
use warp_platform::{NatsNames, Shutdown};

use crate::dead_letters::{self, NewDeadLetter};
use crate::{inbox, Handler, HandlerError};

/// Retry timing of a consumer.
#[derive(Debug, Clone)]
pub struct ConsumerOptions {
    /// Nak delay after the first failed delivery; doubles with each further delivery.
    pub base_backoff: Duration,
    /// Longest Nak delay.
    pub max_backoff: Duration,
    /// Pause before re-subscribing after NATS or the stream went away.
    pub reconnect_delay: Duration,
    /// Deliveries after which a message failing with [`HandlerError::Transient`] is poison.
    pub poison_after: i64,
    /// Most messages applied in one transaction (see `batch.rs` and [`fill_batch`]); 1
    /// processes every message on its own. Each pull request asks for twice this many.
    pub batch_size: usize,
}

impl Default for ConsumerOptions {
    fn default() -> Self {
        Self {
            base_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
            reconnect_delay: Duration::from_secs(1),
            poison_after: 5,
            batch_size: 1000,
        }
    }
}

impl ConsumerOptions {
    /// Nak delay for a message delivered `delivered` times so far (1-based).
    pub fn backoff(&self, delivered: i64) -> Duration {
        let exponent = u32::try_from(delivered.saturating_sub(1)).unwrap_or(u32::MAX).min(16);
        self.base_backoff.saturating_mul(2u32.saturating_pow(exponent)).min(self.max_backoff)
    }
}

/// Longest wait for the rest of a batch the server says is there (see [`fill_batch`]).
const FILL_WAIT: Duration = Duration::from_millis(20);

/// The batch that starts with `first`: every message already delivered, and, while the server
/// reports more pending for this consumer (`pending` of the last message's ack subject) and
/// the batch is not full, the next ones as they arrive (each within [`FILL_WAIT`]). A live
/// event with nothing behind it (`pending` 0) never waits; a backlog is applied in full
/// batches. Returns the batch in stream order and the receive error that ended it, if any.
async fn fill_batch<S>(messages: &mut S, first: jetstream::Message, size: usize) -> (Vec<jetstream::Message>, Option<pull::MessagesError>)
where
    S: futures::Stream<Item = Result<jetstream::Message, pull::MessagesError>> + Unpin,
{
    let pending = |message: &jetstream::Message| message.info().map_or(0, |info| info.pending);
    let mut more = pending(&first);
    let mut batch = vec![first];
    while batch.len() < size {
        let next = match messages.next().now_or_never() {
            Some(next) => next,
            None if more > 0 => match tokio::time::timeout(FILL_WAIT, messages.next()).await {
                Ok(next) => next,
                Err(_) => break,
            },
            None => break,
        };
        match next {
            Some(Ok(message)) => {
                more = pending(&message);
                batch.push(message);
            }
            Some(Err(error)) => return (batch, Some(error)),
            None => break,
        }
    }
    (batch, None)
}

/// A durable pull consumer driving a [`Handler`].
pub struct Consumer<H> {
    pool: PgPool,
    js: jetstream::Context,
    names: NatsNames,
    config: pull::Config,
    handler: Arc<H>,
    options: ConsumerOptions,
    durable: String,
}

impl<H: Handler> Consumer<H> {
    /// A consumer with definition `config` (usually `warp_platform::nats::consumer_config`) on
    /// the stream `names` selects.
    ///
    /// # Errors
    /// When `config` has no `durable_name`.
    pub fn new(
        pool: PgPool,
        js: jetstream::Context,
        names: NatsNames,
        config: pull::Config,
        handler: H,
        options: ConsumerOptions,
    ) -> anyhow::Result<Self> {
        let durable = config.durable_name.clone().context("consumer definition has no durable_name")?;
        Ok(Self { pool, js, names, config, handler: Arc::new(handler), options, durable })
    }

    /// The durable consumer name (also the inbox and dead-letter key).
    pub fn durable(&self) -> &str {
        &self.durable
    }

    pub(crate) fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub(crate) fn handler(&self) -> &H {
        &self.handler
    }

    /// Consumes until `shutdown`, re-subscribing whenever NATS or the stream goes away.
    pub async fn run(self, shutdown: Shutdown) -> anyhow::Result<()> {
        while !shutdown.is_cancelled() {
            match self.session(&shutdown).await {
                Ok(()) => break,
                Err(error) => {
                    tracing::warn!(consumer = %self.durable, error = %format!("{error:#}"), "consumer interrupted; re-subscribing");
                    tokio::select! {
                        _ = shutdown.cancelled() => break,
                        _ = tokio::time::sleep(self.options.reconnect_delay) => {}
                    }
                }
            }
        }
        Ok(())
    }

    async fn session(&self, shutdown: &Shutdown) -> anyhow::Result<()> {
        let stream = self.js.get_stream(&self.names.stream).await.context("looking up the event stream")?;
        let consumer = stream.create_consumer(self.config.clone()).await.context("creating the consumer")?;
        let batch_size = self.options.batch_size.max(1);
        // Two batches per pull request, so the next one arrives while this one is applied;
        // never more than the consumer may have unacknowledged.
        let mut pull = batch_size.saturating_mul(2);
        if let Ok(limit @ 1..) = usize::try_from(self.config.max_ack_pending) {
            pull = pull.min(limit);
        }
        let mut messages = consumer
            .stream()
            .max_messages_per_batch(pull)
            .heartbeat(Duration::from_secs(15))
            .messages()
            .await
            .context("subscribing")?;
        tracing::info!(consumer = %self.durable, stream = %self.names.stream, "consumer subscribed");
        loop {
            let first = tokio::select! {
                _ = shutdown.cancelled() => return Ok(()),
                next = messages.next() => next,
            };
            let Some(first) = first else { anyhow::bail!("message stream ended") };
            let first = first.context("receiving messages")?;
            let (batch, failure) = fill_batch(&mut messages, first, batch_size).await;
            self.process_batch(batch).await;
            if let Some(error) = failure {
                return Err(error).context("receiving messages");
            }
        }
    }

    /// One message on its own: inbox, handler, commit, then ack, nak or dead letter.
    pub(crate) async fn process(&self, message: jetstream::Message) {
        let (delivered, stream_sequence) =
            message.info().map(|info| (info.delivered, info.stream_sequence)).unwrap_or((1, 0));
        let header = |name: &str| {
            message.headers.as_ref().and_then(|h| h.get(name)).map(|v| v.as_str().to_owned())
        };
        let message_id = header(MSG_ID_HEADER);
        let span = tracing::info_span!(
            "consume",
            consumer = %self.durable,
            message.id = message_id.as_deref().unwrap_or(""),
            correlation_id = header(CORRELATION_HEADER).as_deref().unwrap_or(""),
            stream.sequence = stream_sequence,
            delivered,
        );
        async {
            let outcome = match serde_json::from_slice::<EventEnvelope>(&message.payload) {
                Ok(envelope) => {
                    let id = message_id.clone().unwrap_or_else(|| envelope.message_id());
                    self.apply(&envelope, &id).await
                }
                Err(error) => Err(HandlerError::Permanent(anyhow::Error::new(error).context("message is not an event envelope"))),
            };
            let ack = match outcome {
                Ok(()) => AckKind::Ack,
                Err(HandlerError::Unavailable(error)) => {
                    let delay = self.options.backoff(delivered);
                    tracing::warn!(error = %format!("{error:#}"), retry_in_ms = delay.as_millis() as u64, "database unavailable; will retry");
                    AckKind::Nak(Some(delay))
                }
                Err(HandlerError::Transient(error)) if delivered < self.options.poison_after => {
                    let delay = self.options.backoff(delivered);
                    tracing::warn!(error = %format!("{error:#}"), retry_in_ms = delay.as_millis() as u64, "event not applied; will retry");
                    AckKind::Nak(Some(delay))
                }
                Err(error) => {
                    tracing::error!(error = %error, "giving up on event; writing a dead letter");
                    let letter = NewDeadLetter {
                        consumer: &self.durable,
                        message_id: message_id.as_deref(),
                        subject: message.subject.as_str(),
                        stream_sequence,
                        deliveries: delivered,
                        error: &error.to_string(),
                        payload: &message.payload,
                    };
                    match self.record_dead_letter(letter).await {
                        Ok(()) => AckKind::Term,
                        Err(db_error) => {
                            // JetStream will not redeliver past max_deliver: this message now
                            // lives only in the stream (find it by its sequence in this log line).
                            tracing::error!(error = %db_error, "could not record dead letter; leaving the message unacknowledged");
                            AckKind::Nak(Some(self.options.backoff(delivered)))
                        }
                    }
                }
            };
            if let Err(error) = message.ack_with(ack).await {
                tracing::warn!(error = %error, "could not acknowledge message; it will be redelivered");
            }
        }
        .instrument(span)
        .await
    }

    /// Records a dead letter, retrying a few times (Postgres may be restarting).
    async fn record_dead_letter(&self, letter: NewDeadLetter<'_>) -> sqlx::Result<()> {
        let mut attempt = 0;
        loop {
            match dead_letters::record(&self.pool, letter.clone()).await {
                Ok(()) => return Ok(()),
                Err(error) if attempt < 4 => {
                    attempt += 1;
                    tracing::warn!(error = %error, attempt, "recording a dead letter failed; retrying");
                    tokio::time::sleep(self.options.backoff(attempt)).await;
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// Inbox claim + handler + commit, in one transaction.
    async fn apply(&self, envelope: &EventEnvelope, message_id: &str) -> Result<(), HandlerError> {
        let transient = HandlerError::from_sqlx;
        let mut tx = self.pool.begin().await.map_err(transient)?;
        if !inbox::claim(&mut tx, &self.durable, message_id).await.map_err(transient)? {
            tracing::debug!("event already processed; skipping");
            return Ok(());
        }
        self.handler.handle(&mut tx, envelope).await?;
        tx.commit().await.map_err(transient)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_per_delivery_up_to_the_cap() {
        let options = ConsumerOptions {
            base_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(500),
            ..ConsumerOptions::default()
        };
        assert_eq!(options.backoff(1), Duration::from_millis(100));
        assert_eq!(options.backoff(2), Duration::from_millis(200));
        assert_eq!(options.backoff(3), Duration::from_millis(400));
        assert_eq!(options.backoff(4), Duration::from_millis(500));
        assert_eq!(options.backoff(i64::MAX), Duration::from_millis(500));
    }
}

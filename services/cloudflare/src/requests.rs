//! Request-reply: the API's reads of the tunnel (status, config preview, health), answered
//! here because this service alone reaches Cloudflare and cloudflared's config file.
//!
//! Subjects are `warp.cloudflare.<stream>.<action>`
//! ([`warp_events::subjects::cloudflare_request_subject`]), request bodies are empty, and a
//! reply is `{"ok": <value>}` or `{"error": "<sentence>"}`. Both sides are here: [`serve`]
//! answers, [`ask`] asks.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use async_nats::RequestErrorKind;
use futures::StreamExt;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use warp_events::subjects;
use warp_platform::Shutdown;

use crate::config::RetryPolicy;
use crate::status::{self, DockerHost};
use crate::Services;

/// How long [`ask`] waits for an answer: a read tries Cloudflare at most twice
/// ([`READ_RETRY`]), each attempt bounded by the client's timeouts.
pub const ASK_TIMEOUT: Duration = Duration::from_secs(20);

/// Retries of the read side: two attempts, so a status page answers within seconds.
pub const READ_RETRY: RetryPolicy =
    RetryPolicy { max_attempts: 2, base_backoff: Duration::from_millis(200), max_backoff: Duration::from_secs(2) };

/// The reply to one request.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Reply<T> {
    Ok(T),
    Error(String),
}

/// Why [`ask`] has no answer.
#[derive(Debug, thiserror::Error)]
pub enum AskError {
    /// No cloudflare service answered (not running, or not within [`ASK_TIMEOUT`]).
    #[error("{0}")]
    NotAnswering(String),
    /// The service answered that it could not (e.g. the tunnel is not configured).
    #[error("{0}")]
    Failed(String),
}

/// Subscribes to the requests of the panel whose event stream is `stream` and waits until the
/// NATS server has the subscription.
///
/// # Errors
/// NATS refused the subscription (permissions) or is unreachable.
pub async fn bind(nats: &async_nats::Client, stream: &str) -> anyhow::Result<async_nats::Subscriber> {
    let subject = subjects::cloudflare_requests_wildcard(stream);
    let subscriber = nats.subscribe(subject.clone()).await.with_context(|| format!("subscribing to {subject}"))?;
    nats.flush().await.context("flushing the cloudflare subscription")?;
    Ok(subscriber)
}

/// Answers the requests of `subscriber` until `shutdown`, each in a task of its own.
///
/// # Errors
/// The subscription ended (NATS connection closed for good).
pub async fn serve(svc: Arc<Services>, mut subscriber: async_nats::Subscriber, shutdown: Shutdown) -> anyhow::Result<()> {
    loop {
        let message = tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            message = subscriber.next() => message,
        };
        let Some(message) = message else { anyhow::bail!("the NATS subscription of the cloudflare service ended") };
        let Some(reply_to) = message.reply.clone() else { continue };
        let action = message.subject.as_str().rsplit('.').next().unwrap_or_default().to_owned();
        let svc = svc.clone();
        tokio::spawn(async move {
            let reply = dispatch(&svc, &action).await;
            if let Err(error) = svc.nats.publish(reply_to, reply.into()).await {
                tracing::warn!(error = %error, action = %action, "replying to a cloudflare request failed");
            }
        });
    }
}

async fn dispatch(svc: &Services, action: &str) -> Vec<u8> {
    let docker = DockerHost { nats: &svc.nats, host: &svc.config.docker_host };
    match action {
        subjects::CLOUDFLARE_TUNNEL_STATUS => encode(Ok(status::status(&svc.pool, &svc.settings, &READ_RETRY, docker).await)),
        subjects::CLOUDFLARE_TUNNEL_PREVIEW => encode(status::preview(&svc.pool, &svc.settings, &READ_RETRY).await),
        subjects::CLOUDFLARE_TUNNEL_HEALTH => encode(Ok(status::health(&svc.pool, &svc.settings, &READ_RETRY, docker).await)),
        other => encode::<()>(Err(format!("unknown cloudflare action {other:?}"))),
    }
}

fn encode<T: Serialize>(result: Result<T, String>) -> Vec<u8> {
    let reply = match result {
        Ok(value) => Reply::Ok(value),
        Err(message) => Reply::Error(message),
    };
    serde_json::to_vec(&reply).expect("a cloudflare reply serialises")
}

/// Asks the cloudflare service of the panel whose event stream is `stream` for `action` (one
/// of the `CLOUDFLARE_*` actions of [`warp_events::subjects`]) and decodes its reply, waiting at
/// most [`ASK_TIMEOUT`].
///
/// # Errors
/// [`AskError::NotAnswering`] when no cloudflare service answers; [`AskError::Failed`] with its
/// sentence when it answers that it could not, or with an unreadable reply.
pub async fn ask<T: DeserializeOwned>(nats: &async_nats::Client, stream: &str, action: &str) -> Result<T, AskError> {
    let subject = subjects::cloudflare_request_subject(stream, action);
    let request = async_nats::Request::new().payload(Vec::new().into()).timeout(Some(ASK_TIMEOUT));
    let message = nats.send_request(subject, request).await.map_err(|error| {
        AskError::NotAnswering(match error.kind() {
            RequestErrorKind::NoResponders => "the cloudflare service is not running (nothing answers on NATS)".to_owned(),
            RequestErrorKind::TimedOut => format!("the cloudflare service did not answer within {} s", ASK_TIMEOUT.as_secs()),
            _ => "the cloudflare service could not be asked: NATS is not reachable".to_owned(),
        })
    })?;
    match serde_json::from_slice::<Reply<T>>(&message.payload) {
        Ok(Reply::Ok(value)) => Ok(value),
        Ok(Reply::Error(message)) => Err(AskError::Failed(message)),
        Err(error) => Err(AskError::Failed(format!("unreadable reply of the cloudflare service to {action}: {error}"))),
    }
}

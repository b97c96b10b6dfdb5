//! One file per NATS request-reply action the github service answers on
//! `warp.github.<action>`: [`repos`] (the repositories the token can see, for
//! `GET /api/github/repos`). [`serve`] routes each request by the subject's action.

pub mod repos;

use std::sync::Arc;

use anyhow::Context as _;
use futures::StreamExt as _;
use serde::de::DeserializeOwned;
use serde::Serialize;
use warp_events::github::{GithubFailure, GithubFailureKind, GithubReply};
use warp_events::subjects;
use warp_platform::Shutdown;

use crate::Services;

/// Subscribes to `warp.github.>` and answers each request until `shutdown`.
pub async fn serve(svc: Arc<Services>, nats: async_nats::Client, shutdown: Shutdown) -> anyhow::Result<()> {
    let mut requests = nats.subscribe(subjects::GITHUB_REQUESTS_WILDCARD).await.context("subscribing to warp.github.>")?;
    nats.flush().await.context("flushing the github subscription")?;
    let prefix = format!("{}.", subjects::GITHUB_REQUEST_PREFIX);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            message = requests.next() => {
                let Some(message) = message else { anyhow::bail!("the NATS subscription of the github service ended") };
                let Some(reply_to) = message.reply.clone() else { continue };
                let action = message.subject.as_str().strip_prefix(&prefix).unwrap_or_default().to_owned();
                let (svc, nats) = (svc.clone(), nats.clone());
                tokio::spawn(async move {
                    let reply = dispatch(&svc, &action, &message.payload).await;
                    if let Err(error) = nats.publish(reply_to, reply.into()).await {
                        tracing::warn!(error = %error, action = %action, "replying to a github request failed");
                    }
                });
            }
        }
    }
}

/// Answers one request for `action` (what follows `warp.github.`); returns the JSON reply.
pub async fn dispatch(svc: &Services, action: &str, payload: &[u8]) -> Vec<u8> {
    match action {
        subjects::GITHUB_REPOS => match parse(payload) {
            Ok(query) => reply(repos::handle(svc, query).await),
            Err(failure) => reply::<()>(Err(failure)),
        },
        other => reply::<()>(Err(failure(GithubFailureKind::BadRequest, format!("unknown github action {other:?}")))),
    }
}

fn parse<T: DeserializeOwned>(payload: &[u8]) -> Result<T, GithubFailure> {
    serde_json::from_slice(payload).map_err(|e| failure(GithubFailureKind::BadRequest, format!("unreadable request: {e}")))
}

fn reply<T: Serialize>(result: Result<T, GithubFailure>) -> Vec<u8> {
    let reply = match result {
        Ok(value) => GithubReply::Ok(value),
        Err(failure) => GithubReply::Error(failure),
    };
    serde_json::to_vec(&reply).expect("a github reply serialises")
}

/// A failure of `kind` saying `message`.
pub fn failure(kind: GithubFailureKind, message: String) -> GithubFailure {
    GithubFailure { kind, message, reset_at: None }
}

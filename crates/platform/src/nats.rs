//! NATS connection and the JetStream definitions under `nats/` (embedded at build time).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use async_nats::jetstream::{self, consumer, stream};

use secrecy::ExposeSecret;

use crate::config::NatsLogin;
use crate::NatsNames;

const EVENTS_STREAM_JSON: &str = include_str!("../../../nats/streams/events.json");
const CONSUMERS_JSON: &[(&str, &str)] = &[
    ("audit", include_str!("../../../nats/consumers/audit.json")),
    ("projections", include_str!("../../../nats/consumers/projections.json")),
    ("docker-jobs", include_str!("../../../nats/consumers/docker-jobs.json")),
    ("cloudflare", include_str!("../../../nats/consumers/cloudflare.json")),
    ("github", include_str!("../../../nats/consumers/github.json")),
];

/// The subject prefix the definitions under `nats/` are written with.
const DEFAULT_PREFIX: &str = "warp.events";

/// Connects to NATS as `login`'s user (nkey challenge; client name `warp-<user>`; reply
/// inboxes under `_INBOX.<user>`, the only inboxes that user may subscribe to). Returns at
/// once even when the server is down: the client keeps reconnecting in the background
/// (commands never need NATS; only publishing and consuming wait for it). A refused key shows
/// up as an authorization error in the log, never with the seed.
///
/// Connection events are logged; a slow consumer (a subscription whose buffer overflowed, so
/// NATS dropped messages for it) is logged once per subscription, not once per dropped
/// message.
pub async fn connect(url: &str, login: &NatsLogin) -> anyhow::Result<async_nats::Client> {
    let slow: Arc<Mutex<HashSet<u64>>> = Arc::default();
    async_nats::ConnectOptions::new()
        .name(format!("warp-{}", login.user.name()))
        .nkey(login.seed.expose_secret().to_owned())
        .custom_inbox_prefix(login.user.inbox_prefix())
        .event_callback(move |event| {
            let slow = slow.clone();
            async move {
                match event {
                    async_nats::Event::SlowConsumer(sid) => {
                        if slow.lock().expect("never poisoned").insert(sid) {
                            tracing::warn!(nats.subscription = sid, "a NATS subscription is a slow consumer; messages were dropped for it");
                        }
                    }
                    other => tracing::info!(nats.event = %other, "NATS connection event"),
                }
            }
        })
        .retry_on_initial_connect()
        .connection_timeout(Duration::from_secs(5))
        .request_timeout(Some(Duration::from_secs(10)))
        .connect(url)
        .await
        .with_context(|| format!("connecting to NATS at {url}"))
}

/// The event stream definition from `nats/streams/events.json`, renamed to `names`.
pub fn events_stream_config(names: &NatsNames) -> anyhow::Result<stream::Config> {
    let mut config: stream::Config =
        serde_json::from_str(EVENTS_STREAM_JSON).context("parsing nats/streams/events.json")?;
    config.name = names.stream.clone();
    config.subjects = vec![names.all_events()];
    Ok(config)
}

/// The durable pull consumer named `durable` from `nats/consumers/<durable>.json`, with its
/// filter subjects moved from `warp.events.…` to `names`' subject prefix.
///
/// # Errors
/// When no such file was embedded or it does not parse.
pub fn consumer_config(durable: &str, names: &NatsNames) -> anyhow::Result<consumer::pull::Config> {
    let (_, json) = CONSUMERS_JSON
        .iter()
        .find(|(name, _)| *name == durable)
        .with_context(|| format!("no consumer definition nats/consumers/{durable}.json"))?;
    let mut config: consumer::pull::Config =
        serde_json::from_str(json).with_context(|| format!("parsing nats/consumers/{durable}.json"))?;
    let rebase = |subject: &String| match subject.strip_prefix(DEFAULT_PREFIX) {
        Some(rest) => format!("{}{rest}", names.subject_prefix),
        None => subject.clone(),
    };
    config.filter_subject = if config.filter_subject.is_empty() { String::new() } else { rebase(&config.filter_subject) };
    config.filter_subjects = config.filter_subjects.iter().map(rebase).collect();
    Ok(config)
}

/// Creates or updates the event stream and every consumer definition. Idempotent; waits (with
/// retries, up to `timeout`) for JetStream to answer. Needs a user that may manage the stream
/// and every consumer (the test user); services use [`ensure_stream`] and
/// [`ensure_consumers`] for what they own.
pub async fn apply_definitions(
    js: &jetstream::Context,
    names: &NatsNames,
    timeout: Duration,
) -> anyhow::Result<()> {
    let durables: Vec<&str> = CONSUMERS_JSON.iter().map(|(durable, _)| *durable).collect();
    retrying(timeout, || async {
        try_ensure_stream(js, names).await?;
        try_ensure_consumers(js, names, &durables).await
    })
    .await
}

/// Creates or updates the event stream (the relay's part of the definitions). Idempotent;
/// retries up to `timeout` while JetStream does not answer.
pub async fn ensure_stream(js: &jetstream::Context, names: &NatsNames, timeout: Duration) -> anyhow::Result<()> {
    retrying(timeout, || try_ensure_stream(js, names)).await
}

/// Creates or updates the durable consumers `durables` (a consumer service's part). The
/// stream must exist. Idempotent; retries up to `timeout`.
pub async fn ensure_consumers(
    js: &jetstream::Context,
    names: &NatsNames,
    durables: &[&str],
    timeout: Duration,
) -> anyhow::Result<()> {
    retrying(timeout, || try_ensure_consumers(js, names, durables)).await
}

async fn retrying<F, Fut>(timeout: Duration, mut attempt: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        match attempt().await {
            Ok(()) => return Ok(()),
            Err(error) if tokio::time::Instant::now() < deadline => {
                tracing::warn!(error = %format!("{error:#}"), "jetstream not ready, retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(error) => return Err(error),
        }
    }
}

async fn try_ensure_stream(js: &jetstream::Context, names: &NatsNames) -> anyhow::Result<()> {
    js.create_or_update_stream(events_stream_config(names)?)
        .await
        .with_context(|| format!("creating stream {}", names.stream))?;
    Ok(())
}

async fn try_ensure_consumers(js: &jetstream::Context, names: &NatsNames, durables: &[&str]) -> anyhow::Result<()> {
    let stream = js.get_stream(&names.stream).await.context("reading stream")?;
    for durable in durables {
        stream
            .create_consumer(consumer_config(durable, names)?)
            .await
            .with_context(|| format!("creating consumer {durable}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definitions_parse_and_take_the_configured_names() {
        let names = NatsNames { stream: "T1".into(), subject_prefix: "t1.events".into() };
        let stream = events_stream_config(&names).unwrap();
        assert_eq!(stream.name, "T1");
        assert_eq!(stream.subjects, vec!["t1.events.>".to_owned()]);
        assert_eq!(stream.duplicate_window, Duration::from_secs(120));
        let audit = consumer_config("audit", &names).unwrap();
        assert_eq!(audit.durable_name.as_deref(), Some("audit"));
        assert_eq!(audit.max_deliver, -1, "the consumer kit decides when a message is poison");
        assert!(consumer_config("nope", &names).is_err());
        let docker = consumer_config("docker-jobs", &names).unwrap();
        for (durable, _) in CONSUMERS_JSON {
            assert!(
                crate::nats_auth::SERVICE_USERS.iter().any(|user| user.consumers().contains(durable)),
                "consumer {durable} has no NATS user that may read it (nats_auth::NatsUser::consumers)"
            );
        }
        assert!(docker.filter_subjects.contains(&"t1.events.project.*.DeploymentRequested".to_owned()), "{:?}", docker.filter_subjects);
    }
}

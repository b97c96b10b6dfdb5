//! A harness: test database, test stream, relays and projection consumers as tasks.

use std::time::Duration;

use async_nats::jetstream;
use futures::StreamExt;
use tokio::task::JoinHandle;
use uuid::Uuid;
use warp_consumer_kit::ConsumerOptions;
use warp_domain::ProjectCommand;
use warp_events::EventMetadata;
use warp_platform::{NatsNames, NatsUser, Shutdown};
use warp_store::event_store::{self, ProjectCqrs};
use warp_store::relay::{Relay, RelayConfig};
use warp_test_support::{eventually, TestDb, TestNats};

pub const WAIT: Duration = Duration::from_secs(20);

pub struct Harness {
    pub db: TestDb,
    pub nats: TestNats,
    /// JetStream as the relay's NATS user.
    pub relay_js: async_nats::jetstream::Context,
    pub cqrs: ProjectCqrs,
    pub shutdown: Shutdown,
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl Harness {
    /// Database and stream on the shared NATS server.
    pub async fn new() -> Self {
        Self::with_nats(TestNats::new().await).await
    }

    pub async fn with_nats(nats: TestNats) -> Self {
        let db = TestDb::new().await;
        let cqrs = event_store::project_cqrs(db.pool.clone());
        let relay_js = async_nats::jetstream::new(nats.connect_as(NatsUser::Relay).await);
        Self { db, nats, relay_js, cqrs, shutdown: Shutdown::new() }
    }

    pub fn relay_config() -> RelayConfig {
        RelayConfig {
            poll_interval: Duration::from_millis(200),
            standby_interval: Duration::from_millis(50),
            ack_timeout: Duration::from_secs(2),
            ..RelayConfig::default()
        }
    }

    /// A relay task stopped by `stop` (or the harness shutdown).
    pub fn spawn_relay(&self, config: RelayConfig, stop: Shutdown) -> JoinHandle<anyhow::Result<()>> {
        let relay = Relay::new(self.db.pool.clone(), self.relay_js.clone(), self.nats.names.clone(), config);
        tokio::spawn(async move { relay.run(stop).await })
    }

    /// The audit and projection consumers as one task.
    pub fn spawn_consumers(&self) -> JoinHandle<anyhow::Result<()>> {
        let options = ConsumerOptions {
            base_backoff: Duration::from_millis(20),
            max_backoff: Duration::from_millis(200),
            reconnect_delay: Duration::from_millis(100),
            ..ConsumerOptions::default()
        };
        let (pool, names, stop) = (self.db.pool.clone(), self.nats.names.clone(), self.shutdown.clone());
        let url = self.nats.url.clone();
        tokio::spawn(async move {
            let client = warp_platform::nats::connect(&url, &warp_test_support::nats_login(NatsUser::ReadModels)).await?;
            warp_read_models::run(pool, client, names, options, stop).await
        })
    }

    /// Creates a project through the aggregate; returns its id.
    pub async fn create_project(&self, name: &str) -> Uuid {
        let id = Uuid::now_v7();
        let command = ProjectCommand::Create { name: name.to_owned().try_into().unwrap(), description: None, subdomain: None };
        event_store::execute_project(&self.cqrs, id, command, &metadata()).await.expect("create project");
        id
    }

    pub async fn rename_project(&self, id: Uuid, name: &str) {
        let command = ProjectCommand::Update {
            name: Some(name.to_owned().try_into().unwrap()),
            description: None,
            subdomain: None,
            deployment: None,
            expected_version: None,
        };
        event_store::execute_project(&self.cqrs, id, command, &metadata()).await.expect("rename project");
    }

    pub async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql).fetch_one(&self.db.pool).await.unwrap()
    }

    /// Waits until every outbox row is published.
    pub async fn wait_all_published(&self) {
        eventually(WAIT, "every outbox row is published", || async {
            (self.count("select count(*) from event_outbox where published_at is null and skipped_at is null").await == 0).then_some(())
        })
        .await;
    }

    /// Waits until the audit projection has `n` rows.
    pub async fn wait_audit_rows(&self, n: i64) {
        eventually(WAIT, &format!("the audit trail has {n} rows"), || async {
            (self.count("select count(*) from audit_log").await == n).then_some(())
        })
        .await;
    }

    /// Every message in this test's stream: (stream sequence, Nats-Msg-Id).
    pub async fn stream_messages(&self) -> Vec<(u64, String)> {
        stream_messages(&self.nats.js, &self.nats.names).await
    }
}

pub fn metadata() -> EventMetadata {
    EventMetadata {
        actor: Some("octocat".into()),
        request_id: Some("req-1".into()),
        correlation_id: Some("corr-1".into()),
        causation_id: None,
    }
}

pub async fn stream_messages(js: &jetstream::Context, names: &NatsNames) -> Vec<(u64, String)> {
    let stream = js.get_stream(&names.stream).await.expect("stream exists");
    let consumer = stream
        .create_consumer(jetstream::consumer::pull::OrderedConfig {
            deliver_policy: jetstream::consumer::DeliverPolicy::All,
            ..Default::default()
        })
        .await
        .unwrap();
    let pending = consumer.cached_info().num_pending as usize;
    let mut messages = consumer.messages().await.unwrap().take(pending);
    let mut out = Vec::new();
    while let Some(message) = messages.next().await {
        let message = message.unwrap();
        let id = message.headers.as_ref().and_then(|h| h.get("Nats-Msg-Id")).map(|v| v.to_string()).unwrap_or_default();
        out.push((message.info().unwrap().stream_sequence, id));
    }
    out
}

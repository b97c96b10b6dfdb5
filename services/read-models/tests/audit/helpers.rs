//! Publishing hand-made envelopes and running consumers against a test stream.

use std::time::Duration;

use async_nats::HeaderMap;
use chrono::Utc;
use warp_consumer_kit::{Consumer, ConsumerOptions, Handler};
use warp_events::EventEnvelope;
use warp_platform::Shutdown;
use warp_test_support::{eventually, TestDb, TestNats};

pub const WAIT: Duration = Duration::from_secs(20);

pub struct Harness {
    pub db: TestDb,
    pub nats: TestNats,
    pub shutdown: Shutdown,
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

pub fn fast_options() -> ConsumerOptions {
    ConsumerOptions {
        base_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
        reconnect_delay: Duration::from_millis(100),
        ..ConsumerOptions::default()
    }
}

impl Harness {
    pub async fn new() -> Self {
        let h = Self { db: TestDb::new().await, nats: TestNats::new().await, shutdown: Shutdown::new() };
        h.nats.apply_definitions().await;
        h
    }

    /// Runs `handler` as durable consumer `durable`; a message failing `poison_after` times is
    /// dead-lettered.
    pub fn spawn_consumer<H: Handler>(&self, durable: &str, poison_after: i64, handler: H) {
        self.spawn_consumer_with(durable, ConsumerOptions { poison_after, ..fast_options() }, handler);
    }

    /// Runs `handler` as durable consumer `durable` with `options`.
    pub fn spawn_consumer_with<H: Handler>(&self, durable: &str, options: ConsumerOptions, handler: H) {
        let mut config = warp_platform::nats::consumer_config("audit", &self.nats.names).unwrap();
        config.durable_name = Some(durable.to_owned());
        let consumer = Consumer::new(
            self.db.pool.clone(),
            self.nats.js.clone(),
            self.nats.names.clone(),
            config,
            handler,
            options,
        )
        .unwrap();
        tokio::spawn(consumer.run(self.shutdown.clone()));
    }

    /// Publishes `envelope` on its subject, with its message id unless `with_msg_id` is false.
    pub async fn publish(&self, envelope: &EventEnvelope, with_msg_id: bool) {
        let subject = self.nats.names.event_subject(&envelope.aggregate_type, &envelope.aggregate_id, &envelope.event_type);
        let mut headers = HeaderMap::new();
        if with_msg_id {
            headers.insert("Nats-Msg-Id", envelope.message_id().as_str());
        }
        let body = serde_json::to_vec(envelope).unwrap();
        self.nats.js.publish_with_headers(subject, headers, body.into()).await.unwrap().await.unwrap();
    }

    pub async fn publish_raw(&self, body: &'static [u8]) {
        let subject = format!("{}.project.x.Garbage", self.nats.names.subject_prefix);
        self.nats.js.publish(subject, body.into()).await.unwrap().await.unwrap();
    }

    pub async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql).fetch_one(&self.db.pool).await.unwrap()
    }

    pub async fn wait_count(&self, sql: &str, n: i64) {
        eventually(WAIT, &format!("`{sql}` = {n}"), || async { (self.count(sql).await == n).then_some(()) }).await;
    }
}

/// A project event envelope as the relay would publish it.
pub fn project_event(id: &str, sequence: i64, position: i64, payload: serde_json::Value) -> EventEnvelope {
    let event_type = payload.as_object().and_then(|o| o.keys().next().cloned()).unwrap();
    EventEnvelope {
        aggregate_type: "project".into(),
        aggregate_id: id.into(),
        sequence,
        event_type,
        event_version: "1.0".into(),
        global_position: position,
        recorded_at: Utc::now(),
        payload,
        metadata: Default::default(),
    }
}

pub fn created(name: &str) -> serde_json::Value {
    serde_json::json!({"ProjectCreated": {"name": name, "description": null, "subdomain": null}})
}

//! The consumer kit's delivery policy and the projections, against real Postgres and NATS.

mod helpers;

use std::time::Duration;

use helpers::{created, project_event, Harness};
use sqlx::PgConnection;
use warp_read_models::handlers::audit::AuditHandler;
use warp_read_models::handlers::read_models::ReadModelsHandler;
use warp_consumer_kit::{Handler, HandlerError};
use warp_events::EventEnvelope;

/// Records the audit row, but fails every time for one poisoned aggregate.
struct PoisonedFor(String);

impl Handler for PoisonedFor {
    async fn handle(&self, tx: &mut PgConnection, event: &EventEnvelope) -> Result<(), HandlerError> {
        if event.aggregate_id == self.0 {
            return Err(HandlerError::Transient(anyhow::anyhow!("cannot apply {}", event.aggregate_id)));
        }
        AuditHandler.handle(tx, event).await
    }
}

#[tokio::test]
async fn a_poison_message_lands_in_dead_letters_after_max_deliveries_and_the_consumer_goes_on() {
    let h = Harness::new().await;
    h.spawn_consumer("poison-test", 3, PoisonedFor("poison".into()));
    h.publish(&project_event("poison", 1, 1, created("bad")), true).await;
    h.publish(&project_event("healthy", 1, 2, created("good")), true).await;

    h.wait_count("select count(*) from dead_letters", 1).await;
    h.wait_count("select count(*) from audit_log where aggregate_id = 'healthy'", 1).await;
    let (consumer, message_id, deliveries, error): (String, Option<String>, i64, String) =
        sqlx::query_as("select consumer, message_id, deliveries, error from dead_letters").fetch_one(&h.db.pool).await.unwrap();
    assert_eq!(consumer, "poison-test");
    assert_eq!(message_id.as_deref(), Some("project:poison:1"));
    assert_eq!(deliveries, 3);
    assert!(error.contains("cannot apply poison"), "{error}");
    assert_eq!(h.count("select count(*) from audit_log where aggregate_id = 'poison'").await, 0);
    let listed = warp_consumer_kit::dead_letters::list(&h.db.pool, Some("poison-test"), 10).await.unwrap();
    assert_eq!(listed.len(), 1, "operators can list it");
}

#[tokio::test]
async fn a_message_that_is_not_an_event_is_dead_lettered_at_once() {
    let h = Harness::new().await;
    h.spawn_consumer("garbage-test", 5, AuditHandler);
    h.publish_raw(b"not json at all").await;
    h.publish(&project_event("after", 1, 1, created("after")), true).await;
    h.wait_count("select count(*) from audit_log", 1).await;
    h.wait_count("select count(*) from dead_letters where deliveries = 1", 1).await;
}

/// Records every event it applies in a table of the test's own.
struct Recording;

impl Handler for Recording {
    async fn handle(&self, tx: &mut PgConnection, event: &EventEnvelope) -> Result<(), HandlerError> {
        sqlx::query("insert into applied (message_id) values ($1)")
            .bind(event.message_id())
            .execute(tx)
            .await
            .map(|_| ())
            .map_err(|e| HandlerError::Transient(e.into()))
    }
}

#[tokio::test]
async fn an_event_delivered_twice_is_applied_once() {
    let h = Harness::new().await;
    sqlx::query("create table applied (message_id text not null)").execute(&h.db.pool).await.unwrap();
    let event = project_event("twice", 1, 1, created("twice"));
    // Without Nats-Msg-Id JetStream keeps both copies; the inbox (keyed by the event's message
    // id) must absorb the second one.
    h.publish(&event, false).await;
    h.publish(&event, false).await;
    h.publish(&project_event("other", 1, 2, created("other")), false).await;
    h.spawn_consumer("dedup-test", 5, Recording);
    h.wait_count("select count(*) from applied where message_id = 'project:other:1'", 1).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(h.count("select count(*) from applied where message_id = 'project:twice:1'").await, 1);
    assert_eq!(h.count("select count(*) from consumer_inbox where consumer = 'dedup-test'").await, 2);
}

#[tokio::test]
async fn a_project_event_that_arrives_before_its_predecessor_waits_for_it() {
    let h = Harness::new().await;
    let id = uuid::Uuid::now_v7().to_string();
    let renamed = serde_json::json!({"ProjectRenamed": {"from": "a", "to": "b"}});
    h.spawn_consumer("gap-test", 50, ReadModelsHandler);
    h.publish(&project_event(&id, 2, 2, renamed), true).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(h.count("select count(*) from projects").await, 0, "nothing to rename yet");
    h.publish(&project_event(&id, 1, 1, created("a")), true).await;
    h.wait_count("select count(*) from projects where name = 'b' and version = 2", 1).await;
    assert_eq!(h.count("select count(*) from dead_letters").await, 0);
}

#[tokio::test]
async fn rebuilding_the_audit_trail_reproduces_the_live_projection_row_for_row() {
    let h = Harness::new().await;
    let cqrs = warp_store::event_store::project_cqrs(h.db.pool.clone());
    let relay = warp_store::relay::Relay::new(
        h.db.pool.clone(),
        async_nats::jetstream::new(h.nats.connect_as(warp_platform::NatsUser::Relay).await),
        h.nats.names.clone(),
        warp_store::relay::RelayConfig { poll_interval: Duration::from_millis(100), ..Default::default() },
    );
    tokio::spawn({
        let stop = h.shutdown.clone();
        async move { relay.run(stop).await }
    });
    tokio::spawn(warp_read_models::run(
        h.db.pool.clone(),
        h.nats.connect_as(warp_platform::NatsUser::ReadModels).await,
        h.nats.names.clone(),
        helpers::fast_options(),
        h.shutdown.clone(),
    ));
    let metadata = warp_events::EventMetadata {
        actor: Some("octocat".into()),
        request_id: Some("r".into()),
        correlation_id: Some("c".into()),
        causation_id: None,
    };
    for i in 0..40 {
        let id = uuid::Uuid::now_v7();
        let name = format!("p{i}").try_into().unwrap();
        let create = warp_domain::ProjectCommand::Create { name, description: None, subdomain: None };
        warp_store::event_store::execute_project(&cqrs, id, create, &metadata).await.unwrap();
        if i % 4 == 0 {
            let archive = warp_domain::ProjectCommand::Archive { expected_version: None };
            warp_store::event_store::execute_project(&cqrs, id, archive, &metadata).await.unwrap();
        }
    }
    h.wait_count("select count(*) from audit_log", 50).await;
    let live = warp_store::projections::audit::all(&h.db.pool).await.unwrap();
    let indexes = "select indexname || ': ' || regexp_replace(indexdef, '^.* USING ', '') from pg_indexes
                    where tablename = 'audit_log' order by indexname";
    let live_indexes: Vec<String> = sqlx::query_scalar(indexes).fetch_all(&h.db.pool).await.unwrap();
    let live_constraints = h.count("select count(*) from pg_constraint where conrelid = 'audit_log'::regclass").await;

    let report = warp_store::projections::audit::rebuild(&h.db.pool).await.unwrap();
    assert_eq!(report.events, 50);
    let rebuilt = warp_store::projections::audit::all(&h.db.pool).await.unwrap();
    assert_eq!(rebuilt, live);
    let rebuilt_indexes: Vec<String> = sqlx::query_scalar(indexes).fetch_all(&h.db.pool).await.unwrap();
    assert_eq!(rebuilt_indexes, live_indexes, "the swapped-in table has the live table's indexes, by name");
    assert!(live_indexes.len() >= 5, "primary key and the four list indexes: {live_indexes:?}");
    let rebuilt_constraints = h.count("select count(*) from pg_constraint where conrelid = 'audit_log'::regclass").await;
    assert_eq!(rebuilt_constraints, live_constraints);
    assert_eq!(live.iter().filter(|r| r.action == "project.archived").count(), 10);
    assert!(live.iter().all(|r| r.actor.as_deref() == Some("octocat") && r.correlation_id.as_deref() == Some("c")));

    // The live consumer keeps writing into the swapped-in table.
    let id = uuid::Uuid::now_v7();
    let create = warp_domain::ProjectCommand::Create { name: "late".to_owned().try_into().unwrap(), description: None, subdomain: None };
    warp_store::event_store::execute_project(&cqrs, id, create, &metadata).await.unwrap();
    h.wait_count("select count(*) from audit_log", 51).await;
}

/// Fails as "database unavailable" for the first `outage` deliveries, then records the event.
struct DownFor {
    outage: u32,
    calls: std::sync::atomic::AtomicU32,
}

impl Handler for DownFor {
    async fn handle(&self, tx: &mut PgConnection, event: &EventEnvelope) -> Result<(), HandlerError> {
        if self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < self.outage {
            return Err(HandlerError::Unavailable(anyhow::anyhow!("database is restarting")));
        }
        AuditHandler.handle(tx, event).await
    }
}

#[tokio::test]
async fn an_outage_longer_than_the_poison_limit_dead_letters_nothing() {
    let h = Harness::new().await;
    let handler = DownFor { outage: 8, calls: Default::default() };
    h.spawn_consumer("outage-test", 3, handler);
    h.publish(&project_event("patient", 1, 1, created("patient")), true).await;
    h.wait_count("select count(*) from audit_log where aggregate_id = 'patient'", 1).await;
    assert_eq!(h.count("select count(*) from dead_letters").await, 0);
}

#[tokio::test]
async fn an_abandoned_rebuild_does_not_block_the_next_one() {
    let h = Harness::new().await;
    let mut blocker = h.db.pool.begin().await.unwrap();
    sqlx::query("lock table audit_log in exclusive mode").execute(&mut *blocker).await.unwrap();
    // The rebuild takes its lock, then waits for the table; the caller gives up on it.
    let abandoned = tokio::time::timeout(Duration::from_millis(500), warp_store::projections::audit::rebuild(&h.db.pool)).await;
    assert!(abandoned.is_err(), "the rebuild was still waiting");
    blocker.rollback().await.unwrap();
    warp_store::projections::audit::rebuild(&h.db.pool).await.expect("the next rebuild runs");
}

/// Records each event it applies with the id of the transaction that applied it.
struct RecordingTransactions;

impl Handler for RecordingTransactions {
    async fn handle(&self, tx: &mut PgConnection, event: &EventEnvelope) -> Result<(), HandlerError> {
        sqlx::query("insert into applied_in (message_id, tx) values ($1, txid_current())")
            .bind(event.message_id())
            .execute(tx)
            .await
            .map(|_| ())
            .map_err(|e| HandlerError::Transient(e.into()))
    }
}

/// The table [`RecordingTransactions`] writes to.
async fn create_applied_in(h: &Harness) {
    sqlx::query("create table applied_in (n bigserial primary key, message_id text not null, tx bigint not null)")
        .execute(&h.db.pool)
        .await
        .unwrap();
}

#[tokio::test]
async fn messages_waiting_in_the_stream_are_applied_in_order_and_together() {
    let h = Harness::new().await;
    create_applied_in(&h).await;
    for n in 1..=40 {
        h.publish(&project_event(&format!("p{n:02}"), 1, n, created("waiting")), true).await;
    }
    h.spawn_consumer("batch-test", 5, RecordingTransactions);
    h.wait_count("select count(*) from applied_in", 40).await;
    let order: Vec<String> = sqlx::query_scalar("select message_id from applied_in order by n").fetch_all(&h.db.pool).await.unwrap();
    let expected: Vec<String> = (1..=40).map(|n| format!("project:p{n:02}:1")).collect();
    assert_eq!(order, expected, "applied in stream order");
    let transactions = h.count("select count(distinct tx) from applied_in").await;
    assert!(transactions < 40, "waiting messages share transactions ({transactions} for 40 events)");
    assert_eq!(h.count("select count(*) from consumer_inbox where consumer = 'batch-test'").await, 40);
}

#[tokio::test]
async fn a_backlog_is_applied_in_batches_filled_up_to_the_batch_size() {
    let h = Harness::new().await;
    create_applied_in(&h).await;
    for n in 1..=35 {
        h.publish(&project_event(&format!("q{n:02}"), 1, n, created("backlog")), true).await;
    }
    let options = warp_consumer_kit::ConsumerOptions { batch_size: 10, ..helpers::fast_options() };
    h.spawn_consumer_with("batch-fill-test", options, RecordingTransactions);
    h.wait_count("select count(*) from applied_in", 35).await;
    let sizes: Vec<i64> = sqlx::query_scalar("select count(*) from applied_in group by tx order by min(n)")
        .fetch_all(&h.db.pool)
        .await
        .unwrap();
    assert_eq!(sizes.iter().max(), Some(&10), "a batch fills up to the batch size and no further: {sizes:?}");
    // 10 + 10 + 10 + 5; one batch cut short by a slow delivery is tolerated.
    assert!(sizes.len() <= 5, "the backlog is applied in full batches, not as it trickles in: {sizes:?}");
}

#[tokio::test]
async fn a_poison_message_inside_a_batch_is_dead_lettered_alone_and_the_rest_of_the_batch_is_applied() {
    let h = Harness::new().await;
    for n in 1..=9 {
        let id = if n == 5 { "poison".to_owned() } else { format!("healthy{n}") };
        h.publish(&project_event(&id, 1, n, created("batched")), true).await;
    }
    h.spawn_consumer("batch-poison-test", 3, PoisonedFor("poison".into()));
    h.wait_count("select count(*) from dead_letters", 1).await;
    h.wait_count("select count(*) from audit_log", 8).await;
    let (message_id, deliveries): (Option<String>, i64) =
        sqlx::query_as("select message_id, deliveries from dead_letters").fetch_one(&h.db.pool).await.unwrap();
    assert_eq!(message_id.as_deref(), Some("project:poison:1"));
    assert_eq!(deliveries, 3, "dead-lettered after its own deliveries, like a message on its own");
    assert_eq!(h.count("select count(*) from audit_log where aggregate_id = 'poison'").await, 0);
    assert_eq!(h.count("select count(*) from consumer_inbox where consumer = 'batch-poison-test'").await, 8);
}

#[tokio::test]
async fn a_gap_inside_a_batch_is_retried_until_its_predecessor_is_applied() {
    let h = Harness::new().await;
    let id = uuid::Uuid::now_v7().to_string();
    let (b, c) = (uuid::Uuid::now_v7().to_string(), uuid::Uuid::now_v7().to_string());
    let renamed = serde_json::json!({"ProjectRenamed": {"from": "a", "to": "b"}});
    // The rename arrives first, inside the same pull as its own creation and two others.
    h.publish(&project_event(&id, 2, 4, renamed), true).await;
    h.publish(&project_event(&b, 1, 1, created("other-b")), true).await;
    h.publish(&project_event(&c, 1, 2, created("other-c")), true).await;
    h.publish(&project_event(&id, 1, 3, created("a")), true).await;
    h.spawn_consumer("batch-gap-test", 50, ReadModelsHandler);
    h.wait_count("select count(*) from projects where name = 'b' and version = 2", 1).await;
    assert_eq!(h.count("select count(*) from projects where name in ('other-b', 'other-c') and version = 1").await, 2);
    assert_eq!(h.count("select count(*) from dead_letters").await, 0);
}

//! The outbox relay against real Postgres and NATS JetStream.

mod appends;
mod helpers;
mod recovery;
mod stalls;

use std::time::Duration;

use helpers::{Harness, WAIT};
use warp_store::relay::{CrashPoint, RelayConfig};
use warp_test_support::{eventually, NatsServer, TestNats};

#[tokio::test]
async fn an_event_committed_before_the_relay_crashed_reaches_each_consumer_once() {
    let h = Harness::new().await;
    h.nats.apply_definitions().await;
    h.create_project("shop").await;

    // The relay takes the row, then dies before publishing.
    let crashing = RelayConfig { crash_at: Some(CrashPoint::BeforePublish), ..Harness::relay_config() };
    let outcome = h.spawn_relay(crashing, h.shutdown.clone()).await.unwrap();
    assert!(outcome.is_err(), "the crash point stops the relay");
    assert_eq!(h.count("select count(*) from event_outbox where published_at is null").await, 1);
    assert!(h.stream_messages().await.is_empty());

    h.spawn_relay(Harness::relay_config(), h.shutdown.clone());
    h.spawn_consumers();
    h.wait_all_published().await;
    h.wait_audit_rows(1).await;
    assert_eq!(h.stream_messages().await.len(), 1);
    eventually(WAIT, "the project read model has the project", || async {
        (h.count("select count(*) from projects").await == 1).then_some(())
    })
    .await;
    // Give a duplicate delivery time to show up, then check nothing was applied twice.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(h.count("select count(*) from audit_log").await, 1);
    assert_eq!(h.count("select count(*) from consumer_inbox").await, 2, "one inbox row per consumer");
}

#[tokio::test]
async fn a_relay_that_crashed_after_publishing_does_not_duplicate_the_event() {
    let h = Harness::new().await;
    h.nats.apply_definitions().await;
    let id = h.create_project("shop").await;

    let crashing = RelayConfig { crash_at: Some(CrashPoint::AfterPublish), ..Harness::relay_config() };
    assert!(h.spawn_relay(crashing, h.shutdown.clone()).await.unwrap().is_err());
    // Published, acked, but never marked: the next relay publishes it again.
    assert_eq!(h.count("select count(*) from event_outbox where published_at is null").await, 1);
    assert_eq!(h.stream_messages().await.len(), 1);

    h.spawn_relay(Harness::relay_config(), h.shutdown.clone());
    h.spawn_consumers();
    h.wait_all_published().await;
    h.wait_audit_rows(1).await;
    let messages = h.stream_messages().await;
    assert_eq!(messages.len(), 1, "JetStream dropped the repeated Nats-Msg-Id");
    assert_eq!(messages[0].1, format!("project:{id}:1"));
    let position: i64 = sqlx::query_scalar("select stream_sequence from event_outbox").fetch_one(&h.db.pool).await.unwrap();
    assert_eq!(position as u64, messages[0].0, "the row records the original stream sequence");
}

#[tokio::test]
async fn commands_succeed_while_nats_is_down_and_their_events_arrive_when_it_is_back() {
    let mut server = NatsServer::start().await;
    let h = Harness::with_nats(TestNats::at(&server.url()).await).await;
    h.nats.apply_definitions().await;
    h.spawn_relay(Harness::relay_config(), h.shutdown.clone());
    h.spawn_consumers();
    let first = h.create_project("before-outage").await;
    h.wait_audit_rows(1).await;

    server.stop();
    let mut ids = Vec::new();
    for i in 0..5 {
        let id = h.create_project(&format!("during-outage-{i}")).await;
        h.rename_project(id, &format!("renamed-{i}")).await;
        ids.push(id);
    }
    assert_eq!(h.count("select count(*) from events").await, 11, "every command succeeded");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(h.count("select count(*) from event_outbox where published_at is null").await, 10);

    server.start_again().await;
    h.wait_all_published().await;
    h.wait_audit_rows(11).await;
    eventually(WAIT, "every project is renamed in the read model", || async {
        (h.count("select count(*) from projects where name like 'renamed-%'").await == 5).then_some(())
    })
    .await;
    // Per-aggregate order survives the outage: each project's events sit in sequence order.
    let messages = h.stream_messages().await;
    for id in ids.iter().chain([&first]) {
        let sequences: Vec<&str> = messages
            .iter()
            .filter(|(_, msg_id)| msg_id.contains(&id.to_string()))
            .map(|(_, msg_id)| msg_id.rsplit(':').next().unwrap())
            .collect();
        let mut sorted = sequences.clone();
        sorted.sort();
        assert_eq!(sequences, sorted, "events of {id} are published in order");
    }
}

#[tokio::test]
async fn a_transaction_that_commits_late_with_a_lower_position_is_still_published() {
    let h = Harness::new().await;
    h.nats.apply_definitions().await;
    h.spawn_relay(Harness::relay_config(), h.shutdown.clone());

    // A slow writer takes a position first and commits last.
    let mut slow = h.db.pool.begin().await.unwrap();
    let slow_position: i64 = sqlx::query_scalar(
        "insert into events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
         values ('project', $1, 1, 'ProjectCreated', '1.0', $2, '{}') returning global_position",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(serde_json::json!({"ProjectCreated": {"name": "slow", "description": null, "subdomain": null}}))
    .fetch_one(&mut *slow)
    .await
    .unwrap();

    h.create_project("fast").await;
    eventually(WAIT, "the fast event is published", || async {
        (h.count("select count(*) from event_outbox where published_at is not null").await == 1).then_some(())
    })
    .await;
    slow.commit().await.unwrap();
    h.wait_all_published().await;

    let (fast_position, fast_seq): (i64, i64) = sqlx::query_as(
        "select o.global_position, o.stream_sequence from event_outbox o where o.global_position <> $1",
    )
    .bind(slow_position)
    .fetch_one(&h.db.pool)
    .await
    .unwrap();
    let slow_seq: i64 = sqlx::query_scalar("select stream_sequence from event_outbox where global_position = $1")
        .bind(slow_position)
        .fetch_one(&h.db.pool)
        .await
        .unwrap();
    assert!(slow_position < fast_position, "the slow event holds the lower position");
    assert!(slow_seq > fast_seq, "and is published after the fast one");
    assert_eq!(h.stream_messages().await.len(), 2);
}

#[tokio::test]
async fn a_standby_relay_takes_over_when_the_active_one_stops() {
    let h = Harness::new().await;
    h.nats.apply_definitions().await;
    let first_stop = warp_platform::Shutdown::new();
    let first = h.spawn_relay(Harness::relay_config(), first_stop.clone());
    eventually(WAIT, "the first relay holds the lock", || async {
        (h.count("select count(*) from pg_locks where locktype = 'advisory' and granted").await >= 1).then_some(())
    })
    .await;
    h.spawn_relay(Harness::relay_config(), h.shutdown.clone());
    h.create_project("one").await;
    h.wait_all_published().await;

    first_stop.cancel();
    first.await.unwrap().unwrap();
    h.create_project("two").await;
    h.wait_all_published().await;
    assert_eq!(h.stream_messages().await.len(), 2);
}

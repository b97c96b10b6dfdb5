//! One bad row never stalls the others, and a deposed relay publishes nothing more.

use std::time::Duration;

use serde_json::json;
use uuid::Uuid;
use warp_store::outbox;
use warp_store::relay::{BatchPause, RelayConfig};
use warp_test_support::eventually;

use crate::helpers::{Harness, WAIT};

/// Stores event `sequence` of project `id` directly (as an older panel or a bug could have).
async fn insert_event(h: &Harness, id: Uuid, sequence: i64, payload: serde_json::Value) {
    let event_type = payload.as_object().unwrap().keys().next().unwrap().clone();
    sqlx::query(
        "insert into events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
         values ('project', $1, $2, $3, '1.0', $4, '{}')",
    )
    .bind(id.to_string())
    .bind(sequence)
    .bind(event_type)
    .bind(payload)
    .execute(&h.db.pool)
    .await
    .unwrap();
}

#[tokio::test]
async fn an_event_too_large_to_publish_is_reported_once_and_every_other_aggregate_keeps_flowing() {
    let h = Harness::new().await;
    h.nats.apply_definitions().await;
    let stuck = Uuid::now_v7();
    let huge = "x".repeat(300 * 1024);
    insert_event(&h, stuck, 1, json!({"ProjectCreated": {"name": huge, "description": null, "subdomain": null}})).await;
    insert_event(&h, stuck, 2, json!({"ProjectRenamed": {"from": "x", "to": "small"}})).await;
    let mut others = Vec::new();
    for i in 0..3 {
        others.push(h.create_project(&format!("fine-{i}")).await);
    }

    h.spawn_relay(Harness::relay_config(), h.shutdown.clone());
    h.spawn_consumers();
    eventually(WAIT, "the other projects reach the read model", || async {
        (h.count("select count(*) from projects where name like 'fine-%'").await == 3).then_some(())
    })
    .await;
    let rows = outbox::stuck(&h.db.pool).await.unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!((rows[0].aggregate_id.as_str(), rows[0].sequence, rows[0].waiting_behind), (stuck.to_string().as_str(), 1, 1));
    assert!(rows[0].last_error.as_deref().unwrap().contains("bytes"), "{rows:?}");
    let messages = h.stream_messages().await;
    assert_eq!(messages.len(), 3);
    assert!(messages.iter().all(|(_, id)| !id.contains(&stuck.to_string())), "nothing of the stuck aggregate: {messages:?}");
    assert!(others.iter().all(|o| messages.iter().any(|(_, id)| id.contains(&o.to_string()))));

    // Not retried behind the operator's back.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(h.count("select max(attempts)::bigint from event_outbox where stuck_at is not null").await, 1);

    // The operator skips it: the aggregate's later event goes out.
    assert!(outbox::skip(&h.db.pool, rows[0].id).await.unwrap());
    h.wait_all_published().await;
    let messages = h.stream_messages().await;
    assert_eq!(messages.last().unwrap().1, format!("project:{stuck}:2"));
    assert!(outbox::stuck(&h.db.pool).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_relay_whose_lock_connection_is_killed_mid_batch_publishes_nothing_more_and_order_holds() {
    let h = Harness::new().await;
    h.nats.apply_definitions().await;
    let id = h.create_project("ordered").await;
    for i in 0..4 {
        h.rename_project(id, &format!("name-{i}")).await;
    }
    let pause = BatchPause::armed();
    let first = RelayConfig { pause: Some(pause.clone()), batch_size: 100, ..Harness::relay_config() };
    let first_stop = warp_platform::Shutdown::new();
    let first_task = h.spawn_relay(first, first_stop.clone());
    tokio::time::timeout(WAIT, pause.paused.notified()).await.expect("the first relay published one row and paused");

    // Its lock connection dies; a second relay takes over; a new event arrives meanwhile.
    let killed: bool = sqlx::query_scalar(
        "select pg_terminate_backend(pid) from pg_locks
          where locktype = 'advisory' and granted and database = (select oid from pg_database where datname = current_database())",
    )
    .fetch_one(&h.db.pool)
    .await
    .unwrap();
    assert!(killed);
    h.spawn_relay(Harness::relay_config(), h.shutdown.clone());
    h.rename_project(id, "after-the-takeover").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    pause.resume.notify_one();

    h.wait_all_published().await;
    let sequences: Vec<i64> =
        h.stream_messages().await.iter().map(|(_, msg_id)| msg_id.rsplit(':').next().unwrap().parse().unwrap()).collect();
    assert_eq!(sequences, (1..=6).collect::<Vec<_>>(), "each event once, in aggregate order");
    first_stop.cancel();
    first_task.await.unwrap().unwrap();
}

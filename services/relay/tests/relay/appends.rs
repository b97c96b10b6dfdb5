//! Appends through the panel's event repository: a command's events in one statement.

use cqrs_es::persist::{PersistedEventRepository as _, PersistenceError, SerializedEvent};
use serde_json::json;
use warp_domain::Project;
use warp_store::event_store::EventRepository;

use crate::helpers::Harness;

fn event(aggregate_id: &str, sequence: usize, name: &str) -> SerializedEvent {
    SerializedEvent {
        aggregate_id: aggregate_id.to_owned(),
        sequence,
        aggregate_type: "project".into(),
        event_type: "ProjectRenamed".into(),
        event_version: "1.0".into(),
        payload: json!({ "ProjectRenamed": { "from": "", "to": name } }),
        metadata: json!({ "actor": "tester" }),
    }
}

/// `(sequence, event_type, payload name, global_position, has an outbox row)` of `id`'s events.
async fn stored(h: &Harness, id: &str) -> Vec<(i64, String, String, i64, bool)> {
    sqlx::query_as(
        "select e.sequence, e.event_type, coalesce(e.payload -> e.event_type ->> 'name', e.payload -> e.event_type ->> 'to'), e.global_position,
                exists(select 1 from event_outbox o where o.global_position = e.global_position)
           from events e where aggregate_type = 'project' and aggregate_id = $1 order by sequence",
    )
    .bind(id)
    .fetch_all(&h.db.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_commands_events_are_appended_in_order_or_not_at_all() {
    let h = Harness::new().await;
    let repository = EventRepository::new(h.db.pool.clone());
    let id = uuid::Uuid::now_v7().to_string();
    let mut created = event(&id, 1, "shop");
    created.event_type = "ProjectCreated".into();
    created.payload = json!({ "ProjectCreated": { "name": "shop", "description": null, "subdomain": null } });
    repository.persist::<Project>(&[created, event(&id, 2, "shop-2"), event(&id, 3, "shop-3")], None).await.unwrap();

    let rows = stored(&h, &id).await;
    let summary: Vec<(i64, &str, &str, bool)> = rows.iter().map(|r| (r.0, r.1.as_str(), r.2.as_str(), r.4)).collect();
    assert_eq!(
        summary,
        [(1, "ProjectCreated", "shop", true), (2, "ProjectRenamed", "shop-2", true), (3, "ProjectRenamed", "shop-3", true)]
    );
    let positions: Vec<i64> = rows.iter().map(|r| r.3).collect();
    assert!(positions.windows(2).all(|w| w[1] == w[0] + 1), "global positions follow the events' order: {positions:?}");
    let read_back = repository.get_events::<Project>(&id).await.unwrap();
    assert_eq!(read_back.iter().map(|e| e.sequence).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(read_back[2].payload, json!({ "ProjectRenamed": { "from": "", "to": "shop-3" } }));
    assert_eq!(read_back[2].metadata, json!({ "actor": "tester" }));

    // Sequence 3 is taken: the whole append fails as a conflict and sequence 4 is not written.
    let conflict = repository.persist::<Project>(&[event(&id, 3, "late"), event(&id, 4, "late-4")], None).await;
    assert!(matches!(conflict, Err(PersistenceError::OptimisticLockError)), "{conflict:?}");
    assert_eq!(stored(&h, &id).await.len(), 3, "nothing of the conflicting append is stored");
    assert_eq!(h.count("select count(*) from event_outbox").await, 3);

    // Nothing to append appends nothing.
    repository.persist::<Project>(&[], None).await.unwrap();
    assert_eq!(h.count("select count(*) from events").await, 3);
}

//! Operators' ways out: re-driving dead letters and rebuilding a read model.

use warp_consumer_kit::redrive::{self, Redriven};
use warp_store::projections::rebuild::{self, READ_MODELS};
use warp_test_support::eventually;

use crate::helpers::{Harness, WAIT};

async fn project_row(h: &Harness, id: uuid::Uuid) -> Option<(String, i64)> {
    sqlx::query_as("select name, version from projects where id = $1").bind(id).fetch_optional(&h.db.pool).await.unwrap()
}

#[tokio::test]
async fn a_dead_lettered_event_and_the_gaps_behind_it_recover_after_a_retry() {
    let h = Harness::new().await;
    h.nats.apply_definitions().await;
    h.spawn_relay(Harness::relay_config(), h.shutdown.clone());
    h.spawn_consumers();
    let id = h.create_project("shop").await;
    eventually(WAIT, "the project is in the read model", || async { project_row(&h, id).await }).await;

    // The read model refuses to move past version 1 for a while: the first rename is
    // dead-lettered, and the next event of the same project, now a gap, is dead-lettered
    // behind it. (The refusal is on the version, not on the name "evil": a batch holding both
    // renames writes only the row after the last one.)
    sqlx::query("alter table projects add constraint refuse_changes check (version < 2)").execute(&h.db.pool).await.unwrap();
    h.rename_project(id, "evil").await;
    h.rename_project(id, "good").await;
    eventually(WAIT, "both events are dead letters", || async {
        (h.count("select count(*) from dead_letters where consumer = 'projections'").await == 2).then_some(())
    })
    .await;
    assert_eq!(project_row(&h, id).await, Some(("shop".into(), 1)), "the read model is frozen");

    sqlx::query("alter table projects drop constraint refuse_changes").execute(&h.db.pool).await.unwrap();
    let handler = warp_read_models::handlers::read_models::ReadModelsHandler;
    let done = redrive::retry(&h.db.pool, "projections", &handler, None).await.unwrap();
    let outcomes: Vec<&Redriven> = done.iter().map(|(_, outcome)| outcome).collect();
    assert_eq!(outcomes, [&Redriven::Applied, &Redriven::Applied]);
    assert_eq!(project_row(&h, id).await, Some(("good".into(), 3)));
    assert_eq!(h.count("select count(*) from dead_letters").await, 0);

    // Live delivery goes on where the retry left it.
    h.rename_project(id, "better").await;
    eventually(WAIT, "a later rename reaches the read model", || async {
        (project_row(&h, id).await == Some(("better".into(), 4))).then_some(())
    })
    .await;
    // Retrying again finds nothing left.
    assert!(redrive::retry(&h.db.pool, "projections", &handler, None).await.unwrap().is_empty());
}

#[tokio::test]
async fn rebuilding_the_projects_read_model_repairs_a_corrupted_and_a_frozen_row() {
    let h = Harness::new().await;
    h.nats.apply_definitions().await;
    h.spawn_relay(Harness::relay_config(), h.shutdown.clone());
    h.spawn_consumers();
    let frozen = h.create_project("frozen").await;
    let lost = h.create_project("lost").await;
    h.rename_project(frozen, "frozen-2").await;
    h.wait_audit_rows(3).await;
    eventually(WAIT, "the read model caught up", || async { (project_row(&h, frozen).await?.1 == 2).then_some(()) }).await;

    // A bad manual edit: one row claims a far later version (so it ignores new events), one is gone.
    sqlx::query("update projects set name = 'garbage', version = 99 where id = $1").bind(frozen).execute(&h.db.pool).await.unwrap();
    sqlx::query("delete from projects where id = $1").bind(lost).execute(&h.db.pool).await.unwrap();
    h.rename_project(frozen, "frozen-3").await;
    h.wait_audit_rows(4).await;
    assert_eq!(project_row(&h, frozen).await, Some(("garbage".into(), 99)));

    let report = rebuild::rebuild(&h.db.pool, &READ_MODELS[0]).await.unwrap();
    assert_eq!(report.events, 4);
    assert_eq!(project_row(&h, frozen).await, Some(("frozen-3".into(), 3)));
    assert_eq!(project_row(&h, lost).await, Some(("lost".into(), 1)));

    // The live consumer writes to the swapped-in table.
    h.rename_project(lost, "found").await;
    eventually(WAIT, "a rename after the rebuild is applied", || async {
        (project_row(&h, lost).await == Some(("found".into(), 2))).then_some(())
    })
    .await;
}

//! Bursts of concurrent writes stay inside the connection pool and leave the pipeline working.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::Connection;
use uuid::Uuid;

use crate::helpers::{TestApp, CATCH_UP};

/// Requests of each kind in one burst.
const BURST: usize = 500;
/// Connections to the test database besides its pool of 10: the relay's lock connection, its
/// LISTEN connection and the sampler's own.
const OUTSIDE_THE_POOL: i64 = 3;

/// Samples the number of connections to the app's database until dropped; keeps the highest.
struct ConnectionSampler {
    highest: Arc<AtomicI64>,
    task: tokio::task::JoinHandle<()>,
}

impl ConnectionSampler {
    async fn start(app: &TestApp) -> Self {
        let mut conn = sqlx::PgConnection::connect(&app.db.url).await.unwrap();
        let highest = Arc::new(AtomicI64::new(0));
        let seen = highest.clone();
        let task = tokio::spawn(async move {
            loop {
                let count: i64 = sqlx::query_scalar("select count(*) from pg_stat_activity where datname = current_database()")
                    .fetch_one(&mut conn)
                    .await
                    .unwrap();
                seen.fetch_max(count, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
        Self { highest, task }
    }

    fn highest(&self) -> i64 {
        self.highest.load(Ordering::Relaxed)
    }
}

impl Drop for ConnectionSampler {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Sends `BURST` requests at once; their statuses.
async fn burst<Fut>(requests: impl Iterator<Item = Fut>) -> Vec<StatusCode>
where
    Fut: std::future::Future<Output = reqwest::Response>,
{
    futures::future::join_all(requests.map(|request| async { request.await.status() })).await
}

#[tokio::test]
async fn five_hundred_concurrent_creates_renames_and_archives_stay_in_the_pool_and_the_pipeline_keeps_up() {
    let app = TestApp::spawn().await;
    let pool_size = app.db.pool.options().get_max_connections() as i64;
    let sampler = ConnectionSampler::start(&app).await;

    let created = burst((0..BURST).map(|i| {
        let app = &app;
        async move { app.create_project(&app.admin, &json!({ "name": format!("load-{i}") })).await }
    })).await;
    assert!(created.iter().all(|s| *s == StatusCode::CREATED), "{created:?}");
    let ids: Vec<Uuid> = sqlx::query_scalar("select distinct aggregate_id::uuid from events where aggregate_type = 'project'")
        .fetch_all(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(ids.len(), BURST);

    // Each rename takes its project's lock: under the old session locks each waiting or
    // holding request had a connection of its own outside the pool.
    let renamed = burst(ids.iter().enumerate().map(|(i, id)| {
        let app = &app;
        async move { app.update_project(&app.admin, &id.to_string(), &json!({ "name": format!("renamed-{i}") }), None).await }
    }))
    .await;
    assert!(renamed.iter().all(|s| *s == StatusCode::NO_CONTENT), "{renamed:?}");

    let archived = burst(ids.iter().map(|id| {
        let app = &app;
        async move { app.archive_project(&app.admin, &id.to_string()).await }
    })).await;
    assert!(archived.iter().all(|s| *s == StatusCode::NO_CONTENT), "{archived:?}");
    let highest = sampler.highest();
    assert!(highest <= pool_size + OUTSIDE_THE_POOL, "{highest} connections to the database (pool of {pool_size})");

    // The relay and the projection consumers kept up: every project reads as archived.
    warp_test_support::eventually(CATCH_UP * 4, "the read model shows every archive", || async {
        let pending = warp_store::relay::pending_count(&app.db.pool).await.unwrap();
        let response = app.list_projects(&app.admin, &[("limit", "1")]).await;
        let page: Value = response.json().await.unwrap_or_default();
        let live = page["items"].as_array().map_or(usize::MAX, Vec::len);
        (pending == 0 && live == 0).then_some(())
    })
    .await;
    let fresh = app.create_named("after-the-burst").await;
    app.project_eventually(fresh, "a new project still becomes readable", |p| p["name"] == "after-the-burst").await;
}

//! `TestDb` cleans up after itself: no test run fills the disk with databases.

use warp_test_support::TestDb;

async fn exists(name: &str) -> bool {
    let admin = sqlx::PgPool::connect(&std::env::var("WARP_DATABASE_URL").unwrap()).await.unwrap();
    let found = sqlx::query_scalar("select exists(select 1 from pg_database where datname = $1)")
        .bind(name)
        .fetch_one(&admin)
        .await
        .unwrap();
    admin.close().await;
    found
}

#[tokio::test]
async fn a_test_database_is_dropped_with_its_handle_even_while_connections_are_open() {
    let db = TestDb::new().await;
    let name = db.name.clone();
    assert!(name.starts_with("warp_test_"), "{name}");
    let held = db.pool.acquire().await.unwrap();
    assert!(exists(&name).await);
    drop(db);
    assert!(!exists(&name).await, "{name} is still there");
    drop(held);
}

#[tokio::test]
async fn a_stale_test_database_is_swept_by_the_next_one() {
    let admin = sqlx::PgPool::connect(&std::env::var("WARP_DATABASE_URL").unwrap()).await.unwrap();
    let stale = format!("warp_test_1000000000_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("create database {stale}")).execute(&admin).await.unwrap();
    let _db = TestDb::new().await;
    assert!(!exists(&stale).await, "{stale} was not swept");
    admin.close().await;
}

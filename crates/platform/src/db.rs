//! Postgres pools.

use std::time::Duration;

use anyhow::Context;
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;

use crate::DatabaseArgs;

/// Opens a pool, waiting up to 30 s for the server to accept connections (it may still be
/// starting next to us).
pub async fn connect(args: &DatabaseArgs) -> anyhow::Result<PgPool> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let attempt = PgPoolOptions::new()
            .max_connections(args.database_max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .connect(args.database_url.expose())
            .await;
        match attempt {
            Ok(pool) => return Ok(pool),
            Err(error) if tokio::time::Instant::now() < deadline => {
                tracing::warn!(database.url = %args.database_url, error = %error, "postgres not reachable yet, retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(error) => {
                return Err(error).with_context(|| format!("connecting to postgres at {}", args.database_url));
            }
        }
    }
}

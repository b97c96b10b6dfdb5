//! Postgres pools.

use std::time::Duration;

use anyhow::Context;
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;

use crate::DatabaseArgs;

/// Opens a pool, waiting up to 30 s for the server to accept connections (it may still be
/// starting next to us).
///
/// # Errors
/// When `WARP_DATABASE_URL` is not set, or the server does not answer in time.
pub async fn connect(args: &DatabaseArgs) -> anyhow::Result<PgPool> {
    let url = args
        .database_url
        .as_ref()
        .context("WARP_DATABASE_URL is not set (postgres://user:password@host:port/database)")?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let attempt = PgPoolOptions::new()
            .max_connections(args.database_max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url.expose())
            .await;
        match attempt {
            Ok(pool) => return Ok(pool),
            Err(error) if tokio::time::Instant::now() < deadline => {
                tracing::warn!(database.url = %url, error = %error, "postgres not reachable yet, retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(error) => {
                return Err(error).with_context(|| format!("connecting to postgres at {url}"));
            }
        }
    }
}

//! Schema migrations (`migrations/` at the repository root, embedded at build time).

use anyhow::Context;
use sqlx::PgPool;

/// Every migration of the panel, in order.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

/// Applies pending migrations. Idempotent and safe to run from several services at once
/// (sqlx takes an advisory lock).
pub async fn run(pool: &PgPool) -> anyhow::Result<()> {
    MIGRATOR.run(pool).await.context("applying database migrations")
}

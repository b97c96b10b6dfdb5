//! The settings aggregate's state as a read model (`settings_current`), rebuilt from the
//! events whenever it is behind them (e.g. a crash between the append and the update).

use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use sqlx::PgPool;
use warp_domain::Settings;
use warp_events::settings::{SettingsEvent, AGGREGATE_ID, AGGREGATE_TYPE};

/// The state at its version, and when it last changed (`None` before any change).
pub(super) async fn state(pool: &PgPool) -> anyhow::Result<(Settings, Option<DateTime<Utc>>)> {
    let latest: Option<(i64, DateTime<Utc>)> = sqlx::query_as(
        "select sequence, recorded_at from events where aggregate_type = $1 and aggregate_id = $2
          order by sequence desc limit 1",
    )
    .bind(AGGREGATE_TYPE)
    .bind(AGGREGATE_ID)
    .fetch_optional(pool)
    .await?;
    let Some((latest, changed_at)) = latest else {
        return Ok((Settings::default(), None));
    };
    let row: Option<(i64, serde_json::Value)> =
        sqlx::query_as("select version, state from settings_current where id").fetch_optional(pool).await?;
    if let Some((version, state)) = row.filter(|(version, _)| *version == latest) {
        let settings: Settings = serde_json::from_value(state)?;
        debug_assert_eq!(settings.version, version as u64);
        return Ok((settings, Some(changed_at)));
    }
    let settings = replay(pool).await?;
    sqlx::query(
        "insert into settings_current (id, version, state) values (true, $1, $2)
         on conflict (id) do update set version = excluded.version, state = excluded.state, updated_at = now()
          where settings_current.version < excluded.version",
    )
    .bind(settings.version as i64)
    .bind(serde_json::to_value(&settings)?)
    .execute(pool)
    .await?;
    Ok((settings, Some(changed_at)))
}

async fn replay(pool: &PgPool) -> anyhow::Result<Settings> {
    let mut settings = Settings::default();
    for envelope in crate::events::for_aggregate(pool, AGGREGATE_TYPE, AGGREGATE_ID).await? {
        let event: SettingsEvent = serde_json::from_value(envelope.payload)?;
        settings.apply(event);
    }
    Ok(settings)
}

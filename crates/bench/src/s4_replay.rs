//! Scenario 4, replay: `warp audit rebuild` (`projections::audit::rebuild`) over the event
//! history, topped up to the wanted size, versus a raw ordered scan of the same rows
//! (`select … from events order by global_position`, every row fetched). Targets: ≥ 50,000
//! events/s and ≥ 25% of the raw scan.

use std::time::Instant;

use futures::TryStreamExt;
use warp_test_support::TestDb;

use crate::history::{self, count, EVENTS_PER_PROJECT};
use crate::report::{Better, Report, Row};

pub async fn run(db: &TestDb, events: usize, report: &mut Report) -> anyhow::Result<()> {
    let pool = &db.pool;
    let have = count(pool, "select count(*) from events").await? as usize;
    if have < events {
        let template = match sqlx::query_scalar::<_, String>("select aggregate_id from events where aggregate_type = 'project' limit 1")
            .fetch_optional(pool)
            .await?
        {
            Some(id) => id.parse()?,
            None => history::template(pool).await?,
        };
        let have = count(pool, "select count(*) from events").await? as usize;
        history::append_copies(pool, template, events.saturating_sub(have) / EVENTS_PER_PROJECT).await?;
    }
    let total = count(pool, "select count(*) from events").await?;

    let rebuilt = warp_store::projections::audit::rebuild(pool).await?;

    let started = Instant::now();
    let mut rows = sqlx::query_as::<_, (String, String, i64, String, String, serde_json::Value, serde_json::Value, i64)>(
        "select aggregate_type, aggregate_id, sequence, event_type, event_version, payload::jsonb, metadata::jsonb, global_position
           from events order by global_position",
    )
    .fetch(pool);
    let mut scanned = 0u64;
    while rows.try_next().await?.is_some() {
        scanned += 1;
    }
    let raw = scanned as f64 / started.elapsed().as_secs_f64();

    let warp = rebuilt.events_per_second;
    report.push(Row {
        scenario: "4 replay".into(),
        figure: format!("audit rebuild over {total} events"),
        unit: "events/s".into(),
        warp,
        raw: Some(raw),
        raw_what: "ordered scan rows/s".into(),
        better: Better::Higher,
        target: "≥ 50000 events/s and ≥ 25% of raw".into(),
        met: Some(warp >= 50_000.0 && warp >= 0.25 * raw),
    });
    Ok(())
}

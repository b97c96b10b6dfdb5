//! Scenario 3, read-model catch-up: events appended while the read-model service is stopped,
//! then the service is started: events per second until both its consumers (`audit` →
//! `audit_log`, `projections` → `projects`) have applied every one. Versus a raw `insert …
//! select` of the same rows into a copy of `events` (its indexes, no triggers). Target:
//! ≥ 20,000 events/s.
//!
//! The bench itself puts the history on the stream the way the relay does (same subject,
//! `Nats-Msg-Id` and body; outbox rows marked published), with acks pipelined: the relay's
//! rate is not this scenario's figure. The wait is bounded (`WARP_BENCH_CATCHUP_BUDGET`):
//! when the read models are not caught up by then, the rate is what they applied so far.

use std::future::IntoFuture;
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use warp_consumer_kit::ConsumerOptions;
use warp_events::subjects::MSG_ID_HEADER;
use warp_events::EventEnvelope;
use warp_platform::Shutdown;
use warp_store::events::{EventRow, EVENT_COLUMNS};
use warp_test_support::{TestDb, TestNats};

use crate::history::{self, count, EVENTS_PER_PROJECT};
use crate::report::{Better, Report, Row};

/// Publishes in flight at once while the history is put on the stream.
const IN_FLIGHT: usize = 1000;

pub async fn run(db: &TestDb, events: usize, budget: Duration, report: &mut Report) -> anyhow::Result<()> {
    let pool = &db.pool;
    let nats = TestNats::new().await;
    nats.apply_definitions().await;
    let template = history::template(pool).await?;
    let projects = (events / EVENTS_PER_PROJECT).max(1) - 1;
    history::append_copies(pool, template, projects).await?;
    let total = count(pool, "select count(*) from events").await?;

    let published = Instant::now();
    publish_history(pool, &nats).await?;
    println!("  (history of {total} events put on the stream in {:.1} s)", published.elapsed().as_secs_f64());
    // Settle the tables the history just filled, so autovacuum does not pick them up while
    // the consumers catch up.
    sqlx::query("vacuum (analyze) events, event_outbox").execute(pool).await?;

    let stop = Shutdown::new();
    let started = Instant::now();
    tokio::spawn(warp_read_models::run(pool.clone(), nats.client.clone(), nats.names.clone(), ConsumerOptions::default(), stop.clone()));
    let expected_projects = (projects + 1) as i64;
    let deadline = started + budget;
    // Caught up: both consumers have nothing pending and nothing unacknowledged (acks follow
    // the commit, so everything delivered is in the tables). Asking JetStream is cheap; the
    // tables are counted once at the end, so polling does not slow the consumers down.
    let mut stream = nats.js.get_stream(&nats.names.stream).await?;
    let last = stream.info().await?.state.last_sequence;
    let drained = loop {
        let mut drained = true;
        for durable in ["audit", "projections"] {
            let info = match stream.consumer_info(durable).await {
                Ok(info) => info,
                Err(_) => {
                    drained = false;
                    break;
                }
            };
            drained &= info.num_pending == 0 && info.num_ack_pending == 0 && info.ack_floor.stream_sequence >= last;
        }
        if drained || Instant::now() > deadline {
            break drained;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let elapsed = started.elapsed();
    // Applied: audit rows, and project events in the `projects` read model (sum of versions).
    let audit = count(pool, "select count(*) from audit_log").await?;
    let projected = count(pool, "select coalesce(sum(version), 0)::bigint from projects").await?;
    let caught_up = drained && audit == total && projected == expected_projects * 2;
    let applied = audit.min(projected);
    let warp = applied as f64 / elapsed.as_secs_f64();
    stop.cancel();
    if !caught_up {
        println!("  (not caught up after {} s: both consumers applied at least {applied} of {total})", budget.as_secs());
    }

    sqlx::query("create table bench_raw_catch_up (like events including defaults including indexes)").execute(pool).await?;
    let started = Instant::now();
    sqlx::query("insert into bench_raw_catch_up select * from events").execute(pool).await?;
    let raw = total as f64 / started.elapsed().as_secs_f64();
    sqlx::query("drop table bench_raw_catch_up").execute(pool).await?;

    report.push(Row {
        scenario: "3 catch-up".into(),
        figure: if caught_up {
            format!("read models catch up on {total} events")
        } else {
            format!("read models catch up on {total} events (not caught up in {} s: {applied} applied)", budget.as_secs())
        },
        unit: "events/s".into(),
        warp,
        raw: Some(raw),
        raw_what: "insert … select rows/s".into(),
        better: Better::Higher,
        target: "≥ 20000 events/s".into(),
        met: Some(warp >= 20_000.0),
    });
    Ok(())
}

/// Publishes every event row in position order as the relay would, then marks the outbox.
async fn publish_history(pool: &sqlx::PgPool, nats: &TestNats) -> anyhow::Result<()> {
    let sql = format!("select {EVENT_COLUMNS} from events e order by e.global_position");
    let mut rows = sqlx::query_as::<_, EventRow>(&sql).fetch(pool);
    let mut acks = Vec::with_capacity(IN_FLIGHT);
    while let Some(row) = rows.try_next().await? {
        let envelope: EventEnvelope = row.into();
        let subject = nats.names.event_subject(&envelope.aggregate_type, &envelope.aggregate_id, &envelope.event_type);
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(MSG_ID_HEADER, envelope.message_id().as_str());
        acks.push(nats.js.publish_with_headers(subject, headers, serde_json::to_vec(&envelope)?.into()).await?);
        if acks.len() == IN_FLIGHT {
            futures::future::try_join_all(acks.drain(..).map(IntoFuture::into_future)).await?;
        }
    }
    futures::future::try_join_all(acks.into_iter().map(IntoFuture::into_future)).await?;
    sqlx::query("update event_outbox set published_at = now() where published_at is null").execute(pool).await?;
    Ok(())
}

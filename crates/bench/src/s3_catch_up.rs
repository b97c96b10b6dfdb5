//! Scenario 3, read-model catch-up: events appended while the read-model service is stopped
//! (and published by the relay), then the service is started: events per second until both
//! its consumers (`audit` → `audit_log`, `projections` → `projects`) have applied every one.
//! Versus a raw `insert … select` of the same rows into a copy of `events` (its indexes, no
//! triggers). Target: ≥ 20,000 events/s.

use std::time::{Duration, Instant};

use warp_consumer_kit::ConsumerOptions;
use warp_platform::Shutdown;
use warp_relay::RelayArgs;
use warp_test_support::{TestDb, TestNats};

use crate::history::{self, count, EVENTS_PER_PROJECT};
use crate::report::{Better, Report, Row};

/// Longest the relay or the consumers may take.
const PATIENCE: Duration = Duration::from_secs(900);

pub async fn run(db: &TestDb, events: usize, report: &mut Report) -> anyhow::Result<()> {
    let pool = &db.pool;
    let nats = TestNats::new().await;
    nats.apply_definitions().await;
    let template = history::template(pool).await?;
    let projects = (events / EVENTS_PER_PROJECT).max(1) - 1;
    history::append_copies(pool, template, projects).await?;
    let total = count(pool, "select count(*) from events").await?;

    let stop = Shutdown::new();
    let relay = RelayArgs { batch_size: 256, poll_ms: 200 };
    tokio::spawn({
        let (pool, client, names, stop) = (pool.clone(), nats.client.clone(), nats.names.clone(), stop.clone());
        async move { warp_relay::run(pool, client, names, &relay, stop).await }
    });
    let published = Instant::now();
    wait(PATIENCE, "the relay publishes the history", || async {
        Ok(count(pool, "select count(*) from event_outbox where published_at is null").await? == 0)
    })
    .await?;
    println!("  (relay published {total} events in {:.1} s)", published.elapsed().as_secs_f64());

    let started = Instant::now();
    tokio::spawn(warp_read_models::run(pool.clone(), nats.client.clone(), nats.names.clone(), ConsumerOptions::default(), stop.clone()));
    let expected_projects = (projects + 1) as i64;
    wait(PATIENCE, "the read models catch up", || async {
        let audit = count(pool, "select count(*) from audit_log").await?;
        let renamed = count(pool, "select count(*) from projects where version = 2").await?;
        Ok(audit == total && renamed == expected_projects)
    })
    .await?;
    let warp = total as f64 / started.elapsed().as_secs_f64();
    stop.cancel();

    sqlx::query("create table bench_raw_catch_up (like events including defaults including indexes)").execute(pool).await?;
    let started = Instant::now();
    sqlx::query("insert into bench_raw_catch_up select * from events").execute(pool).await?;
    let raw = total as f64 / started.elapsed().as_secs_f64();
    sqlx::query("drop table bench_raw_catch_up").execute(pool).await?;

    report.push(Row {
        scenario: "3 catch-up".into(),
        figure: format!("read models catch up on {total} events"),
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

/// Polls `probe` every 100 ms until it answers true, at most `within`.
pub async fn wait<F, Fut>(within: Duration, what: &str, mut probe: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<bool>>,
{
    let deadline = Instant::now() + within;
    loop {
        if probe().await? {
            return Ok(());
        }
        anyhow::ensure!(Instant::now() < deadline, "{what}: not done within {within:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

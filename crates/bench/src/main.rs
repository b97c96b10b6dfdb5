//! `make bench`: end-to-end throughput of the event flow on this machine's real Postgres and
//! NATS (from `.stack/env`), in a throwaway database and stream.
//!
//! Measures, for `WARP_BENCH_PROJECTS` projects (default 5000, each created then renamed, so
//! twice as many events):
//! 1. command appends per second (8 concurrent writers through `cqrs-es`),
//! 2. relay publish rate (outbox → JetStream, acked),
//! 3. projection catch-up rate (audit + projects consumers),
//! 4. audit rebuild replay rate.
//!
//! It also reports the process's peak resident memory.

use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt};
use uuid::Uuid;
use warp_consumer_kit::ConsumerOptions;
use warp_domain::ProjectCommand;
use warp_events::EventMetadata;
use warp_platform::Shutdown;
use warp_store::event_store;
use warp_store::relay::{Relay, RelayConfig};
use warp_test_support::{eventually, TestDb, TestNats};

const WRITERS: usize = 8;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let projects: usize = std::env::var("WARP_BENCH_PROJECTS").ok().and_then(|v| v.parse().ok()).unwrap_or(5000);
    let events = (projects * 2) as f64;
    let db = TestDb::new().await;
    let nats = TestNats::new().await;
    nats.apply_definitions().await;
    let cqrs = event_store::project_cqrs(db.pool.clone());
    let metadata = EventMetadata { actor: Some("bench".into()), ..Default::default() };
    let count = |sql: &'static str| {
        let pool = db.pool.clone();
        async move { sqlx::query_scalar::<_, i64>(sql).fetch_one(&pool).await.unwrap() }
    };

    // 1. Appends, with nothing else running.
    let started = Instant::now();
    stream::iter(0..projects)
        .for_each_concurrent(WRITERS, |i| {
            let (cqrs, metadata) = (cqrs.clone(), metadata.clone());
            async move {
                let id = Uuid::now_v7();
                let name = format!("bench-{i}").try_into().unwrap();
                let create = ProjectCommand::Create { name, description: None, subdomain: None };
                event_store::execute_project(&cqrs, id, create, &metadata).await.unwrap();
                let rename = ProjectCommand::Update {
                    name: Some(format!("renamed-{i}").try_into().unwrap()),
                    description: None,
                    subdomain: None,
                    deployment: None,
                    expected_version: Some(1),
                };
                event_store::execute_project(&cqrs, id, rename, &metadata).await.unwrap();
            }
        })
        .await;
    let append = started.elapsed();

    // 2. Relay drains the outbox.
    let shutdown = Shutdown::new();
    let relay = Relay::new(db.pool.clone(), nats.js.clone(), nats.names.clone(), RelayConfig::default());
    let started = Instant::now();
    tokio::spawn({
        let stop = shutdown.clone();
        async move { relay.run(stop).await }
    });
    eventually(Duration::from_secs(600), "the outbox is drained", || async {
        (count("select count(*) from event_outbox where published_at is null").await == 0).then_some(())
    })
    .await;
    let relay_time = started.elapsed();

    // 3. Consumers catch up.
    let started = Instant::now();
    tokio::spawn(warp_read_models::run(
        db.pool.clone(),
        nats.client.clone(),
        nats.names.clone(),
        ConsumerOptions::default(),
        shutdown.clone(),
    ));
    let expected = events as i64;
    eventually(Duration::from_secs(600), "the projections catch up", || async {
        let audit = count("select count(*) from audit_log").await;
        let renamed = count("select count(*) from projects where name like 'renamed-%'").await;
        (audit == expected && renamed == projects as i64).then_some(())
    })
    .await;
    let consume = started.elapsed();

    // 4. Rebuild.
    let report = warp_store::projections::audit::rebuild(&db.pool).await?;
    shutdown.cancel();

    let rate = |n: f64, d: Duration| n / d.as_secs_f64();
    println!("warp-bench: {projects} projects, {events} events, {WRITERS} concurrent writers");
    println!("| stage | time (ms) | rate (events/s) |");
    println!("|---|---|---|");
    println!("| command appends | {} | {:.0} |", append.as_millis(), rate(events, append));
    println!("| relay publish (outbox → JetStream) | {} | {:.0} |", relay_time.as_millis(), rate(events, relay_time));
    println!("| projections catch-up (audit + projects) | {} | {:.0} |", consume.as_millis(), rate(events, consume));
    println!("| audit rebuild replay | {} | {:.0} |", report.duration_ms, report.events_per_second);
    println!("peak resident memory: {} KiB", peak_rss_kib().unwrap_or(0));
    Ok(())
}

/// `VmHWM` from `/proc/self/status` (Linux), in KiB.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

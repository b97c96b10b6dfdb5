//! Scenario 1, command throughput: `POST /api/projects` over HTTP at concurrency 1, 16 and
//! 64 for a fixed time each, versus raw single-row inserts of the same event rows into a copy
//! of the `events` table (same server, same fsync settings, one transaction per row) at the
//! same concurrency. Target: warp ≥ 50% of raw at 16 and 64.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;
use uuid::Uuid;

use crate::panel::Panel;
use crate::report::{Better, Report, Row};

pub const LEVELS: [usize; 3] = [1, 16, 64];

/// Runs the scenario; returns warp's peak resident memory under the load, MiB.
pub async fn run(panel: &Panel, seconds: u64, report: &mut Report) -> anyhow::Result<f64> {
    let window = Duration::from_secs(seconds);
    let raw_pool = PgPoolOptions::new().max_connections(64).connect(&panel.db.url).await?;
    let sampler = panel.sample_rss();
    for concurrency in LEVELS {
        // As many requests as clients first, so connection set-up is not in the window.
        let warm = (0..concurrency).map(|n| create(panel, format!("warm-up-{concurrency}-{n}")));
        for result in futures::future::join_all(warm).await {
            result?;
        }
        let warp = http_rate(panel, concurrency, window).await?;
        let template = template(&panel.db.pool).await?;
        let raw = insert_rate(&raw_pool, &template, concurrency, window).await?;
        let target = if concurrency >= 16 { "≥ 50% of raw" } else { "—" };
        let met = (concurrency >= 16).then_some(warp >= 0.5 * raw);
        report.push(Row {
            scenario: "1 throughput".into(),
            figure: format!("POST /api/projects, concurrency {concurrency}"),
            unit: "req/s".into(),
            warp,
            raw: Some(raw),
            raw_what: "single-row inserts/s".into(),
            better: Better::Higher,
            target: target.into(),
            met,
        });
    }
    raw_pool.close().await;
    Ok(sampler.stop())
}

async fn create(panel: &Panel, name: String) -> anyhow::Result<()> {
    let response = panel.call(reqwest::Method::POST, "/api/projects").json(&json!({ "name": name })).send().await?;
    anyhow::ensure!(response.status() == reqwest::StatusCode::CREATED, "POST /api/projects answered {}", response.status());
    Ok(())
}

/// Created projects per second with `concurrency` clients for `window`.
async fn http_rate(panel: &Panel, concurrency: usize, window: Duration) -> anyhow::Result<f64> {
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + window;
    let workers = (0..concurrency).map(|worker| {
        let (done, failed) = (done.clone(), failed.clone());
        let request = panel.call(reqwest::Method::POST, "/api/projects");
        async move {
            let mut n = 0u64;
            while Instant::now() < deadline {
                n += 1;
                let body = json!({ "name": format!("c{concurrency}-w{worker}-{n}") });
                let Some(request) = request.try_clone() else { break };
                match request.json(&body).send().await {
                    Ok(r) if r.status() == reqwest::StatusCode::CREATED => done.fetch_add(1, Ordering::Relaxed),
                    _ => failed.fetch_add(1, Ordering::Relaxed),
                };
            }
        }
    });
    futures::future::join_all(workers).await;
    let elapsed = started.elapsed();
    let failed = failed.load(Ordering::Relaxed);
    if failed > 0 {
        eprintln!("  note: {failed} POST /api/projects did not answer 201 at concurrency {concurrency}");
    }
    Ok(done.load(Ordering::Relaxed) as f64 / elapsed.as_secs_f64())
}

/// The row the panel wrote for one `ProjectCreated`: (event_version, payload, metadata).
type Template = (String, serde_json::Value, serde_json::Value);

async fn template(pool: &PgPool) -> anyhow::Result<Template> {
    let row: Template = sqlx::query_as(
        "select event_version, payload::jsonb, metadata::jsonb from events
          where aggregate_type = 'project' and event_type = 'ProjectCreated' order by global_position desc limit 1",
    )
    .fetch_one(pool)
    .await?;
    Ok(row)
}

/// Inserts per second into `bench_raw_events` (a copy of `events` without triggers), one row
/// per transaction, from `concurrency` connections for `window`.
async fn insert_rate(pool: &PgPool, template: &Template, concurrency: usize, window: Duration) -> anyhow::Result<f64> {
    sqlx::query("create table if not exists bench_raw_events (like events including all)").execute(pool).await?;
    // Connections are opened before the clock starts, as the panel's pool already is.
    let mut connections = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        connections.push(pool.acquire().await?);
    }
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + window;
    let workers = connections.into_iter().map(|mut connection| {
        let (done, template) = (done.clone(), template.clone());
        async move {
            while Instant::now() < deadline {
                sqlx::query(
                    "insert into bench_raw_events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
                     values ('project', $1, 1, 'ProjectCreated', $2, $3::jsonb::json, $4::jsonb::json)",
                )
                .bind(Uuid::now_v7().to_string())
                .bind(&template.0)
                .bind(&template.1)
                .bind(&template.2)
                .execute(&mut *connection)
                .await?;
                done.fetch_add(1, Ordering::Relaxed);
            }
            anyhow::Ok(())
        }
    });
    for result in futures::future::join_all(workers).await {
        result?;
    }
    Ok(done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64())
}

//! Scenario 2, latency, one command at a time:
//! - HTTP 201 of `POST /api/projects` → its `ProjectCreated` seen on the stream's subject
//!   (the relay published it and JetStream stored it; the relay's ack arrives at the same
//!   time), versus a raw JetStream publish → ack round trip;
//! - HTTP 201 → the project answered by `GET /api/projects/{id}` (the `projects` read model
//!   `GET /api/projects` lists) and → its row in `GET /api/audit?project=…`, versus a raw
//!   Postgres insert → the row visible to a `select` on another connection.
//!
//! Targets: p99 under 10 ms (to JetStream) and under 50 ms (visible).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::panel::Panel;
use crate::report::{Better, Report, Row};
use crate::stats::Percentiles;

/// Longest one sample may wait for a read model.
const PATIENCE: Duration = Duration::from_secs(10);

pub async fn run(panel: &Panel, samples: usize, report: &mut Report) -> anyhow::Result<()> {
    let seen: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let mut subscriber = panel.nats.client.subscribe(format!("{}.project.>", panel.names().subject_prefix)).await?;
    let listener = tokio::spawn({
        let seen = seen.clone();
        async move {
            while let Some(message) = subscriber.next().await {
                let parts: Vec<&str> = message.subject.as_str().split('.').collect();
                if parts.len() >= 2 && parts[parts.len() - 1] == "ProjectCreated" {
                    seen.lock().unwrap().entry(parts[parts.len() - 2].to_owned()).or_insert_with(Instant::now);
                }
            }
        }
    });
    panel.nats.client.flush().await?;

    let (mut to_stream, mut to_read, mut to_audit) = (Vec::new(), Vec::new(), Vec::new());
    for n in 0..samples {
        let response = panel.call(reqwest::Method::POST, "/api/projects").json(&json!({ "name": format!("latency-{n}") })).send().await?;
        let created = Instant::now();
        anyhow::ensure!(response.status() == reqwest::StatusCode::CREATED, "POST /api/projects answered {}", response.status());
        let view: Value = response.json().await?;
        let id = view["id"].as_str().unwrap_or_default().to_owned();
        let read = poll(|| async {
            let r = panel.call(reqwest::Method::GET, &format!("/api/projects/{id}")).send().await.ok()?;
            (r.status() == reqwest::StatusCode::OK).then_some(())
        })
        .await?;
        to_read.push(read - created);
        let audit = poll(|| async {
            let r = panel.call(reqwest::Method::GET, "/api/audit").query(&[("project", &id)]).send().await.ok()?;
            let page: Value = r.json().await.ok()?;
            page["items"].as_array().is_some_and(|items| !items.is_empty()).then_some(())
        })
        .await?;
        to_audit.push(audit - created);
        let on_stream = seen.lock().unwrap().get(&id).copied();
        let on_stream = match on_stream {
            Some(at) => at,
            None => poll(|| async { seen.lock().unwrap().get(&id).copied().map(|_| ()) }).await?,
        };
        to_stream.push(on_stream.saturating_duration_since(created));
    }
    listener.abort();

    let raw_ack = raw_jetstream_acks(panel, samples).await?;
    let raw_visible = raw_visibility(panel, samples).await?;
    let figures = [
        ("HTTP 201 → event on JetStream", Percentiles::of(&to_stream), raw_ack, "JetStream publish→ack", 10.0),
        ("HTTP 201 → visible in GET /api/projects/{id}", Percentiles::of(&to_read), raw_visible, "Postgres insert→select", 50.0),
        ("HTTP 201 → visible in GET /api/audit", Percentiles::of(&to_audit), raw_visible, "Postgres insert→select", 50.0),
    ];
    for (figure, warp, raw, raw_what, p99_target) in figures {
        for (label, value, raw_value) in [("p50", warp.p50, raw.p50), ("p99", warp.p99, raw.p99), ("max", warp.max, raw.max)] {
            let is_p99 = label == "p99";
            report.push(Row {
                scenario: "2 latency".into(),
                figure: format!("{figure}, {label}"),
                unit: "ms".into(),
                warp: value,
                raw: Some(raw_value),
                raw_what: raw_what.into(),
                better: Better::Lower,
                target: if is_p99 { format!("p99 < {p99_target} ms") } else { "—".into() },
                met: is_p99.then_some(value < p99_target),
            });
        }
    }
    Ok(())
}

/// Calls `probe` until it answers `Some`, at most [`PATIENCE`]; the instant it did.
async fn poll<F, Fut>(mut probe: F) -> anyhow::Result<Instant>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<()>>,
{
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        if probe().await.is_some() {
            return Ok(Instant::now());
        }
        tokio::task::yield_now().await;
    }
    anyhow::bail!("a read model did not show a new project within {PATIENCE:?}")
}

/// Publish → ack round trips of one small message each on a scratch stream.
async fn raw_jetstream_acks(panel: &Panel, samples: usize) -> anyhow::Result<Percentiles> {
    let id = Uuid::new_v4().simple().to_string();
    let (stream, subject) = (format!("BENCH_{id}"), format!("bench{id}.raw"));
    let js = &panel.nats.js;
    js.create_stream(async_nats::jetstream::stream::Config {
        name: stream.clone(),
        subjects: vec![format!("bench{id}.>")],
        storage: async_nats::jetstream::stream::StorageType::File,
        ..Default::default()
    })
    .await?;
    let payload = serde_json::to_vec(&json!({"name": "latency-raw", "description": null, "subdomain": null}))?;
    let mut times = Vec::with_capacity(samples);
    for _ in 0..samples {
        let started = Instant::now();
        js.publish(subject.clone(), payload.clone().into()).await?.await?;
        times.push(started.elapsed());
    }
    js.delete_stream(&stream).await?;
    Ok(Percentiles::of(&times))
}

/// Insert (own transaction) → the row found by a `select` on a second connection.
async fn raw_visibility(panel: &Panel, samples: usize) -> anyhow::Result<Percentiles> {
    let pool = &panel.db.pool;
    sqlx::query("create table if not exists bench_raw_visible (id uuid primary key, name text not null)").execute(pool).await?;
    let mut writer = pool.acquire().await?;
    let mut reader = pool.acquire().await?;
    let mut times = Vec::with_capacity(samples);
    for n in 0..samples {
        let id = Uuid::now_v7();
        let started = Instant::now();
        sqlx::query("insert into bench_raw_visible (id, name) values ($1, $2)").bind(id).bind(format!("raw-{n}")).execute(&mut *writer).await?;
        loop {
            let found: Option<String> = sqlx::query_scalar("select name from bench_raw_visible where id = $1").bind(id).fetch_optional(&mut *reader).await?;
            if found.is_some() {
                break;
            }
        }
        times.push(started.elapsed());
    }
    Ok(Percentiles::of(&times))
}

//! Scenario 6, log streaming: a busybox container writes `line <n>` at the wanted rate for
//! the wanted time, then `done`. The lines are streamed over `GET /api/containers/logs` (SSE)
//! and, in the same run from the same container, by `docker logs -f --timestamps`. Lag is
//! receipt time minus Docker's timestamp of the line (same clock); lost is lines written
//! minus distinct lines received. Target: p99 under 100 ms, none lost.
//!
//! [`stuck_clients`] is scenario 7's third figure: ten SSE clients that never read.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde_json::Value;
use tokio::io::AsyncBufReadExt;
use warp_test_support::docker::TestContainer;

use crate::panel::Panel;
use crate::report::{Better, Report, Row};
use crate::stats::Percentiles;

/// Seconds the container waits before its first line, so both readers are attached.
const HEAD_START: u64 = 3;

/// What one reader saw: lags and distinct line numbers.
#[derive(Default)]
struct Seen {
    lags: Vec<Duration>,
    lines: HashSet<u64>,
}

impl Seen {
    fn record(&mut self, timestamp: DateTime<Utc>, line: &str) -> bool {
        if line == "done" {
            return true;
        }
        if let Some(n) = line.strip_prefix("line ").and_then(|n| n.parse().ok()) {
            self.lines.insert(n);
            self.lags.push((Utc::now() - timestamp).to_std().unwrap_or_default());
        }
        false
    }
}

/// Padding of each line of the stuck clients' container (scenario 7): about 1 KiB per line,
/// so the sockets of clients that never read fill within a few seconds and the panel's own
/// per-stream budget is what holds the rest (with `line <n>` alone, the kernel's socket
/// buffers absorbed the first 20 s and the stuck phase ended while memory was still rising
/// to its bound).
const STUCK_PADDING: usize = 1000;

/// The container's script: `rate` lines/s as 100 bursts a second, `seconds` long; each line
/// is `line <n>`, followed by ` ` and `padding` `x`s when `padding` > 0.
fn script(rate: u64, seconds: u64, padding: usize) -> (String, u64) {
    let burst = (rate / 100).max(1);
    let bursts = seconds * 100;
    let pad = if padding == 0 { String::new() } else { format!(" {}", "x".repeat(padding)) };
    let script = format!(
        "sleep {HEAD_START}; i=0; b=0; while [ $b -lt {bursts} ]; do j=0; while [ $j -lt {burst} ]; do i=$((i+1)); echo \"line $i{pad}\"; j=$((j+1)); done; b=$((b+1)); usleep 10000; done; echo done; exec sleep 3600"
    );
    (script, burst * bursts)
}

pub async fn run(panel: &Panel, rate: u64, seconds: u64, report: &mut Report) -> anyhow::Result<()> {
    let (script, written) = script(rate, seconds, 0);
    let container = TestContainer::run("warpbenchlogs", &[], &script);
    let patience = Duration::from_secs(seconds * 3 + 30);
    let started = Instant::now();
    let (warp, raw) = tokio::join!(sse(panel, &container.name, patience), docker_logs(&container.id, patience));
    let elapsed = started.elapsed().as_secs_f64() - HEAD_START as f64;
    let (warp, raw) = (warp?, raw?);
    println!("  (container wrote {written} lines in about {elapsed:.0} s)");
    let (warp_lag, raw_lag) = (Percentiles::of(&warp.lags), Percentiles::of(&raw.lags));
    let lost = |seen: &Seen| written.saturating_sub(seen.lines.len() as u64) as f64;
    for (label, w, r) in [("p50", warp_lag.p50, raw_lag.p50), ("p99", warp_lag.p99, raw_lag.p99), ("max", warp_lag.max, raw_lag.max)] {
        let is_p99 = label == "p99";
        report.push(Row {
            scenario: "6 logs".into(),
            figure: format!("SSE lag, {label} ({written} lines)"),
            unit: "ms".into(),
            warp: w,
            raw: Some(r),
            raw_what: "docker logs -f".into(),
            better: Better::Lower,
            target: if is_p99 { "p99 < 100 ms".into() } else { "—".into() },
            met: is_p99.then_some(w < 100.0),
        });
    }
    report.push(Row {
        scenario: "6 logs".into(),
        figure: format!("lines lost of {written}"),
        unit: "lines".into(),
        warp: lost(&warp),
        raw: Some(lost(&raw)),
        raw_what: "docker logs -f".into(),
        better: Better::Lower,
        target: "none lost".into(),
        met: Some(lost(&warp) == 0.0),
    });
    Ok(())
}

/// Scenario 7's stuck clients: ten SSE streams (ten logins) on a chatty container (lines of
/// about 1 KiB, [`STUCK_PADDING`]) whose bodies are never read, for `seconds`; (RSS halfway,
/// peak, at the end), MiB.
pub async fn stuck_clients(panel: &Panel, rate: u64, seconds: u64) -> anyhow::Result<(f64, f64, f64)> {
    let (script, _) = script(rate, seconds, STUCK_PADDING);
    let container = TestContainer::run("warpbenchstuck", &[], &script);
    let sampler = panel.sample_rss();
    let mut held = Vec::new();
    // Ten viewers, each with a login of its own: one login may hold only 8 log streams
    // (`StreamConfig::sessions_per_user`).
    for viewer in 0..10 {
        let (_, token) = warp_store::tokens::create(&panel.db.pool, &format!("bench-viewer-{viewer}"), "bench", warp_store::tokens::Role::Admin).await?;
        let response = panel
            .client
            .get(panel.url("/api/containers/logs"))
            .bearer_auth(token)
            .query(&[("filter", container.name.as_str()), ("tail", "0")])
            .send()
            .await?;
        anyhow::ensure!(response.status().is_success(), "GET /api/containers/logs answered {}", response.status());
        held.push(response);
    }
    tokio::time::sleep(Duration::from_secs(HEAD_START + seconds / 2)).await;
    let halfway = panel.rss_mib();
    tokio::time::sleep(Duration::from_secs(seconds - seconds / 2 + 1)).await;
    let end = panel.rss_mib();
    let peak = sampler.stop();
    drop(held);
    drop(container);
    Ok((halfway, peak, end))
}

/// Reads the container's lines from the panel's SSE endpoint until `done`.
async fn sse(panel: &Panel, name: &str, patience: Duration) -> anyhow::Result<Seen> {
    let response = panel.call(reqwest::Method::GET, "/api/containers/logs").query(&[("filter", name), ("tail", "0")]).send().await?;
    anyhow::ensure!(response.status().is_success(), "GET /api/containers/logs answered {}", response.status());
    let mut body = response.bytes_stream();
    let (mut buffer, mut seen) = (String::new(), Seen::default());
    let deadline = tokio::time::Instant::now() + patience;
    while let Ok(Some(chunk)) = tokio::time::timeout_at(deadline, body.next()).await {
        buffer.push_str(&String::from_utf8_lossy(&chunk?));
        while let Some(end) = buffer.find("\n\n") {
            let event: String = buffer.drain(..end + 2).collect();
            let is_line = event.lines().any(|l| l == "event: line" || l == "event:line");
            let data = event.lines().filter_map(|l| l.strip_prefix("data:")).map(str::trim_start).collect::<Vec<_>>().join("\n");
            if !is_line {
                continue;
            }
            let Ok(line) = serde_json::from_str::<Value>(&data) else { continue };
            let timestamp = line["timestamp"].as_str().and_then(|t| t.parse::<DateTime<Utc>>().ok()).unwrap_or_else(Utc::now);
            if seen.record(timestamp, line["line"].as_str().unwrap_or_default()) {
                return Ok(seen);
            }
        }
    }
    Ok(seen)
}

/// Reads the container's lines from `docker logs -f --timestamps` until `done`.
async fn docker_logs(id: &str, patience: Duration) -> anyhow::Result<Seen> {
    let mut child = tokio::process::Command::new("docker")
        .args(["logs", "-f", "--timestamps", id])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let stdout = child.stdout.take().ok_or_else(|| anyhow::anyhow!("docker logs has no stdout"))?;
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let mut seen = Seen::default();
    let deadline = tokio::time::Instant::now() + patience;
    while let Ok(Ok(Some(text))) = tokio::time::timeout_at(deadline, lines.next_line()).await {
        let Some((timestamp, line)) = text.split_once(' ') else { continue };
        let timestamp = timestamp.parse::<DateTime<Utc>>().unwrap_or_else(|_| Utc::now());
        if seen.record(timestamp, line) {
            break;
        }
    }
    let _ = child.kill().await;
    Ok(seen)
}

//! `make bench`: seven scenarios of the panel, each beside its raw baseline measured in the
//! same run on this machine's real Postgres, NATS and Docker Engine (from `.stack/env`), in
//! throwaway databases, streams and compose projects. It prints a table (with the core
//! count) and writes `bench/results.json`; it never fails for speed, only when a scenario
//! cannot run at all. How to read it, and the knobs: `docs/BENCH.md`.
//!
//! # Layout
//! - `panel`: `warp all` (the release binary) as a child process with a database and stream
//!   of its own, an admin token and its resident memory.
//! - `s1_throughput` … `s6_logs`: one file per scenario; scenario 7 (memory) samples the
//!   child during 1 and 6 (`s6_logs::stuck_clients`).
//! - `history`: a large event history written fast, for 3 and 4 (in-process consumers).
//! - `report`, `stats`: rows, the table, `results.json`; percentiles.

mod config;
mod history;
mod panel;
mod report;
mod s1_throughput;
mod s2_latency;
mod s3_catch_up;
mod s4_replay;
mod s5_deploy;
mod s6_logs;
mod stats;

use std::path::PathBuf;
use std::time::Instant;

use config::Knobs;
use panel::Panel;
use report::{Better, Report, Row};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // reqwest is built without a default TLS provider in this workspace; the bench only
    // speaks plain HTTP on loopback, but building a client needs one.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let knobs = Knobs::from_env();
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let mut report = Report { cores, started_at: chrono::Utc::now().to_rfc3339(), settings: knobs.to_json(), ..Report::default() };
    let started = Instant::now();
    println!("warp-bench: {cores} cores, scenarios {:?}", knobs.scenarios);

    if knobs.scenarios.iter().any(|s| [1, 2, 5, 6, 7].contains(s)) {
        match Panel::start(&knobs.warp_bin).await {
            Ok(panel) => {
                println!("warp all running (pid {}, log {})", panel.pid(), panel.log_file.display());
                with_panel(&panel, &knobs, &mut report).await;
                panel.stop().await;
            }
            Err(error) => report.skipped.push(("1, 2, 5, 6, 7".into(), format!("{error:#}"))),
        }
    }
    if knobs.runs(3) || knobs.runs(4) {
        let db = warp_test_support::TestDb::new().await;
        if knobs.runs(3) {
            println!("scenario 3: read-model catch-up over {} events", knobs.catch_up_events);
            let result = s3_catch_up::run(&db, knobs.catch_up_events, std::time::Duration::from_secs(knobs.catch_up_budget), &mut report).await;
            skip_on_error(&mut report, "3 catch-up", result);
        }
        if knobs.runs(4) {
            println!("scenario 4: audit rebuild over {} events", knobs.replay_events);
            let result = s4_replay::run(&db, knobs.replay_events, &mut report).await;
            skip_on_error(&mut report, "4 replay", result);
        }
    }

    println!("\n{}", report.table());
    println!("whole run: {:.0} s", started.elapsed().as_secs_f64());
    let path = PathBuf::from("bench/results.json");
    std::fs::create_dir_all("bench")?;
    std::fs::write(&path, serde_json::to_string_pretty(&report)?)?;
    println!("wrote {}", path.display());
    Ok(())
}

/// Scenarios 7 (idle), 2, 1, 5, 6 and 7 (stuck clients) against one `warp all`.
async fn with_panel(panel: &Panel, knobs: &Knobs, report: &mut Report) {
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let idle = panel.rss_mib();
    if knobs.runs(7) {
        report.push(memory("idle", idle, None, "< 100 MB", Some(idle < 100.0)));
    }
    if knobs.runs(2) {
        println!("scenario 2: latency, {} commands one at a time", knobs.latency_samples);
        let result = s2_latency::run(panel, knobs.latency_samples, report).await;
        skip_on_error(report, "2 latency", result);
    }
    if knobs.runs(1) || knobs.runs(7) {
        println!("scenario 1: throughput, {} s per level and side", knobs.load_seconds);
        let mut rows = Report::default();
        match s1_throughput::run(panel, knobs.load_seconds, &mut rows).await {
            Ok(peak) => {
                if knobs.runs(1) {
                    report.rows.append(&mut rows.rows);
                }
                if knobs.runs(7) {
                    report.push(memory("peak under scenario 1", peak, Some((idle, "idle")), "bounded", None));
                }
            }
            Err(error) => report.skipped.push(("1 throughput".into(), format!("{error:#}"))),
        }
    }
    if knobs.runs(5) {
        println!("scenario 5: deploy overhead, {} runs", knobs.deploy_runs);
        let result = s5_deploy::run(panel, knobs.deploy_runs, report).await;
        skip_on_error(report, "5 deploy", result);
    }
    if knobs.runs(6) {
        println!("scenario 6: log streaming, {} lines/s for {} s", knobs.log_rate, knobs.log_seconds);
        let result = s6_logs::run(panel, knobs.log_rate, knobs.log_seconds, report).await;
        skip_on_error(report, "6 logs", result);
    }
    if knobs.runs(7) {
        let seconds = knobs.log_seconds.clamp(4, 20);
        println!("scenario 7: 10 SSE clients that never read, {seconds} s");
        match s6_logs::stuck_clients(panel, knobs.log_rate, seconds).await {
            Ok((halfway, peak, end)) => {
                // Bounded: it stopped growing in the second half (10% or 5 MiB of slack).
                let bounded = end <= halfway * 1.1 + 5.0;
                report.push(memory("peak with 10 stuck SSE clients", peak, Some((idle, "idle")), "bounded", Some(bounded)));
                report.push(memory("at the end / halfway with stuck clients", end, Some((halfway, "halfway")), "end ≤ halfway + 10%", Some(bounded)));
            }
            Err(error) => report.skipped.push(("7 memory, stuck clients".into(), format!("{error:#}"))),
        }
    }
}

fn memory(figure: &str, mib: f64, baseline: Option<(f64, &str)>, target: &str, met: Option<bool>) -> Row {
    Row {
        scenario: "7 memory".into(),
        figure: format!("RSS of warp all, {figure}"),
        unit: "MiB".into(),
        warp: mib,
        raw: baseline.map(|(value, _)| value),
        raw_what: baseline.map_or(String::new(), |(_, what)| what.to_owned()),
        better: Better::Lower,
        target: target.into(),
        met,
    }
}

fn skip_on_error(report: &mut Report, scenario: &str, result: anyhow::Result<()>) {
    if let Err(error) = result {
        eprintln!("  {scenario} could not run: {error:#}");
        report.skipped.push((scenario.into(), format!("{error:#}")));
    }
}

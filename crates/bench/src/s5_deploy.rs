//! Scenario 5, deploy overhead: `POST /api/projects/deploy-existing` of a folder holding the
//! two-service busybox fixture, from the request to the job's `succeeded`, versus a raw
//! `docker-compose -p <name> -f compose.yaml up --build -d` (or `docker compose …`, whichever
//! the host has, as the docker service picks) of the same fixture. One raw run warms the build
//! cache first; then warp and raw alternate. Target: p50 of (warp − raw) under 300 ms.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use warp_test_support::compose_fixtures::{self, ComposeCleanup};

use crate::panel::Panel;
use crate::report::{Better, Report, Row};
use crate::stats::median;

/// Longest one deploy may take.
const PATIENCE: Duration = Duration::from_secs(300);
/// What the fixture's `web` serves.
const PAGE: &str = "warp bench\n";

pub async fn run(panel: &Panel, runs: usize, report: &mut Report) -> anyhow::Result<()> {
    let compose = compose_command()?;
    let mut cleanups = Vec::new();
    let result = measure(panel, runs, &compose, &mut cleanups).await;
    for cleanup in &cleanups {
        cleanup.clean();
    }
    let (warp, raw) = result?;
    let overheads: Vec<f64> = warp.iter().zip(&raw).map(|(w, r)| w - r).collect();
    let (warp_p50, raw_p50, overhead) = (median(&warp), median(&raw), median(&overheads));
    report.push(Row {
        scenario: "5 deploy".into(),
        figure: format!("deploy-existing → job succeeded, p50 of {runs}"),
        unit: "ms".into(),
        warp: warp_p50,
        raw: Some(raw_p50),
        raw_what: format!("{} up --build -d", compose.join(" ")),
        better: Better::Lower,
        target: "—".into(),
        met: None,
    });
    report.push(Row {
        scenario: "5 deploy".into(),
        figure: format!("overhead (warp − raw), p50 of {runs}"),
        unit: "ms".into(),
        warp: overhead,
        raw: None,
        raw_what: String::new(),
        better: Better::Lower,
        target: "< 300 ms".into(),
        met: Some(overhead < 300.0),
    });
    Ok(())
}

/// The deploy times and the raw compose times, ms, in run order.
async fn measure(panel: &Panel, runs: usize, compose: &[String], cleanups: &mut Vec<ComposeCleanup>) -> anyhow::Result<(Vec<f64>, Vec<f64>)> {
    let raw_root = tempdir("raw")?;
    let raw_once = |cleanups: &mut Vec<ComposeCleanup>| -> anyhow::Result<f64> {
        let name = compose_fixtures::project_name("benchraw");
        let dir = raw_root.join(&name);
        write_tree(&dir, &compose_fixtures::two_service_project(warp_test_support::free_port(), PAGE))?;
        cleanups.push(ComposeCleanup::new(name.clone()));
        let started = Instant::now();
        let mut command = std::process::Command::new(&compose[0]);
        command.args(&compose[1..]).args(["-p", &name, "-f", compose_fixtures::COMPOSE_FILE, "up", "--build", "-d"]);
        let output = command.current_dir(&dir).stdin(std::process::Stdio::null()).output()?;
        let elapsed = started.elapsed().as_secs_f64() * 1000.0;
        anyhow::ensure!(output.status.success(), "raw compose up failed: {}", String::from_utf8_lossy(&output.stderr));
        Ok(elapsed)
    };
    raw_once(cleanups)?;
    let (mut warp, mut raw) = (Vec::new(), Vec::new());
    for run in 0..runs {
        warp.push(deploy(panel, run, cleanups).await?);
        raw.push(raw_once(cleanups)?);
    }
    let _ = std::fs::remove_dir_all(&raw_root);
    Ok((warp, raw))
}

/// One deploy-existing, request to `succeeded`, ms.
async fn deploy(panel: &Panel, run: usize, cleanups: &mut Vec<ComposeCleanup>) -> anyhow::Result<f64> {
    let folder = format!("deploy{run}-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    write_tree(&panel.workspaces.join(&folder), &compose_fixtures::two_service_project(warp_test_support::free_port(), PAGE))?;
    let body = json!({ "name": folder, "source": { "folder": { "path": folder } } });
    let started = Instant::now();
    let response = panel.call(reqwest::Method::POST, "/api/projects/deploy-existing").json(&body).send().await?;
    anyhow::ensure!(response.status() == reqwest::StatusCode::ACCEPTED, "deploy-existing answered {}: {}", response.status(), response.text().await?);
    let accepted: Value = response.json().await?;
    let (project, job) = (accepted["project_id"].as_str().unwrap_or_default(), accepted["job_id"].as_str().unwrap_or_default());
    let deadline = started + PATIENCE;
    let status = loop {
        let view: Value = panel.call(reqwest::Method::GET, &format!("/api/jobs/{job}")).send().await?.json().await.unwrap_or_default();
        let status = view["status"].as_str().unwrap_or_default().to_owned();
        if matches!(status.as_str(), "succeeded" | "failed" | "cancelled" | "timed_out") || Instant::now() > deadline {
            break status;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let elapsed = started.elapsed().as_secs_f64() * 1000.0;
    let view: Value = panel.call(reqwest::Method::GET, &format!("/api/projects/{project}")).send().await?.json().await.unwrap_or_default();
    if let Some(name) = view["compose_project"].as_str() {
        cleanups.push(ComposeCleanup::new(name));
    }
    anyhow::ensure!(status == "succeeded", "deploy job {job} ended {status:?} (see GET /api/jobs/{job}/logs)");
    Ok(elapsed)
}

/// `docker compose` when the v2 plugin answers, else `docker-compose`.
fn compose_command() -> anyhow::Result<Vec<String>> {
    let answers = |program: &str, args: &[&str]| {
        std::process::Command::new(program).args(args).stdin(std::process::Stdio::null()).output().is_ok_and(|o| o.status.success())
    };
    if answers("docker", &["compose", "version", "--short"]) {
        return Ok(vec!["docker".into(), "compose".into()]);
    }
    anyhow::ensure!(answers("docker-compose", &["version", "--short"]), "neither `docker compose` nor `docker-compose` is installed");
    Ok(vec!["docker-compose".into()])
}

fn tempdir(what: &str) -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("warp-bench-{what}-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn write_tree(dir: &Path, files: &[(&str, String)]) -> anyhow::Result<()> {
    for (path, contents) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap_or(dir))?;
        std::fs::write(path, contents)?;
    }
    Ok(())
}

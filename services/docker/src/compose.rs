//! Which compose front end this host has: `docker compose` (v2 plugin) or `docker-compose` (v1).
//!
//! Detected once at start-up by running `docker compose version --short`, then
//! `docker-compose version --short`, with argument lists (never a shell) and a 10 s timeout.

use std::time::Duration;

use tokio::process::Command;
use warp_events::docker::{ComposeCommand, ComposeFrontEnd};

const DETECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The first compose front end that answers, preferring v2; `None` when neither exists.
pub async fn detect() -> Option<ComposeFrontEnd> {
    if let Some(version) = version_of("docker", &["compose", "version", "--short"]).await {
        return Some(ComposeFrontEnd { front_end: ComposeCommand::Plugin, version });
    }
    let version = version_of("docker-compose", &["version", "--short"]).await?;
    Some(ComposeFrontEnd { front_end: ComposeCommand::Standalone, version })
}

/// The trimmed first line `program args` prints when it succeeds.
async fn version_of(program: &str, args: &[&str]) -> Option<String> {
    let run = Command::new(program).args(args).kill_on_drop(true).output();
    let output = tokio::time::timeout(DETECT_TIMEOUT, run).await.ok()?.ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text.lines().next()?.trim().trim_start_matches('v').to_owned();
    (!line.is_empty()).then_some(line)
}

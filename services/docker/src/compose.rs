//! Which compose front end this host has: `docker compose` (v2 plugin) or `docker-compose` (v1).
//!
//! Detected by running `docker compose version --short`, then `docker-compose version
//! --short`, with argument lists (never a shell) and a [`DETECT_TIMEOUT`] each. [`Compose`]
//! keeps the answer once one is found, and asks again on the next use while none is: on a busy
//! host the Python `docker-compose` v1 can take seconds just to print its version, and one slow
//! start-up must not leave the host without compose until the service restarts.

use std::time::Duration;

use tokio::process::Command;
use tokio::sync::Mutex;
use warp_events::docker::{ComposeCommand, ComposeFrontEnd};

/// Longest wait for one `version` command.
pub const DETECT_TIMEOUT: Duration = Duration::from_secs(30);

/// This host's compose front end, detected on first use and again while none is found.
#[derive(Debug)]
pub struct Compose {
    found: Mutex<Option<ComposeFrontEnd>>,
    /// The programs asked: `docker` (for the v2 plugin) and `docker-compose`.
    programs: [String; 2],
}

impl Default for Compose {
    fn default() -> Self {
        Self::with_programs("docker", "docker-compose")
    }
}

impl Compose {
    /// Asks `docker` (as `docker compose`) and `docker_compose` instead of the programs on
    /// `PATH`.
    pub fn with_programs(docker: &str, docker_compose: &str) -> Self {
        Self { found: Mutex::new(None), programs: [docker.to_owned(), docker_compose.to_owned()] }
    }

    /// Detects now (at start-up, to log what the host has); later calls reuse a success.
    pub async fn detect_now() -> Self {
        let compose = Self::default();
        match compose.front_end().await {
            Some(c) => tracing::info!(compose.front_end = ?c.front_end, compose.version = %c.version, "compose front end found"),
            None => tracing::warn!("neither `docker compose` nor `docker-compose` answered; asked again on the next use"),
        }
        compose
    }

    /// The front end, detecting it if none was found yet (callers at the same moment share one
    /// detection); `None` when neither answers.
    pub async fn front_end(&self) -> Option<ComposeFrontEnd> {
        let mut found = self.found.lock().await;
        if found.is_none() {
            *found = detect(&self.programs[0], &self.programs[1]).await;
        }
        found.clone()
    }
}

/// The first compose front end that answers, preferring v2; `None` when neither does.
async fn detect(docker: &str, docker_compose: &str) -> Option<ComposeFrontEnd> {
    if let Some(version) = version_of(docker, &["compose", "version", "--short"]).await {
        return Some(ComposeFrontEnd { front_end: ComposeCommand::Plugin, version });
    }
    let version = version_of(docker_compose, &["version", "--short"]).await?;
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

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[tokio::test]
    async fn a_front_end_that_did_not_answer_is_asked_again_and_a_found_one_is_kept() {
        let dir = std::env::temp_dir().join(format!("warp-compose-detect-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        // A docker-compose that fails until `ready` exists, then prints its version.
        let script = dir.join("docker-compose");
        let ready = dir.join("ready");
        std::fs::write(&script, format!("#!/bin/sh\n[ -e '{}' ] || exit 1\necho 1.29.2\n", ready.display())).unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let compose = Compose::with_programs("/nonexistent/docker", script.to_str().unwrap());

        assert_eq!(compose.front_end().await, None);
        std::fs::write(&ready, "").unwrap();
        let found = compose.front_end().await.expect("found on the next use");
        assert_eq!((found.front_end, found.version.as_str()), (ComposeCommand::Standalone, "1.29.2"));
        std::fs::remove_file(&ready).unwrap();
        assert_eq!(compose.front_end().await, Some(found), "a found front end is kept");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

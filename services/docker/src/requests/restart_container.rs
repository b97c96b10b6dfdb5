//! `restart_container`: restart a container (cloudflared after its local config changed) and
//! report whether it stays up: running, and not restarted again, for the whole settle time.

use std::time::Duration;

use bollard::query_parameters::{InspectContainerOptions, RestartContainerOptionsBuilder};
use warp_events::docker::{ContainerRestarted, DockerFailure, RestartContainer};

use crate::Context;

/// Longest settle time a request may ask for.
const MAX_SETTLE: Duration = Duration::from_secs(60);

/// Restarts `request.container` (stop timeout 10 s) and watches it.
pub async fn handle(ctx: &Context, request: RestartContainer) -> Result<ContainerRestarted, DockerFailure> {
    warp_domain::validate::ContainerName::parse("container", &request.container)
        .map_err(|e| super::bad_request(e.to_string()))?;
    let docker = ctx.client.engine().await?;
    let options = RestartContainerOptionsBuilder::new().t(10).build();
    match tokio::time::timeout(Duration::from_secs(40), docker.restart_container(&request.container, Some(options))).await {
        Err(_) => return Err(super::bad_request(format!("restarting {} took longer than 40 s", request.container))),
        Ok(Err(error)) => return Err(ctx.client.failure(error).await),
        Ok(Ok(())) => {}
    }
    tracing::info!(container = %request.container, "container restarted");
    let settle = Duration::from_millis(request.settle_ms).min(MAX_SETTLE);
    let deadline = tokio::time::Instant::now() + settle;
    let mut first: Option<(String, i64)> = None;
    loop {
        let inspected = docker
            .inspect_container(&request.container, None::<InspectContainerOptions>)
            .await
            .map_err(|e| super::bad_request(format!("inspecting {}: {e}", request.container)))?;
        let state = inspected.state.unwrap_or_default();
        let status = state.status.map(|s| s.to_string()).unwrap_or_default();
        let started = (state.started_at.unwrap_or_default(), inspected.restart_count.unwrap_or_default());
        let same_run = first.get_or_insert_with(|| started.clone()) == &started;
        if status != "running" || !same_run {
            return Ok(ContainerRestarted { running: false, state: status, exit_code: state.exit_code });
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(ContainerRestarted { running: true, state: status, exit_code: None });
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

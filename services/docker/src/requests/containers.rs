//! `containers`: the running containers with health, compose labels, ports and start time.

use warp_events::docker::{ContainerList, DockerFailure};

use crate::Context;

/// Lists running containers (`GET /containers/json` plus one inspect each).
pub async fn handle(ctx: &Context) -> Result<ContainerList, DockerFailure> {
    let containers = ctx.client.running_containers().await?;
    Ok(ContainerList { containers })
}

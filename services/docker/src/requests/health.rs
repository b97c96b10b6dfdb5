//! `health`: whether the engine answers, its versions, and the compose front end found at
//! start-up.

use warp_events::docker::{DockerFailure, DockerHealth};

use crate::Context;

/// Asks the engine for `GET /version`; `engine_unreachable` when it does not answer.
pub async fn handle(ctx: &Context) -> Result<DockerHealth, DockerFailure> {
    let (engine_version, api_version) = ctx.client.version().await?;
    Ok(DockerHealth { engine_version, api_version, compose: ctx.compose.front_end().await })
}

//! `ports`: who holds a host port (containers publishing it, host processes listening on it).

use warp_events::docker::{DockerFailure, PortQuery, PortStatus};

use crate::{ports, Context};

/// Lists the holders of `query.port`; port 0 is a `bad_request`.
pub async fn handle(ctx: &Context, query: PortQuery) -> Result<PortStatus, DockerFailure> {
    let holders = ports::holders(&ctx.client, query.port, query.protocol).await?;
    Ok(PortStatus { port: query.port, protocol: query.protocol, holders })
}

//! `connect_network`: attach a container (cloudflared) to a network (a routed service's), so
//! `http://<container>:<port>` resolves from it. Already attached is fine.

use bollard::models::NetworkConnectRequest;
use warp_events::docker::{ConnectNetwork, DockerFailure};

use crate::Context;

/// Connects `request.container` to `request.network`.
pub async fn handle(ctx: &Context, request: ConnectNetwork) -> Result<(), DockerFailure> {
    warp_domain::validate::ContainerName::parse("container", &request.container)
        .map_err(|e| super::bad_request(e.to_string()))?;
    if request.network.is_empty() || !request.network.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')) {
        return Err(super::bad_request("network: letters, digits, '_', '.' and '-' only".into()));
    }
    let docker = ctx.client.engine().await?;
    let connect = NetworkConnectRequest { container: request.container.clone(), endpoint_config: None };
    match docker.connect_network(&request.network, connect).await {
        Ok(()) => {
            tracing::info!(container = %request.container, network = %request.network, "container connected to a network");
            Ok(())
        }
        Err(bollard::errors::Error::DockerResponseServerError { message, .. }) if message.contains("already exists") => Ok(()),
        Err(error) => Err(ctx.client.failure(error).await),
    }
}

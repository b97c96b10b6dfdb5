//! Requests to the docker service (Docker is reached by it alone): cloudflared's container and
//! a routed service's container, over NATS request-reply `warp.docker.<host>.<action>`.

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use warp_events::docker::{ConnectNetwork, ContainerInfo, ContainerQuery, DockerReply};
use warp_events::subjects;

/// Asks the docker service of `host` for `action`; `Err` is a sentence naming what failed.
pub async fn request<Q: Serialize, R: DeserializeOwned>(
    nats: &async_nats::Client,
    host: &str,
    action: &str,
    body: &Q,
    wait: Duration,
) -> Result<R, String> {
    let subject = subjects::docker_request_subject(host, action);
    let payload = serde_json::to_vec(body).map_err(|e| e.to_string())?;
    let message = match tokio::time::timeout(wait, nats.request(subject, payload.into())).await {
        Err(_) => return Err(format!("the docker service of host {host} did not answer {action} within {} s", wait.as_secs())),
        Ok(Err(error)) => return Err(format!("asking the docker service of host {host} ({action}): {error}")),
        Ok(Ok(message)) => message,
    };
    match serde_json::from_slice::<DockerReply<R>>(&message.payload) {
        Ok(DockerReply::Ok(reply)) => Ok(reply),
        Ok(DockerReply::Error(failure)) => Err(failure.message),
        Err(error) => Err(format!("unreadable answer of the docker service to {action}: {error}")),
    }
}

/// What the docker service knows about `container`.
pub async fn info(nats: &async_nats::Client, host: &str, container: &str) -> Result<ContainerInfo, String> {
    let body = ContainerQuery { container: container.to_owned() };
    request(nats, host, subjects::DOCKER_CONTAINER_INFO, &body, Duration::from_secs(5)).await
}

/// Makes sure container `cloudflared` shares a network with container `service`, attaching it
/// to the service's first network when they share none. Returns a sentence for the job log.
pub async fn reach(nats: &async_nats::Client, host: &str, cloudflared: &str, service: &str) -> Result<String, String> {
    let target = info(nats, host, service).await.map_err(|e| format!("looking up container {service}: {e}"))?;
    let own = info(nats, host, cloudflared).await.map_err(|e| format!("looking up cloudflared's container {cloudflared}: {e}"))?;
    if let Some(shared) = own.networks.iter().find(|n| target.networks.contains(n)) {
        return Ok(format!("container {cloudflared} already shares network {shared} with {service}"));
    }
    let Some(network) = target.networks.iter().find(|n| !matches!(n.as_str(), "host" | "none")) else {
        return Err(format!("container {service} is on no Docker network cloudflared could join; publish its port and use http://localhost:<port>"));
    };
    let body = ConnectNetwork { container: cloudflared.to_owned(), network: network.clone() };
    let () = request(nats, host, subjects::DOCKER_CONNECT_NETWORK, &body, Duration::from_secs(10))
        .await
        .map_err(|e| format!("connecting {cloudflared} to network {network}: {e}"))?;
    Ok(format!("connected container {cloudflared} to network {network} so it reaches {service}"))
}

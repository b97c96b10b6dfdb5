//! `container_info`: a container's arguments (token values masked), mounts and networks, for
//! the cloudflare service's checks of cloudflared and of a routed service's container.

use bollard::query_parameters::InspectContainerOptions;
use warp_events::docker::{ContainerInfo, ContainerMount, ContainerQuery, DockerFailure};

use crate::Context;

/// Inspects `request.container`.
pub async fn handle(ctx: &Context, request: ContainerQuery) -> Result<ContainerInfo, DockerFailure> {
    warp_domain::validate::ContainerName::parse("container", &request.container)
        .map_err(|e| super::bad_request(e.to_string()))?;
    let docker = ctx.client.engine().await?;
    let inspected = match docker.inspect_container(&request.container, None::<InspectContainerOptions>).await {
        Ok(i) => i,
        Err(error) => return Err(ctx.client.failure(error).await),
    };
    let config = inspected.config.unwrap_or_default();
    let raw: Vec<String> = inspected.path.into_iter().chain(inspected.args.unwrap_or_default()).collect();
    let (args, token_arg) = mask_tokens(raw);
    let token_env = config.env.unwrap_or_default().iter().any(|e| e.split_once('=').is_some_and(|(k, v)| k == "TUNNEL_TOKEN" && !v.is_empty()));
    let mounts = inspected
        .mounts
        .unwrap_or_default()
        .into_iter()
        .filter_map(|m| Some(ContainerMount { source: m.source?, destination: m.destination? }))
        .collect();
    let networks = inspected
        .network_settings
        .and_then(|n| n.networks)
        .map(|n| n.into_keys().collect())
        .unwrap_or_default();
    let running = inspected.state.and_then(|s| s.running).unwrap_or(false);
    Ok(ContainerInfo { running, args, token_run: token_arg || token_env, mounts, networks })
}

/// `args` with the value of every `--token` (`--token X`, `--token=X`) masked, and whether
/// there was one.
fn mask_tokens(args: Vec<String>) -> (Vec<String>, bool) {
    let mut found = false;
    let mut out = Vec::with_capacity(args.len());
    let mut mask_next = false;
    for arg in args {
        if mask_next {
            out.push("[REDACTED]".to_owned());
            mask_next = false;
        } else if arg == "--token" || arg == "-token" {
            found = true;
            mask_next = true;
            out.push(arg);
        } else if arg.starts_with("--token=") || arg.starts_with("-token=") {
            found = true;
            out.push(format!("{}=[REDACTED]", arg.split('=').next().unwrap_or_default()));
        } else {
            out.push(arg);
        }
    }
    (out, found)
}

#[cfg(test)]
mod tests {
    #[test]
    fn token_values_in_arguments_are_masked() {
        let args = ["cloudflared", "tunnel", "run", "--token", "eyJsecret", "--token=eyJother"].map(String::from).to_vec();
        let (masked, found) = super::mask_tokens(args);
        assert!(found);
        assert_eq!(masked, ["cloudflared", "tunnel", "run", "--token", "[REDACTED]", "--token=[REDACTED]"]);
    }
}

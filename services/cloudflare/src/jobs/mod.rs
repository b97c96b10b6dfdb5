//! The cloudflare service's jobs, one file per type, each an executor with its own input:
//! [`publish_route`] (`PublishRouteInput`) and [`unpublish_route`] (`UnpublishRouteInput`),
//! which write the ingress through [`crate::writer`], and [`restart_tunnel`]
//! (`RestartTunnelInput`), which restarts cloudflared under the writer's lock.

pub mod publish_route;
pub mod restart_tunnel;
pub mod unpublish_route;

use std::sync::Arc;

use warp_jobs::Runner;

use crate::Services;

/// Registers the three executors with `runner`.
pub fn register(svc: Arc<Services>, runner: Runner) -> Runner {
    runner
        .register(publish_route::PublishRouteExecutor(svc.clone()))
        .register(unpublish_route::UnpublishRouteExecutor(svc.clone()))
        .register(restart_tunnel::RestartTunnelExecutor(svc))
}

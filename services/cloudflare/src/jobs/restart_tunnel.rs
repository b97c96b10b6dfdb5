//! `restart_tunnel`: restarts the configured cloudflared on request (`POST
//! /api/tunnel/restart`), so it reads its local `config.yml` again, and checks that it came
//! back ([`crate::restart`]).
//!
//! It runs under the writer's lock ([`IngressLock`]), so it never restarts cloudflared in the
//! middle of a publish that is writing the file. Refused (the job fails saying why) in remote
//! mode, where cloudflared takes its configuration from Cloudflare and a restart changes
//! nothing, and when `cloudflared_restart` is `none`, where the panel does not know how.

use std::sync::Arc;

use warp_events::job::RestartTunnelInput;
use warp_jobs::{Executor, JobContext, JobFailure};

use crate::tunnel::{Mode, Restart};
use crate::writer::IngressLock;
use crate::Services;

/// Runs `restart_tunnel` jobs.
pub struct RestartTunnelExecutor(pub Arc<Services>);

impl Executor for RestartTunnelExecutor {
    type Input = RestartTunnelInput;

    async fn run(&self, _input: RestartTunnelInput, job: &JobContext) -> Result<(), JobFailure> {
        let svc = &self.0;
        let (settings, _) = svc.tunnel().await.map_err(JobFailure::failed)?;
        let restart = match settings.mode {
            Mode::Remote => {
                return Err(JobFailure::failed(
                    "the tunnel runs in remote mode: cloudflared takes its configuration from Cloudflare, a restart changes nothing",
                ))
            }
            Mode::Local { restart: Restart::None, .. } => {
                return Err(JobFailure::failed(
                    "cloudflared_restart is none: the panel does not know how to restart cloudflared (set it to container or command)",
                ))
            }
            Mode::Local { restart, .. } => restart,
        };
        job.log.system("waiting for the tunnel's writer lock");
        let lock = IngressLock::take(&svc.pool).await.map_err(|e| JobFailure::failed(format!("taking the writer's lock: {e}")))?;
        let outcome = crate::restart::restart(&svc.nats, &svc.config.docker_host, &restart, job, svc.config.restart_timeout).await;
        lock.release().await.map_err(|e| JobFailure::failed(format!("releasing the writer's lock: {e}")))?;
        outcome.map_err(JobFailure::failed)
    }
}

//! Restarting cloudflared after its local `config.yml` changed (it reads the file only when it
//! starts), and checking that it came back.
//!
//! - A container is restarted by the docker service (Docker is reached by it alone): NATS
//!   request `warp.docker.<host>.restart_container`; it counts as back when it keeps running,
//!   without restarting again, for the settle time.
//! - A command is run as an argument list (never a shell) in the job, with its output in the
//!   job log; it counts as back when it exits 0.

use std::time::Duration;

use warp_events::docker::{ContainerRestarted, RestartContainer};
use warp_events::subjects;
use warp_jobs::process::ProcessSpec;
use warp_jobs::JobContext;

use crate::tunnel::Restart;

/// How long a restarted container must keep running to count as back.
pub const SETTLE: Duration = Duration::from_secs(3);

/// Restarts cloudflared by `restart`; `Err` says why it did not come back.
pub async fn restart(
    nats: &async_nats::Client,
    docker_host: &str,
    restart: &Restart,
    job: &JobContext,
    timeout: Duration,
) -> Result<(), String> {
    match restart {
        Restart::None => {
            job.log.system("cloudflared_restart is none: restart cloudflared yourself so it reads the new file");
            Ok(())
        }
        Restart::Container(name) => {
            job.log.system(&format!("restarting container {name} through the docker service"));
            let request = RestartContainer { container: name.clone(), settle_ms: SETTLE.as_millis() as u64 };
            let wait = timeout + SETTLE + Duration::from_secs(45);
            let restarted: ContainerRestarted =
                crate::docker::request(nats, docker_host, subjects::DOCKER_RESTART_CONTAINER, &request, wait)
                    .await
                    .map_err(|e| format!("restarting container {name}: {e}"))?;
            if restarted.running {
                job.log.system(&format!("container {name} is running again"));
                Ok(())
            } else {
                Err(format!(
                    "container {name} did not stay up after the restart (state {}{})",
                    restarted.state,
                    restarted.exit_code.map(|c| format!(", exit code {c}")).unwrap_or_default()
                ))
            }
        }
        Restart::Command(argv) => {
            let Some((program, args)) = argv.split_first() else {
                return Err("cloudflared_restart_command is empty".into());
            };
            job.log.system(&format!("running the restart command {program}"));
            let spec = ProcessSpec::new(program, args);
            match tokio::time::timeout(timeout, job.run(&spec)).await {
                Err(_) => Err(format!("the restart command did not finish within {} s", timeout.as_secs())),
                Ok(Err(warp_jobs::JobFailure::Failed(message))) => Err(format!("the restart command failed: {message}")),
                Ok(Err(warp_jobs::JobFailure::Stopped)) => Err("the job was cancelled during the restart".into()),
                Ok(Ok(())) => Ok(()),
            }
        }
    }
}

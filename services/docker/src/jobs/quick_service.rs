//! The `quick_service` job: the exposed container runs and its port answers (or the host
//! port answers), then the project's route is requested.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bollard::query_parameters::InspectContainerOptions;
use warp_domain::ProjectCommand;
use warp_events::job::QuickServiceInput;
use warp_events::project::QuickServiceTarget;
use warp_jobs::{Executor, JobContext, JobFailure};

use super::DeployServices;

/// How long the port may take to answer.
const ANSWER_WITHIN: Duration = Duration::from_secs(10);

/// Runs `quick_service` jobs.
pub struct QuickServiceExecutor(pub Arc<DeployServices>);

impl Executor for QuickServiceExecutor {
    type Input = QuickServiceInput;

    async fn run(&self, input: QuickServiceInput, job: &JobContext) -> Result<(), JobFailure> {
        let svc = &self.0;
        let id = input.project_id;
        let project = svc.project(id).await?;
        let result = check(svc, job, &project).await;
        match result {
            Ok(service_url) => {
                job.log.system(&format!("the service answers; requesting route to {service_url}"));
                svc.record(job, id, ProjectCommand::RequestRoute { service_url }).await
            }
            Err(failure) => {
                let message = svc.failure_message(id, &failure, "cancelled or timed out");
                let record = ProjectCommand::RecordDeploymentFailed {
                    job_id: job.job_id,
                    message,
                    containers_changed: false,
                    rolled_back_to: None,
                };
                svc.record(job, id, record).await?;
                Err(failure)
            }
        }
    }
}

/// The service URL of the quick service `project`, once its container runs and its port
/// answers (or its host port answers).
async fn check(svc: &DeployServices, job: &JobContext, project: &warp_domain::Project) -> Result<String, JobFailure> {
    let target = project.quick_service.clone().ok_or_else(|| JobFailure::failed("the project is not a quick service"))?;
    let service_url = match target {
        QuickServiceTarget::HostPort { host_port } => {
            let addresses = [SocketAddr::from(([127, 0, 0, 1], host_port)), SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, host_port))];
            answers(job, &addresses).await?;
            format!("http://localhost:{host_port}")
        }
        QuickServiceTarget::Container { container, target_port } => {
            let engine = svc.docker.engine().await.map_err(|f| JobFailure::failed(f.message))?;
            let inspected = engine
                .inspect_container(&container, None::<InspectContainerOptions>)
                .await
                .map_err(|e| JobFailure::failed(format!("container {container}: {e}")))?;
            let running = inspected.state.as_ref().and_then(|s| s.running).unwrap_or(false);
            if !running {
                return Err(JobFailure::failed(format!("container {container} is not running")));
            }
            let name = inspected.name.clone().unwrap_or_default().trim_start_matches('/').to_owned();
            let settings = inspected.network_settings.clone().unwrap_or_default();
            let published = settings
                .ports
                .clone()
                .unwrap_or_default()
                .get(&format!("{target_port}/tcp"))
                .cloned()
                .flatten()
                .and_then(|bindings| bindings.into_iter().find_map(|b| b.host_port?.parse::<u16>().ok()));
            let ips: Vec<SocketAddr> = settings
                .networks
                .unwrap_or_default()
                .values()
                .filter_map(|n| n.ip_address.as_deref()?.parse::<IpAddr>().ok())
                .map(|ip| SocketAddr::new(ip, target_port))
                .collect();
            let mut addresses = ips;
            if let Some(port) = published {
                addresses.push(SocketAddr::from(([127, 0, 0, 1], port)));
            }
            answers(job, &addresses).await?;
            match published {
                Some(port) => format!("http://localhost:{port}"),
                None => format!("http://{name}:{target_port}"),
            }
        }
    };
    Ok(service_url)
}

/// Waits until one of `addresses` accepts a TCP connection.
async fn answers(job: &JobContext, addresses: &[SocketAddr]) -> Result<(), JobFailure> {
    if addresses.is_empty() {
        return Err(JobFailure::failed("the container has no address to reach it on"));
    }
    let deadline = tokio::time::Instant::now() + ANSWER_WITHIN;
    loop {
        for address in addresses {
            let connect = tokio::net::TcpStream::connect(address);
            if let Ok(Ok(_)) = tokio::time::timeout(Duration::from_secs(1), connect).await {
                job.log.system(&format!("{address} accepts connections"));
                return Ok(());
            }
        }
        if tokio::time::Instant::now() >= deadline {
            let list: Vec<String> = addresses.iter().map(ToString::to_string).collect();
            return Err(JobFailure::failed(format!("nothing answers on {} within {} s", list.join(", "), ANSWER_WITHIN.as_secs())));
        }
        tokio::select! {
            _ = job.cancelled().cancelled() => return Err(JobFailure::Stopped),
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
    }
}

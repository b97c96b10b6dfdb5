//! `publish_route`: the DNS record, then the ingress rule, of the route a project asks for.
//!
//! 1. Read the project (event store): no route wanted any more (withdrawn, removed, archived)
//!    → nothing to do. Read the settings: base domain, zone, account, tunnel, token, mode.
//! 2. Under the writer's lock: DNS ([`crate::dns::ensure_record`]), then the panel's ingress
//!    rule for the hostname, then the ownership row (`cloudflare_routes`, which also cancels
//!    a scheduled unpublish of that hostname: re-created within the grace period keeps the
//!    site).
//! 3. Record `RoutePublished`, or `RoutePublishFailed` with the reason.

use std::sync::Arc;

use uuid::Uuid;
use warp_domain::validate::ServiceUrl;
use warp_domain::ProjectCommand;
use warp_events::job::PublishRouteInput;
use warp_jobs::{Executor, JobContext, JobFailure};

use crate::dns::{self, Holder};
use crate::tunnel::{Mode, Restart};
use crate::writer::{self, IngressLock};
use crate::Services;

/// Runs `publish_route` jobs.
pub struct PublishRouteExecutor(pub Arc<Services>);

impl Executor for PublishRouteExecutor {
    type Input = PublishRouteInput;

    async fn run(&self, input: PublishRouteInput, job: &JobContext) -> Result<(), JobFailure> {
        run(&self.0, input.project_id, job).await
    }
}

/// Runs one attempt for project `project_id`.
pub async fn run(svc: &Services, project_id: Uuid, job: &JobContext) -> Result<(), JobFailure> {
    let project = svc.project(project_id).await?;
    let (Some(route), Some(subdomain), false) = (project.route.clone(), project.subdomain.clone(), project.archived) else {
        job.log.system("the project asks for no route any more; nothing to publish");
        return Ok(());
    };
    let mut hostname = None;
    let outcome = publish(svc, project_id, &subdomain, &route.service_url, job, &mut hostname).await;
    let command = match &outcome {
        Ok(host) => ProjectCommand::RecordRoutePublished { job_id: job.job_id, hostname: host.clone(), service_url: route.service_url },
        Err(message) => ProjectCommand::RecordRoutePublishFailed {
            job_id: job.job_id,
            hostname: hostname.clone(),
            message: svc.settings.redactor().redact(message),
        },
    };
    svc.record(job, project_id, command).await?;
    match outcome {
        Ok(host) => {
            job.log.system(&format!("published https://{host}"));
            Ok(())
        }
        Err(message) => Err(JobFailure::failed(message)),
    }
}

async fn publish(
    svc: &Services,
    project_id: Uuid,
    subdomain: &str,
    service_url: &str,
    job: &JobContext,
    formed: &mut Option<String>,
) -> Result<String, String> {
    let (settings, api) = svc.tunnel().await?;
    let hostname = settings.hostname(subdomain)?;
    *formed = Some(hostname.as_str().to_owned());
    let service = ServiceUrl::parse("service_url", service_url).map_err(|e| e.to_string())?;
    job.log.system(&format!("publishing {hostname} → {service}"));
    if let Some(container) = service.container_host() {
        match &settings.mode {
            Mode::Local { restart: Restart::Container(cloudflared), .. } => {
                let done = crate::docker::reach(&svc.nats, &svc.config.docker_host, cloudflared, container).await?;
                job.log.system(&done);
            }
            Mode::Local { .. } => {
                return Err(format!(
                    "{service} names container {container}, but cloudflared is not a container this panel manages, so it \
                     cannot be put on that container's network; publish the port on the host and use http://localhost:<port>"
                ))
            }
            Mode::Remote => job.log.system(&format!("note: cloudflared must be able to reach container {container}")),
        }
    }
    let mut lock = IngressLock::take(&svc.pool).await.map_err(|e| format!("taking the tunnel writer's lock: {e}"))?;
    let holder: Option<(Uuid, bool)> =
        sqlx::query_as("select project_id, unpublish_at is not null from cloudflare_routes where hostname = $1")
            .bind(hostname.as_str())
            .fetch_optional(lock.conn())
            .await
            .map_err(|e| e.to_string())?;
    let holder = holder.map(|(project_id, unpublishing)| Holder { project_id, unpublishing });
    let log = |line: &str| job.log.system(line);
    let record_id = dns::ensure_record(api.as_ref(), &settings, &hostname, project_id, holder, &log).await?;
    let wanted = hostname.clone();
    writer::write(svc, &mut lock, &settings, api.as_ref(), job, |ingress, owned| ingress.upsert(&wanted, &service, owned)).await?;
    sqlx::query(
        "insert into cloudflare_routes (hostname, project_id, service_url, tunnel_id, dns_record_id)
         values ($1, $2, $3, $4, $5)
         on conflict (hostname) do update set project_id = excluded.project_id, service_url = excluded.service_url,
                tunnel_id = excluded.tunnel_id, dns_record_id = excluded.dns_record_id, published_at = now(),
                unpublish_at = null, unpublish_failures = 0",
    )
    .bind(hostname.as_str())
    .bind(project_id)
    .bind(service.as_str())
    .bind(&settings.tunnel_id)
    .bind(&record_id)
    .execute(lock.conn())
    .await
    .map_err(|e| format!("recording the route as the panel's: {e}"))?;
    lock.release().await.map_err(|e| format!("recording the route as the panel's: {e}"))?;
    if let Some(previous) = holder.filter(|h| h.project_id != project_id) {
        // Taken over within the grace period: the earlier project no longer has this site.
        job.log.system(&format!("{hostname} was project {}'s, whose unpublish was pending; it is this project's now", previous.project_id));
        let command = ProjectCommand::RecordRouteUnpublished { job_id: job.job_id, hostname: hostname.as_str().to_owned() };
        if let Err(failure) = svc.record(job, previous.project_id, command).await {
            tracing::warn!(project.id = %previous.project_id, failure = ?failure, "recording the takeover on the earlier project failed");
        }
    }
    Ok(hostname.as_str().to_owned())
}

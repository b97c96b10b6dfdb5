//! `unpublish_route`: removes the DNS record and the ingress rule of a hostname that the
//! panel created for a project, once its grace period is over.
//!
//! Under the writer's lock the ownership row decides: gone, now another project's, or no
//! longer scheduled (the route was requested again) → nothing is removed. Otherwise the
//! panel's record (its comment marks it) and the panel's rule go, then the row, and
//! `RouteUnpublished` is recorded. A failed attempt (Cloudflare unreachable, cloudflared not
//! coming back) moves the due time on, so the sweeper queues it again: [`RETRY_FIRST`] after
//! the first failure, doubling with each one up to [`RETRY_MAX`]. It never gives up: the
//! record and rule must go eventually, or the hostname would keep pointing at the tunnel.

use std::sync::Arc;

use uuid::Uuid;
use warp_domain::validate::Hostname;
use warp_domain::ProjectCommand;
use warp_events::job::UnpublishRouteInput;
use warp_jobs::{Executor, JobContext, JobFailure};

use crate::dns;
use crate::writer::{self, IngressLock};
use crate::Services;

/// Delay before the attempt after the first failed one (`RETRY_FIRST × 2^(failures-1)`).
pub const RETRY_FIRST: std::time::Duration = std::time::Duration::from_secs(60);
/// Longest delay between two attempts.
pub const RETRY_MAX: std::time::Duration = std::time::Duration::from_secs(3600);

/// Runs `unpublish_route` jobs.
pub struct UnpublishRouteExecutor(pub Arc<Services>);

impl Executor for UnpublishRouteExecutor {
    type Input = UnpublishRouteInput;

    async fn run(&self, input: UnpublishRouteInput, job: &JobContext) -> Result<(), JobFailure> {
        run(&self.0, input.project_id, &input.hostname, job).await
    }
}

/// Runs one attempt for `hostname` of project `project_id`.
pub async fn run(svc: &Services, project_id: Uuid, hostname: &str, job: &JobContext) -> Result<(), JobFailure> {
    let host = Hostname::parse("hostname", hostname).map_err(|e| JobFailure::failed(e.to_string()))?;
    match unpublish(svc, project_id, &host, job).await {
        Ok(false) => Ok(()),
        Ok(true) => {
            let command = ProjectCommand::RecordRouteUnpublished { job_id: job.job_id, hostname: host.as_str().to_owned() };
            svc.record(job, project_id, command).await?;
            job.log.system(&format!("unpublished {host}"));
            Ok(())
        }
        Err(message) => {
            // Try again later, backing off: the sweeper queues a new job for the new due time.
            let retried: Result<Option<(i32, chrono::DateTime<chrono::Utc>)>, _> = sqlx::query_as(
                "update cloudflare_routes
                    set unpublish_failures = unpublish_failures + 1,
                        unpublish_at = now() + least(make_interval(secs => $3 * power(2, least(unpublish_failures, 20))),
                                                     make_interval(secs => $4))
                  where hostname = $1 and project_id = $2 and unpublish_at is not null
                  returning unpublish_failures, unpublish_at",
            )
            .bind(host.as_str())
            .bind(project_id)
            .bind(RETRY_FIRST.as_secs_f64())
            .bind(RETRY_MAX.as_secs_f64())
            .fetch_optional(&svc.pool)
            .await;
            if let Ok(Some((failures, at))) = retried {
                job.log.system(&format!("attempt {failures} failed; the unpublish is tried again at {}", at.to_rfc3339()));
            }
            Err(JobFailure::failed(message))
        }
    }
}

async fn unpublish(svc: &Services, project_id: Uuid, host: &Hostname, job: &JobContext) -> Result<bool, String> {
    let (settings, api) = svc.tunnel().await?;
    let mut lock = IngressLock::take(&svc.pool).await.map_err(|e| format!("taking the tunnel writer's lock: {e}"))?;
    let row: Option<(Uuid, Option<chrono::DateTime<chrono::Utc>>)> =
        sqlx::query_as("select project_id, unpublish_at from cloudflare_routes where hostname = $1 for update")
            .bind(host.as_str())
            .fetch_optional(lock.conn())
            .await
            .map_err(|e| e.to_string())?;
    let keep = match row {
        None => Some("is not the panel's (any more)".to_owned()),
        Some((owner, _)) if owner != project_id => Some(format!("is now published for project {owner}")),
        Some((_, None)) => Some("was requested again".to_owned()),
        Some((_, Some(at))) if at > chrono::Utc::now() => Some(format!("is not due before {at}")),
        Some(_) => None,
    };
    if let Some(why) = keep {
        job.log.system(&format!("{host} {why}; nothing removed"));
        lock.release().await.map_err(|e| e.to_string())?;
        return Ok(false);
    }
    job.log.system(&format!("unpublishing {host}: the grace period is over"));
    let log = |line: &str| job.log.system(line);
    dns::remove_record(api.as_ref(), &settings, host, &log).await?;
    let name = host.as_str().to_owned();
    writer::write(svc, &mut lock, &settings, api.as_ref(), job, |ingress, owned| Ok(ingress.remove(&name, owned))).await?;
    sqlx::query("delete from cloudflare_routes where hostname = $1")
        .bind(host.as_str())
        .execute(lock.conn())
        .await
        .map_err(|e| e.to_string())?;
    lock.release().await.map_err(|e| e.to_string())?;
    Ok(true)
}

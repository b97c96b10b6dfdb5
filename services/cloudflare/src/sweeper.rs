//! Queues `unpublish_route` for every hostname whose grace period is over (the ownership
//! row's `unpublish_at` has passed). The job id is derived from the hostname and that time,
//! so every sweep until the job runs queues it once.

use std::sync::Arc;

use uuid::Uuid;
use warp_events::job::UnpublishRouteInput;
use warp_events::EventMetadata;
use warp_store::event_store::Queued;
use warp_platform::Shutdown;

use crate::Services;

/// Sweeps every `svc.config.sweep_every` until `shutdown`.
pub async fn run(svc: Arc<Services>, shutdown: Shutdown) -> anyhow::Result<()> {
    let mut tick = tokio::time::interval(svc.config.sweep_every);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            _ = tick.tick() => {
                if let Err(error) = sweep(&svc).await {
                    tracing::warn!(error = %format!("{error:#}"), "looking for due route unpublishes failed");
                }
            }
        }
    }
}

/// Queues the due unpublishes once; returns how many were due.
pub async fn sweep(svc: &Services) -> anyhow::Result<usize> {
    let due: Vec<(String, Uuid, chrono::DateTime<chrono::Utc>)> = sqlx::query_as(
        "select hostname, project_id, unpublish_at from cloudflare_routes where unpublish_at <= now() order by unpublish_at",
    )
    .fetch_all(&svc.pool)
    .await?;
    for (hostname, project_id, at) in &due {
        let id = Uuid::new_v5(&crate::handlers::JOB_ID_NAMESPACE, format!("unpublish:{hostname}:{}", at.timestamp_micros()).as_bytes());
        let input = UnpublishRouteInput { project_id: *project_id, hostname: hostname.clone() }.into();
        let metadata = EventMetadata {
            actor: Some(format!("system:{}", svc.config.runner.worker)),
            request_id: None,
            correlation_id: Some(id.to_string()),
            causation_id: None,
        };
        match warp_store::event_store::queue_job(&svc.jobs, id, input, &metadata).await {
            Ok(Queued::Now) => tracing::info!(hostname = %hostname, job.id = %id, "unpublish_route queued"),
            Ok(Queued::Already) => {}
            Err(error) => anyhow::bail!("queueing unpublish_route for {hostname}: {error}"),
        }
    }
    Ok(due.len())
}

//! `ProjectSettingsUpdated` → when the subdomain changed: schedule the unpublish of the old
//! hostname, and queue a publish of the new one when the project asks for a route.

use sqlx::PgConnection;
use uuid::Uuid;
use warp_consumer_kit::HandlerError;
use warp_events::EventEnvelope;

use crate::tunnel::TunnelSettings;
use crate::Services;

/// Decides from the new `subdomain` and the hostnames published for the project.
pub async fn handle(
    svc: &Services,
    tx: &mut PgConnection,
    event: &EventEnvelope,
    project_id: Uuid,
    subdomain: Option<String>,
) -> Result<(), HandlerError> {
    let current = svc.settings.load().await.map_err(HandlerError::Transient)?;
    let new_host = match (TunnelSettings::from_current(&current), &subdomain) {
        (Ok(settings), Some(label)) => settings.hostname(label).ok().map(|h| h.as_str().to_owned()),
        _ => None,
    };
    let published: Vec<String> = sqlx::query_scalar("select hostname from cloudflare_routes where project_id = $1")
        .bind(project_id)
        .fetch_all(&mut *tx)
        .await
        .map_err(HandlerError::from_sqlx)?;
    let unchanged = new_host.as_ref().is_some_and(|h| published.contains(h));
    if published.iter().any(|h| Some(h) != new_host.as_ref()) {
        super::schedule_unpublish(svc, tx, event, project_id, new_host.as_deref()).await?;
    }
    if subdomain.is_some() && !unchanged {
        let project = warp_store::event_store::load_project(&svc.pool, project_id)
            .await
            .map_err(|e| HandlerError::Transient(anyhow::anyhow!("reading project {project_id}: {e}")))?;
        if project.route.is_some() {
            super::queue_publish(svc, event, project_id).await?;
        }
    }
    Ok(())
}

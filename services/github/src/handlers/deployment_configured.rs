//! `DeploymentConfigured` with a GitHub source → an `ensure_webhook` job, so a push to the
//! repository redeploys the project. Covers every way a project gets a GitHub source:
//! deploy-existing, a source change (`PATCH`), and a repository created from a template
//! (`RepoCreated` is followed by `DeploymentConfigured`).
//!
//! Only when the panel can receive the deliveries: the `public_url` setting (GitHub delivers
//! to `<public_url>/hooks/github`) and the `github_webhook_secret` must both be set; otherwise
//! nothing is queued and a log line says which is missing. The job id is
//! `job_id_for_event(message id, ensure_webhook)`: a redelivered event queues nothing twice.

use uuid::Uuid;
use warp_consumer_kit::HandlerError;
use warp_events::job::{job_id_for_event, EnsureWebhookInput};
use warp_events::project::ProjectSource;
use warp_events::{EventEnvelope, JobType, ProjectEvent, SecretName};
use warp_store::event_store::{self, Queued};

use super::{caused_by, command_error};
use crate::Services;

/// Queues `ensure_webhook` for a project that now deploys from a GitHub repository.
pub async fn handle(svc: &Services, event: &EventEnvelope) -> Result<(), HandlerError> {
    let parsed: ProjectEvent = serde_json::from_value(event.payload.clone()).map_err(|e| HandlerError::Permanent(e.into()))?;
    let ProjectEvent::DeploymentConfigured { source: ProjectSource::Github { repo, .. }, .. } = parsed else { return Ok(()) };
    let project_id: Uuid = event.aggregate_id.parse().map_err(|e: uuid::Error| HandlerError::Permanent(e.into()))?;
    let current = svc.settings.load().await.map_err(HandlerError::Unavailable)?;
    let missing: Vec<&str> = [
        ("public_url", current.values.public_url.is_none()),
        ("github_webhook_secret", !current.secrets.contains_key(&SecretName::GithubWebhookSecret)),
    ]
    .into_iter()
    .filter_map(|(name, unset)| unset.then_some(name))
    .collect();
    if !missing.is_empty() {
        tracing::info!(project.id = %project_id, github.repo = %repo, missing = %missing.join(", "), "no webhook created: settings missing");
        return Ok(());
    }
    let job_id = job_id_for_event(&event.message_id(), JobType::EnsureWebhook);
    let input = EnsureWebhookInput { project_id }.into();
    if event_store::queue_job(&svc.jobs, job_id, input, &caused_by(svc, event)).await.map_err(command_error)? == Queued::Now {
        tracing::info!(project.id = %project_id, job.id = %job_id, github.repo = %repo, "ensure_webhook queued");
    }
    Ok(())
}

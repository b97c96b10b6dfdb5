//! `ensure_webhook`: makes sure the project's GitHub repository has the panel's `push` webhook.
//!
//! 1. Read the project (event store): its source must still be `{"github":{"repo",…}}` and the
//!    project live; otherwise there is nothing to do. Read the settings: `public_url`,
//!    `github_webhook_secret` and the token (a missing one fails the job naming it).
//! 2. `GET /repos/{owner}/{repo}/hooks` and look for the hook whose `config.url` is
//!    `<public_url>/hooks/github`.
//!    - None: `POST` one with `config: {url, content_type: "json", secret, insecure_ssl: "0"}`,
//!      `events: ["push"]`, `active: true` (`created`). Should GitHub answer "Hook already
//!      exists" (another job created it meanwhile), list again and go on with that hook.
//!    - Found with other settings (events, content type, TLS check, inactive, no secret), or
//!      with a secret the project's last `GithubWebhookEnsured` did not record (GitHub never
//!      shows a secret; the recorded fingerprint of the current one tells), or another hook
//!      than the one recorded: `PATCH` it with the wanted settings (`updated`).
//!    - Found as wanted: nothing is sent (`unchanged`).
//! 3. Record `GithubWebhookEnsured`, or `GithubWebhookFailed` with the reason; GitHub's 404/403
//!    (the token may not administer the repository) is said plainly, not as a crash.
//!
//! The webhook secret goes only into the `config.secret` of the request to the configured
//! GitHub API; it is in no log line, event or error.

use std::sync::Arc;

use secrecy::ExposeSecret;
use uuid::Uuid;
use warp_domain::validate::RepoSlug;
use warp_domain::ProjectCommand;
use warp_events::github_delivery::WebhookChange;
use warp_events::job::EnsureWebhookInput;
use warp_events::project::ProjectSource;
use warp_events::SecretName;
use warp_jobs::{Executor, JobContext, JobFailure};

use crate::client::{GithubApi, GithubError, Hook, HookConfig, HookRequest};
use crate::Services;

/// Runs `ensure_webhook` jobs.
pub struct EnsureWebhookExecutor(pub Arc<Services>);

impl Executor for EnsureWebhookExecutor {
    type Input = EnsureWebhookInput;

    async fn run(&self, input: EnsureWebhookInput, job: &JobContext) -> Result<(), JobFailure> {
        run(&self.0, input.project_id, job).await
    }
}

/// What the job found it had to do, and the hook it left.
struct Ensured {
    hook_id: u64,
    change: WebhookChange,
}

/// Runs one attempt for project `project_id`.
pub async fn run(svc: &Services, project_id: Uuid, job: &JobContext) -> Result<(), JobFailure> {
    let project = svc.project(project_id).await?;
    let Some(ProjectSource::Github { repo, .. }) = project.deployment.as_ref().map(|d| d.source.clone()).filter(|_| !project.archived) else {
        job.log.system("the project is archived or no longer deploys from GitHub; no webhook needed");
        return Ok(());
    };
    let repo = RepoSlug::parse("repo", &repo).map_err(|e| JobFailure::failed(e.to_string()))?;
    let current = svc.current().await.map_err(JobFailure::failed)?;
    let (Some(public_url), Some(secret)) =
        (current.values.public_url.clone(), current.secrets.get(&SecretName::GithubWebhookSecret).cloned())
    else {
        return fail(svc, job, project_id, &repo, "set public_url and github_webhook_secret in the settings first".into()).await;
    };
    let url = format!("{}/hooks/github", public_url.trim_end_matches('/'));
    let api = match svc.api(&current) {
        Ok(api) => api,
        Err(message) => return fail(svc, job, project_id, &repo, message).await,
    };
    job.log.system(&format!("making sure {} has a push webhook to {url}", repo.as_str()));
    let recorded = project.webhook.as_ref().filter(|w| w.url == url && w.repo.eq_ignore_ascii_case(repo.as_str()));
    let known = recorded.filter(|w| w.secret_fingerprint == secret.fingerprint).map(|w| w.hook_id);
    let wanted = HookRequest {
        name: "web",
        active: true,
        events: vec!["push".into()],
        config: HookConfig {
            url: Some(url.clone()),
            content_type: Some("json".into()),
            insecure_ssl: Some("0".into()),
            secret: Some(secret.value.expose_secret().to_owned()),
        },
    };
    match ensure(api.as_ref(), &repo, &wanted, known).await {
        Ok(Ensured { hook_id, change }) => {
            let said = match change {
                WebhookChange::Created => "created",
                WebhookChange::Updated => "updated",
                WebhookChange::Unchanged => "already as wanted",
            };
            job.log.system(&format!("webhook {hook_id} on {}: {said}", repo.as_str()));
            let command = ProjectCommand::RecordWebhookEnsured {
                job_id: job.job_id,
                repo: repo.as_str().to_owned(),
                hook_id,
                url,
                change,
                secret_fingerprint: secret.fingerprint.clone(),
            };
            svc.record(job, project_id, command).await
        }
        Err(error) => fail(svc, job, project_id, &repo, explain(&error, &repo)).await,
    }
}

/// Finds, creates or updates the hook; `known` is the hook id the project recorded with the
/// current secret.
async fn ensure(api: &dyn GithubApi, repo: &RepoSlug, wanted: &HookRequest, known: Option<u64>) -> Result<Ensured, GithubError> {
    let url = wanted.config.url.as_deref();
    let existing = match find(api, repo, url).await? {
        Some(hook) => hook,
        None => match api.create_hook(repo, wanted).await {
            Ok(created) => return Ok(Ensured { hook_id: created.id, change: WebhookChange::Created }),
            Err(GithubError::HookExists) => find(api, repo, url).await?.ok_or(GithubError::HookExists)?,
            Err(error) => return Err(error),
        },
    };
    let as_wanted = existing.active
        && existing.events == wanted.events
        && existing.config.content_type == wanted.config.content_type
        && existing.config.insecure_ssl == wanted.config.insecure_ssl
        && existing.config.secret.is_some()
        && known == Some(existing.id);
    if as_wanted {
        return Ok(Ensured { hook_id: existing.id, change: WebhookChange::Unchanged });
    }
    let updated = api.update_hook(repo, existing.id, wanted).await?;
    Ok(Ensured { hook_id: updated.id, change: WebhookChange::Updated })
}

/// The hook of `repo` that delivers to `url`.
async fn find(api: &dyn GithubApi, repo: &RepoSlug, url: Option<&str>) -> Result<Option<Hook>, GithubError> {
    Ok(api.hooks(repo).await?.into_iter().find(|hook| hook.config.url.as_deref() == url))
}

/// A sentence for the project and the job log.
fn explain(error: &GithubError, repo: &RepoSlug) -> String {
    match error {
        GithubError::NotFound(_) | GithubError::Api { status: 403, .. } => format!(
            "the panel's GitHub token may not manage the webhooks of {} (GitHub answered {}): it needs admin rights on the \
             repository (a fine-grained token: the Webhooks read and write permission); add the webhook by hand or give \
             the token those rights",
            repo.as_str(),
            if matches!(error, GithubError::NotFound(_)) { "404 Not Found" } else { "403 Forbidden" },
        ),
        other => format!("making sure {} has the panel's webhook failed: {other}", repo.as_str()),
    }
}

/// Records `GithubWebhookFailed` with `message` and fails the job with it.
async fn fail(svc: &Services, job: &JobContext, project_id: Uuid, repo: &RepoSlug, message: String) -> Result<(), JobFailure> {
    let message = svc.settings.redactor().redact(&message);
    job.log.system(&message);
    let command = ProjectCommand::RecordWebhookFailed { job_id: job.job_id, repo: repo.as_str().to_owned(), message: message.clone() };
    svc.record(job, project_id, command).await?;
    Err(JobFailure::failed(message))
}

//! `GithubPushReceived` → a redeploy of every live compose project deployed from the pushed
//! repository at the pushed ref.
//!
//! Which projects: those whose source is `{"github":{"repo","ref"}}` with that repository
//! (owner and name compared case-insensitively, as GitHub treats them), and those whose git
//! URL is the repository on the configured GitHub (`<github_web_url>/<owner>/<name>` with or
//! without `.git`, https). Their ref must name the pushed ref: `main` matches
//! `refs/heads/main`, `v1` matches `refs/tags/v1`, a full `refs/…` ref matches itself, and
//! `HEAD` matches the repository's default branch. A deletion (`deleted: true`) redeploys
//! nothing. Candidates come from the `projects` read model (a project created a moment ago may
//! not be there yet); the `Project` aggregate then decides: an archived project (or one no
//! longer deployable) refuses, and is skipped.
//!
//! Each redeploy is the API's deploy action: `RequestDeployment` on the project, then the
//! `deploy` job is queued (per-project FIFO, as every deploy). Its job id is
//! `job_id_for_event("<message id>/project/<id>", deploy)`, so a redelivered event finds the
//! job and queues nothing twice; a redelivery after the request but before the job finds the
//! project waiting on that job id (it records nothing again) and queues the job.

use sqlx::types::Json;
use uuid::Uuid;
use warp_consumer_kit::HandlerError;
use warp_domain::{ProjectCommand, ProjectError};
use warp_events::job::{job_id_for_event, DeployInput};
use warp_events::project::{DeployAction, ProjectSource};
use warp_events::{EventEnvelope, GithubDeliveryEvent, JobType};
use warp_store::event_store;

use super::{caused_by, command_error};
use crate::Services;

/// The push, as the matching rule needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Push {
    /// `owner/name`.
    pub repo: String,
    /// The full ref pushed (`refs/heads/main`).
    pub git_ref: String,
    pub default_branch: Option<String>,
}

/// Queues the redeploys `event` causes.
pub async fn handle(svc: &Services, event: &EventEnvelope) -> Result<(), HandlerError> {
    let parsed: GithubDeliveryEvent =
        serde_json::from_value(event.payload.clone()).map_err(|e| HandlerError::Permanent(e.into()))?;
    let GithubDeliveryEvent::GithubPushReceived { repo, git_ref, deleted, default_branch, .. } = parsed;
    if deleted {
        tracing::info!(github.repo = %repo, git.r#ref = %git_ref, "a deleted ref redeploys nothing");
        return Ok(());
    }
    let push = Push { repo, git_ref, default_branch };
    let current = svc.settings.load().await.map_err(HandlerError::Unavailable)?;
    let web_url = current.values.github_web_url;
    let candidates: Vec<(Uuid, Json<ProjectSource>)> = sqlx::query_as(
        "select id, source from projects
          where not archived and kind = 'compose' and source is not null and (source ? 'github' or source ? 'git')
          order by created_at, id",
    )
    .fetch_all(&svc.pool)
    .await
    .map_err(HandlerError::from_sqlx)?;
    let matching: Vec<Uuid> = candidates.into_iter().filter(|(_, source)| matches(&source.0, &push, &web_url)).map(|(id, _)| id).collect();
    if matching.is_empty() {
        tracing::info!(github.repo = %push.repo, git.r#ref = %push.git_ref, "no project is deployed from the pushed ref");
    }
    for project_id in matching {
        redeploy(svc, event, project_id).await?;
    }
    Ok(())
}

/// Requests the redeploy of `project_id` for `event` and queues its job, once.
async fn redeploy(svc: &Services, event: &EventEnvelope, project_id: Uuid) -> Result<(), HandlerError> {
    let job_id = job_id_for_event(&format!("{}/project/{project_id}", event.message_id()), JobType::Deploy);
    let queued: bool = sqlx::query_scalar("select exists (select 1 from jobs where id = $1)")
        .bind(job_id)
        .fetch_one(&svc.pool)
        .await
        .map_err(HandlerError::from_sqlx)?;
    if queued {
        return Ok(());
    }
    let metadata = caused_by(svc, event);
    let request = ProjectCommand::RequestDeployment { job_id, action: DeployAction::Deploy };
    match event_store::execute_project(&svc.projects, project_id, request, &metadata).await {
        Ok(()) => {}
        Err(cqrs_es::AggregateError::UserError(refused @ (ProjectError::Archived | ProjectError::NotFound | ProjectError::NotDeployable))) => {
            tracing::info!(project.id = %project_id, reason = %refused, "push redeploy skipped");
            return Ok(());
        }
        Err(error) => return Err(command_error(error)),
    }
    event_store::queue_job(&svc.jobs, job_id, DeployInput { project_id }.into(), &metadata).await.map_err(command_error)?;
    tracing::info!(project.id = %project_id, job.id = %job_id, "redeploy queued for a push");
    Ok(())
}

/// Whether a project deployed from `source` follows `push` (see the module docs), with
/// `web_url` the configured `github_web_url`.
pub fn matches(source: &ProjectSource, push: &Push, web_url: &str) -> bool {
    let (repo, wanted_ref) = match source {
        ProjectSource::Github { repo, git_ref } => (repo.clone(), git_ref),
        ProjectSource::Git { url, git_ref } => match repo_of_url(url, web_url) {
            Some(repo) => (repo, git_ref),
            None => return false,
        },
        ProjectSource::Folder { .. } => return false,
    };
    repo.eq_ignore_ascii_case(&push.repo) && ref_matches(wanted_ref, push)
}

/// `owner/name` of a git URL on the configured GitHub: `<web_url>/<owner>/<name>[.git][/]`.
fn repo_of_url(url: &str, web_url: &str) -> Option<String> {
    let base = web_url.trim_end_matches('/');
    let rest = url.get(..base.len()).filter(|head| head.eq_ignore_ascii_case(base)).map(|_| &url[base.len()..])?;
    let rest = rest.strip_prefix('/')?.trim_end_matches('/');
    let rest = rest.strip_suffix(".git").unwrap_or(rest);
    let (owner, name) = rest.split_once('/')?;
    (!owner.is_empty() && !name.is_empty() && !name.contains('/')).then(|| format!("{owner}/{name}"))
}

/// Whether the project's ref `wanted` (branch, tag, full ref or `HEAD`) is the pushed ref.
fn ref_matches(wanted: &str, push: &Push) -> bool {
    if wanted == "HEAD" {
        return push.default_branch.as_ref().is_some_and(|branch| push.git_ref == format!("refs/heads/{branch}"));
    }
    if wanted.starts_with("refs/") {
        return push.git_ref == wanted;
    }
    push.git_ref == format!("refs/heads/{wanted}") || push.git_ref == format!("refs/tags/{wanted}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn push(git_ref: &str) -> Push {
        Push { repo: "Octo-Org/Shop".into(), git_ref: git_ref.into(), default_branch: Some("main".into()) }
    }

    fn github(repo: &str, git_ref: &str) -> ProjectSource {
        ProjectSource::Github { repo: repo.into(), git_ref: git_ref.into() }
    }

    fn git(url: &str, git_ref: &str) -> ProjectSource {
        ProjectSource::Git { url: url.into(), git_ref: git_ref.into() }
    }

    const WEB: &str = "https://github.com";

    #[test]
    fn a_github_source_follows_its_branch_or_tag_with_the_repo_compared_case_insensitively() {
        assert!(matches(&github("octo-org/shop", "main"), &push("refs/heads/main"), WEB));
        assert!(matches(&github("Octo-Org/Shop", "v1.2"), &push("refs/tags/v1.2"), WEB));
        assert!(matches(&github("octo-org/shop", "refs/heads/main"), &push("refs/heads/main"), WEB));
        assert!(matches(&github("octo-org/shop", "HEAD"), &push("refs/heads/main"), WEB));
        assert!(!matches(&github("octo-org/shop", "HEAD"), &push("refs/heads/dev"), WEB));
        assert!(!matches(&github("octo-org/shop", "main"), &push("refs/heads/dev"), WEB), "another branch");
        assert!(!matches(&github("octo-org/shop", "main"), &push("refs/heads/main-2"), WEB));
        assert!(!matches(&github("octo-org/shop", "refs/tags/main"), &push("refs/heads/main"), WEB));
        assert!(!matches(&github("octo-org/shop2", "main"), &push("refs/heads/main"), WEB), "another repo");
        assert!(!matches(&ProjectSource::Folder { path: "shop".into() }, &push("refs/heads/main"), WEB));
    }

    #[test]
    fn a_git_url_on_the_configured_github_follows_the_repo_too() {
        for url in ["https://github.com/octo-org/shop", "https://github.com/Octo-Org/Shop.git", "https://GitHub.com/octo-org/shop/"] {
            assert!(matches(&git(url, "main"), &push("refs/heads/main"), WEB), "{url}");
        }
        assert!(matches(&git("https://ghe.example.com/octo-org/shop.git", "main"), &push("refs/heads/main"), "https://ghe.example.com/"));
        for url in ["https://gitlab.com/octo-org/shop.git", "https://github.com/octo-org/shop/tree/main", "https://github.com.evil/octo-org/shop",
            "git@github.com:octo-org/shop.git", "https://github.com/octo-org"] {
            assert!(!matches(&git(url, "main"), &push("refs/heads/main"), WEB), "{url}");
        }
    }
}

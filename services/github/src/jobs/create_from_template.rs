//! The `create_from_template` job: generate the project's repository from its template on
//! GitHub → wait until it can be cloned → clone it into the project's workspace → (with
//! `deploy`) queue the first deploy. Each step is recorded on the project.
//!
//! - A name that exists on the owner's account is a conflict: the job fails with
//!   `conflict: a repository named <owner>/<name> already exists on GitHub` and nothing was
//!   created.
//! - A new repository is not clonable at once: the fetch is retried with bounded backoff
//!   (1 s doubling to 8 s) until `clone_wait` has passed.
//! - The clone uses the `clone_url` GitHub answered, with the token given to git as an auth
//!   header in its environment (`warp_jobs::git`), into the workspace layout every git source
//!   has (`<workspaces root>/.warp/projects/<id>/checkout`, `warp_jobs::workspace`).
//! - On failure the project folder this job made is removed; a repository the job created
//!   stays on GitHub (the panel never deletes one), which the job log and `RepoCreationFailed`
//!   (`repo_left`) say.

use std::sync::Arc;
use std::time::{Duration, Instant};

use uuid::Uuid;
use warp_domain::project::RepoRequest;
use warp_domain::validate::{GitUrl, RepoSlug};
use warp_domain::ProjectCommand;
use warp_events::job::CreateFromTemplateInput;
use warp_events::project::DeployAction;
use warp_events::EventMetadata;
use warp_jobs::git::{GitAuth, GitOptions};
use warp_jobs::workspace::Workspace;
use warp_jobs::{Executor, JobContext, JobFailure};

use crate::client::GithubError;
use crate::Services;

/// Namespace of the id of the deploy a creation queues (UUIDv5 of the creating job's id).
const DEPLOY_JOB_NAMESPACE: Uuid = Uuid::from_u128(0x7761_7270_2d67_6974_6875_622d_6465_706c);

/// Runs `create_from_template` jobs.
pub struct CreateFromTemplateExecutor(pub Arc<Services>);

/// What the job did so far, for the cleanup and the record.
#[derive(Default)]
struct Progress {
    /// The repository it created (`owner/name`).
    created: Option<String>,
    /// The project folder it made (removed when the job fails).
    made_dir: Option<std::path::PathBuf>,
}

impl Executor for CreateFromTemplateExecutor {
    type Input = CreateFromTemplateInput;

    async fn run(&self, input: CreateFromTemplateInput, job: &JobContext) -> Result<(), JobFailure> {
        let svc = &self.0;
        let id = input.project_id;
        let project = svc.project(id).await?;
        let Some(request) = project.repo_request.clone().filter(|r| r.job_id == job.job_id) else {
            return Err(JobFailure::failed("the project has no pending repository creation for this job"));
        };
        let mut progress = Progress::default();
        let result = create(svc, job, id, &request, &mut progress).await;
        let Err(failure) = result else { return Ok(()) };
        if let Some(dir) = progress.made_dir.take() {
            match std::fs::remove_dir_all(&dir) {
                Ok(()) => job.log.system(&format!("removed the half-created workspace {}", dir.display())),
                Err(e) => job.log.system(&format!("could not remove the half-created workspace {}: {e}", dir.display())),
            }
        }
        if let Some(repo) = &progress.created {
            job.log.system(&format!(
                "the repository {repo} was created on GitHub and stays there: the panel never deletes a repository \
                 (delete it on GitHub, or deploy it with deploy-existing)"
            ));
        }
        let message = match &failure {
            JobFailure::Failed(message) => svc.settings.redactor().for_project(Some(&id.to_string())).redact(message),
            JobFailure::Stopped => "the repository creation was cancelled or timed out".to_owned(),
        };
        svc.record(job, id, ProjectCommand::RecordRepoCreationFailed { job_id: job.job_id, message }).await?;
        Err(failure)
    }
}

async fn create(svc: &Services, job: &JobContext, id: Uuid, request: &RepoRequest, progress: &mut Progress) -> Result<(), JobFailure> {
    let current = svc.current().await.map_err(JobFailure::failed)?;
    let api = svc.api(&current).map_err(JobFailure::failed)?;
    let token = crate::token(&current).ok_or_else(|| JobFailure::failed("set github_token in the settings"))?;
    let template = RepoSlug::parse("template", &request.template).map_err(|e| JobFailure::failed(e.to_string()))?;
    let target = request.owner.as_ref().map_or(request.name.clone(), |owner| format!("{owner}/{}", request.name));

    // 1. Generate.
    job.log.system(&format!(
        "creating the {} repository {target} from the template {}",
        if request.private { "private" } else { "public" },
        template.as_str()
    ));
    let repo = api.generate(&template, request.owner.as_deref(), &request.name, request.private).await.map_err(|e| match e {
        GithubError::NameExists(_) => JobFailure::failed(e.to_string()),
        other => JobFailure::failed(format!("creating the repository failed: {other}")),
    })?;
    progress.created = Some(repo.full_name.clone());
    job.log.system(&format!("created {} ({}), default branch {}", repo.full_name, repo.html_url, repo.default_branch));
    let slug = RepoSlug::parse("repo", &repo.full_name).map_err(|e| JobFailure::failed(format!("GitHub's answer: {e}")))?;
    let created = ProjectCommand::RecordRepoCreated {
        job_id: job.job_id,
        repo: slug,
        html_url: repo.html_url.clone(),
        default_branch: repo.default_branch.clone(),
    };
    svc.record(job, id, created).await?;

    // 2. Clone into the workspace, once GitHub lets it be cloned.
    let workspace = Workspace::new(&current.values.workspaces_root, id).map_err(JobFailure::failed)?;
    if !workspace.project_dir.exists() {
        progress.made_dir = Some(workspace.project_dir.clone());
    }
    workspace.ensure().map_err(|e| JobFailure::failed(format!("creating the project folder: {e}")))?;
    let url = GitUrl::parse("clone_url", &repo.clone_url).map_err(|e| JobFailure::failed(format!("GitHub's answer: {e}")))?;
    let auth = GitAuth::github_token(url.as_str(), &token).map_err(JobFailure::failed)?;
    svc.settings.redactor().set_secrets("github.git_header", auth.secret_forms());
    let git = GitOptions { ca_file: svc.config.git_ca_file.clone() };
    let commit = fetch_when_ready(svc, job, &git, &workspace, url.as_str(), &repo.default_branch, &auth).await?;
    svc.record(job, id, ProjectCommand::RecordRepoCloned { job_id: job.job_id, commit }).await?;

    // 3. The first deploy, queued as any deploy is (the docker service runs it).
    if request.deploy {
        let deploy = Uuid::new_v5(&DEPLOY_JOB_NAMESPACE, job.job_id.as_bytes());
        svc.record(job, id, ProjectCommand::RequestDeployment { job_id: deploy, action: DeployAction::Deploy }).await?;
        let metadata = EventMetadata::for_job(&svc.config.runner.worker, job.job_id);
        warp_store::event_store::queue_job(&svc.jobs, deploy, DeployAction::Deploy.job_input(id), &metadata)
            .await
            .map_err(|e| JobFailure::failed(format!("queueing the deploy failed: {e}")))?;
        job.log.system(&format!("deploy queued: job {deploy}"));
    }
    Ok(())
}

/// Fetches the default branch, retrying with backoff (1 s, doubling, at most 8 s) while the
/// new repository is not clonable yet, for at most `clone_wait`.
async fn fetch_when_ready(
    svc: &Services,
    job: &JobContext,
    git: &GitOptions,
    workspace: &Workspace,
    url: &str,
    branch: &str,
    auth: &GitAuth,
) -> Result<String, JobFailure> {
    let started = Instant::now();
    let mut wait = Duration::from_secs(1);
    let mut attempt = 1;
    loop {
        match git.fetch(job, &workspace.checkout(), url, branch, Some(auth)).await {
            Ok(commit) => return Ok(commit),
            Err(JobFailure::Stopped) => return Err(JobFailure::Stopped),
            Err(JobFailure::Failed(why)) if started.elapsed() + wait > svc.config.clone_wait => {
                return Err(JobFailure::failed(format!(
                    "the new repository could not be cloned within {} s ({attempt} attempts): {why}",
                    svc.config.clone_wait.as_secs()
                )));
            }
            Err(JobFailure::Failed(_)) => {
                job.log.system(&format!("the new repository is not clonable yet (attempt {attempt}); trying again in {} s", wait.as_secs()));
                tokio::select! {
                    _ = job.cancelled().cancelled() => return Err(JobFailure::Stopped),
                    _ = tokio::time::sleep(wait) => {}
                }
                wait = (wait * 2).min(Duration::from_secs(8));
                attempt += 1;
            }
        }
    }
}

//! The deploy job: source → compose file → ports → `up --build -d` → running and healthy →
//! recorded on the project (and its route requested). A redeploy that fails after compose
//! replaced containers rolls back to the last good commit.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::FutureExt as _;
use uuid::Uuid;
use warp_domain::ProjectCommand;
use warp_events::job::DeployInput;
use warp_events::project::{DeployedService, ProjectSource};
use warp_jobs::{Executor, JobContext, JobFailure};

use super::steps::compose_cli::Compose;
use super::steps::git::{context_with_tail, GitAuth};
use super::steps::workspace::EnvFile;
use super::steps::{compose_file, ownership, plan, policy, port_check, ready, ComposeProject};
use super::DeployServices;

/// Runs `deploy` jobs.
pub struct DeployExecutor(pub Arc<DeployServices>);

impl Executor for DeployExecutor {
    type Input = DeployInput;

    async fn run(&self, input: DeployInput, job: &JobContext) -> Result<(), JobFailure> {
        let id = input.project_id;
        let mut outcome = Outcome::default();
        let result = deploy(&self.0, job, id, &mut outcome).await;
        let record = match &result {
            Ok(services) => ProjectCommand::RecordDeploymentSucceeded {
                job_id: job.job_id,
                commit: outcome.commit.clone(),
                services: services.clone(),
            },
            Err(failure) => ProjectCommand::RecordDeploymentFailed {
                job_id: job.job_id,
                message: self.0.failure_message(id, failure, "the deploy was cancelled or timed out"),
                containers_changed: outcome.compose_ran,
                rolled_back_to: outcome.rolled_back_to.clone(),
            },
        };
        if outcome.project_loaded {
            self.0.record(job, id, record).await?;
        }
        let services = result?;
        request_route(&self.0, job, id, &services).await;
        Ok(())
    }
}

/// What a deploy found out on the way, for the record.
#[derive(Debug, Default)]
struct Outcome {
    project_loaded: bool,
    /// Whether `compose up` started (containers may have been replaced).
    compose_ran: bool,
    commit: Option<String>,
    rolled_back_to: Option<String>,
}

/// A rollback in progress: what serves if it works, and the run.
type Rollback<'a> = BoxFuture<'a, Result<Vec<DeployedService>, JobFailure>>;

/// One compose run's inputs, kept for a rollback.
struct Prepared {
    compose: Compose,
    plan: plan::Plan,
    /// `(service, image tag)` of services that build an image under a name of their choice.
    build_tags: Vec<(String, String)>,
    // Deleted when the run ends.
    _env_file: Option<EnvFile>,
}

async fn deploy(svc: &DeployServices, job: &JobContext, id: Uuid, outcome: &mut Outcome) -> Result<Vec<DeployedService>, JobFailure> {
    let project = svc.project(id).await?;
    outcome.project_loaded = true;
    let target = ComposeProject::prepare(svc, id, project).await?;
    let (project, config) = (&target.project, &target.config);

    // 1. Source.
    let dir = target.source_dir().map_err(JobFailure::failed)?;
    if let Some((url, git_ref, auth)) = remote(svc, &config.source).await? {
        outcome.commit = Some(svc.git.fetch(job, &dir, &url, git_ref, auth.as_ref()).await?);
    } else {
        let owner = ownership::owner(&svc.pool, id).await;
        ownership::check_folder(&svc.pool, &target.workspace.root, id, &dir, owner.as_deref()).await?;
        job.log.system(&format!("deploying folder {}", dir.display()));
    }

    // 2-4. Compose file, config, ports.
    let prepared = prepare(job, &target, &dir).await?;
    policy::check_build_tags(job, &svc.docker, &target, &prepared.build_tags).await?;
    let owner = ownership::owner(&svc.pool, id).await;
    port_check::check(job, &svc.pool, &svc.docker, &config.compose_project, owner.as_deref(), &prepared.plan.ports).await?;

    // 5. Up, then wait.
    outcome.compose_ran = true;
    let result = up_and_wait(svc, job, &prepared).await;
    let failure = match result {
        Ok(services) => {
            job.log.system(&format!("deployed: {} container(s) running", services.len()));
            return Ok(services);
        }
        Err(JobFailure::Stopped) => return Err(JobFailure::Stopped),
        Err(failure) => failure,
    };

    // 6. Roll back to the last good revision, if the failed run may have replaced it: the
    //    last good commit of a git source, the last good images of a folder source.
    let rollback: Option<(String, Rollback<'_>)> = match &config.source {
        ProjectSource::Git { .. } | ProjectSource::Github { .. } => match project.last_good_commit.clone() {
            Some(good) if outcome.commit.as_deref() != Some(good.as_str()) => {
                let dir = dir.clone();
                let target = &target;
                let run = async move {
                    svc.git.checkout(job, &dir, &good).await?;
                    let again = prepare(job, target, &dir).await?;
                    up_and_wait(svc, job, &again).await
                };
                Some((project.last_good_commit.clone().unwrap_or_default(), run.boxed()))
            }
            _ => None,
        },
        ProjectSource::Folder { .. } if !project.last_good_services.is_empty() => {
            let label = format!("images of job {}", project.last_good_job.map(|j| j.to_string()).unwrap_or_default());
            let run = async {
                restore_images(svc, job, &project.last_good_services).await?;
                job.log.clear_tail();
                job.run(&prepared.compose.spec(&["up", "--detach", "--no-build", "--remove-orphans"]))
                    .await
                    .map_err(|e| context_with_tail(e, job, "compose up with the previous images failed"))?;
                ready::wait(job, &svc.docker, &prepared.compose.project, &prepared.plan.services).await
            };
            Some((label, run.boxed()))
        }
        ProjectSource::Folder { .. } => None,
    };
    let Some((good, rollback)) = rollback else { return Err(failure) };
    job.log.system(&format!("deploy failed; rolling back to the last good revision ({good})"));
    match rollback.await {
        Ok(_) => {
            job.log.system(&format!("rolled back: {good} serves again"));
            outcome.rolled_back_to = Some(good);
        }
        Err(JobFailure::Failed(why)) => job.log.system(&format!("rollback failed too: {why}")),
        Err(JobFailure::Stopped) => {}
    }
    Err(failure)
}

/// The remote URL and ref of a git or GitHub source (`None` for a folder), and the
/// credentials git gets for it. A GitHub repository is `<github_web_url>/<owner>/<name>.git`,
/// fetched with the panel's `github_token` when one is set (private repositories); the
/// encoded header is registered with the redactor.
async fn remote<'a>(
    svc: &DeployServices,
    source: &'a ProjectSource,
) -> Result<Option<(String, &'a str, Option<GitAuth>)>, JobFailure> {
    Ok(match source {
        ProjectSource::Git { url, git_ref } => Some((url.clone(), git_ref.as_str(), None)),
        ProjectSource::Github { repo, git_ref } => {
            let settings = svc.settings.load().await.map_err(|e| JobFailure::failed(format!("reading the settings: {e:#}")))?;
            let url = format!("{}/{repo}.git", settings.values.github_web_url.trim_end_matches('/'));
            let auth = match settings.secrets.get(&warp_events::SecretName::GithubToken) {
                Some(token) => {
                    let auth = GitAuth::github_token(&url, &token.value).map_err(JobFailure::failed)?;
                    svc.settings.redactor().set_secrets("github.git_header", auth.secret_forms());
                    Some(auth)
                }
                None => None,
            };
            Some((url, git_ref.as_str(), auth))
        }
        ProjectSource::Folder { .. } => None,
    })
}

/// Points each image reference the last good containers ran (`warp-shop-…_web`, or the
/// `image:` of a service with `build:`) at the exact image id they ran, so
/// `compose up --no-build` recreates them from it. Nothing is pulled or built.
async fn restore_images(svc: &DeployServices, job: &JobContext, services: &[DeployedService]) -> Result<(), JobFailure> {
    let engine = svc.docker.engine().await.map_err(|f| JobFailure::failed(f.message))?;
    let mut done = std::collections::BTreeSet::new();
    for service in services {
        if service.image_id.is_empty() || service.image.starts_with("sha256:") || !done.insert(service.image.clone()) {
            continue;
        }
        let (repo, tag) = split_reference(&service.image);
        let options = bollard::query_parameters::TagImageOptionsBuilder::default().repo(repo).tag(tag).build();
        engine
            .tag_image(&service.image_id, Some(options))
            .await
            .map_err(|e| JobFailure::failed(format!("restoring image {} of service {}: {e}", service.image, service.service)))?;
        job.log.system(&format!("image {} points at {} again", service.image, service.image_id));
    }
    Ok(())
}

/// `name[:tag]` → (name, tag), the tag defaulting to `latest`; a `:` before the last `/` is a
/// registry port, not a tag.
fn split_reference(reference: &str) -> (&str, &str) {
    let reference = reference.split('@').next().unwrap_or(reference);
    let slash = reference.rfind('/').map_or(0, |i| i + 1);
    match reference[slash..].rfind(':') {
        Some(colon) => (&reference[..slash + colon], &reference[slash + colon + 1..]),
        None => (reference, "latest"),
    }
}


/// Finds the compose file in `dir`, writes the env file and reads the compose model
/// (`compose config`, whose output holds interpolated env values and is never logged).
async fn prepare(job: &JobContext, target: &ComposeProject, dir: &Path) -> Result<Prepared, JobFailure> {
    let file: PathBuf = compose_file::find(dir, target.config.compose_file.as_deref()).map_err(JobFailure::failed)?;
    job.log.system(&format!("compose file: {}", file.display()));
    let (compose, env_file) = target.compose(file)?;
    job.log.clear_tail();
    let model = job
        .output(&compose.spec(&["config"]))
        .await
        .map_err(|e| context_with_tail(e, job, "the compose file is invalid"))?;
    let model = plan::read_model(&model).map_err(JobFailure::failed)?;
    let plan = plan::from_model(&model).map_err(JobFailure::failed)?;
    policy::enforce(job, target, &model, dir)?;
    job.log.system(&format!("services: {}", plan.services.iter().cloned().collect::<Vec<_>>().join(", ")));
    let build_tags = policy::build_tags(&model);
    Ok(Prepared { compose, plan, build_tags, _env_file: env_file })
}

async fn up_and_wait(svc: &DeployServices, job: &JobContext, prepared: &Prepared) -> Result<Vec<DeployedService>, JobFailure> {
    job.log.clear_tail();
    job.run(&prepared.compose.spec(&["up", "--build", "--detach", "--remove-orphans"]))
        .await
        .map_err(|e| context_with_tail(e, job, "compose up failed"))?;
    ready::wait(job, &svc.docker, &prepared.compose.project, &prepared.plan.services).await
}

/// Asks for the project's route when it has a subdomain: the first TCP port published on the
/// host (services in name order), as `http://localhost:<port>`.
async fn request_route(svc: &DeployServices, job: &JobContext, id: Uuid, services: &[DeployedService]) {
    let Ok(project) = svc.project(id).await else { return };
    if project.subdomain.is_none() {
        return;
    }
    let port = services.iter().flat_map(|s| &s.ports).find(|p| p.protocol == "tcp").map(|p| p.host_port);
    match port {
        Some(port) => {
            let command = ProjectCommand::RequestRoute { service_url: format!("http://localhost:{port}") };
            if svc.record(job, id, command).await.is_ok() {
                job.log.system(&format!("route requested: service http://localhost:{port}"));
            }
        }
        None => job.log.system("no TCP port is published on the host: no route requested"),
    }
}

#[cfg(test)]
mod tests {
    use super::split_reference;

    #[test]
    fn image_references_split_into_repository_and_tag() {
        assert_eq!(split_reference("warp-shop-0a1b2c3d_web"), ("warp-shop-0a1b2c3d_web", "latest"));
        assert_eq!(split_reference("shop/web:1.2"), ("shop/web", "1.2"));
        assert_eq!(split_reference("registry:5000/shop/web"), ("registry:5000/shop/web", "latest"));
        assert_eq!(split_reference("registry:5000/shop/web:v2"), ("registry:5000/shop/web", "v2"));
    }
}

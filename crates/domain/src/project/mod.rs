//! The `Project` aggregate: a named unit the panel deploys and publishes.
//!
//! Life cycle: created → (updated)* → archived. Commands on an archived project are refused,
//! except the reports of workers (a deploy that finished is a fact whatever happened since).
//!
//! Kinds: a plain project (`Create`), a compose project (`CreateDeployable`: source, compose
//! file, compose project name, deploy env), a quick service (`CreateQuickService`), and a
//! project created from a GitHub template (`CreateFromTemplate`), which becomes a compose
//! project once its job reports the repository created (`RecordRepoCreated`).

mod command;
mod error;

use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use warp_events::project::{ComposeRule, DeployAction, ProjectSource, QuickServiceTarget};
use warp_events::ProjectEvent;

use crate::bounded;

pub use command::{ProjectCommand, SourceChange};
pub use error::ProjectError;

/// State of one project, rebuilt from its events.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Project {
    /// Number of events applied so far (the aggregate version; 0 before creation).
    pub version: u64,
    pub created: bool,
    pub archived: bool,
    pub name: String,
    pub description: Option<String>,
    pub subdomain: Option<String>,
    /// Set for compose projects.
    pub deployment: Option<DeploymentConfig>,
    /// Set for quick services.
    pub quick_service: Option<QuickServiceTarget>,
    /// Deploy env: variable name → fingerprint of its stored value.
    pub env: BTreeMap<String, String>,
    /// The commit of the last successful deploy (git sources): what a failed deploy rolls
    /// back to.
    pub last_good_commit: Option<String>,
    /// Whether any deploy succeeded yet.
    pub deployed: bool,
    /// The containers of the last successful deploy (their image ids): what a failed deploy of
    /// a folder source rolls back to.
    pub last_good_services: Vec<warp_events::project::DeployedService>,
    /// The job of the last successful deploy.
    pub last_good_job: Option<uuid::Uuid>,
    /// Jobs requested on the project (`DeploymentRequested`) whose outcome is not recorded yet.
    pub pending_jobs: std::collections::BTreeSet<uuid::Uuid>,
    /// Compose policy rules an admin lifted for this project.
    pub compose_exceptions: std::collections::BTreeSet<ComposeRule>,
    /// The route the project asks for (`RouteRequested`), until it is withdrawn, the project
    /// is removed (`compose down`) or archived. A stopped container keeps it.
    pub route: Option<WantedRoute>,
    /// Hostnames published for this project and not unpublished yet, with the time each is
    /// due to be unpublished when one is scheduled.
    pub published: BTreeMap<String, Option<chrono::DateTime<chrono::Utc>>>,
    /// The repository creation asked for (`RepoCreationRequested`), until its job succeeds
    /// (`RepoCloned`) or fails.
    pub repo_request: Option<RepoRequest>,
    /// The GitHub repository the panel created for this project (`owner/name`).
    pub created_repo: Option<String>,
    /// The webhook the panel last made sure of on the project's GitHub repository.
    #[serde(default)]
    pub webhook: Option<EnsuredWebhook>,
}

/// A pending repository creation: what `RepoCreationRequested` asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoRequest {
    pub job_id: uuid::Uuid,
    pub template: String,
    pub owner: Option<String>,
    pub name: String,
    pub private: bool,
    /// Queue the first deploy once the repository is cloned.
    pub deploy: bool,
    pub compose_project: String,
}

/// The panel's webhook on a project's repository, as the last `GithubWebhookEnsured` said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnsuredWebhook {
    pub repo: String,
    pub hook_id: u64,
    pub url: String,
    /// Fingerprint of the webhook secret the hook was given.
    pub secret_fingerprint: String,
}

/// A route a project asks for: `<subdomain>.<base domain>` → `service_url`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WantedRoute {
    pub service_url: String,
}

/// How a compose project is deployed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentConfig {
    pub source: ProjectSource,
    /// Relative to the checkout; `None`: compose's default names.
    pub compose_file: Option<String>,
    /// `-p` of every compose command.
    pub compose_project: String,
}

impl Project {
    fn check_created(&self) -> Result<(), ProjectError> {
        if self.created {
            Ok(())
        } else {
            Err(ProjectError::NotFound)
        }
    }

    /// The pending repository creation, when job `job_id` carries it out.
    fn pending_repo(&self, job_id: uuid::Uuid) -> Result<RepoRequest, ProjectError> {
        self.repo_request.clone().filter(|r| r.job_id == job_id).ok_or(ProjectError::NotCreatingRepo(job_id))
    }

    fn check_writable(&self, expected_version: Option<u64>) -> Result<(), ProjectError> {
        if !self.created {
            return Err(ProjectError::NotFound);
        }
        if self.archived {
            return Err(ProjectError::Archived);
        }
        match expected_version {
            Some(expected) if expected != self.version => {
                Err(ProjectError::VersionMismatch { expected, actual: self.version })
            }
            _ => Ok(()),
        }
    }
}

impl Aggregate for Project {
    const TYPE: &'static str = warp_events::project::AGGREGATE_TYPE;
    type Command = ProjectCommand;
    type Event = ProjectEvent;
    type Error = ProjectError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        match command {
            ProjectCommand::Create { name, description, subdomain } => {
                if self.created {
                    return Err(ProjectError::AlreadyExists);
                }
                let event = ProjectEvent::ProjectCreated {
                    name: name.into(),
                    description: description.map(Into::into),
                    subdomain: subdomain.map(Into::into),
                };
                sink.write(event, self).await;
            }
            ProjectCommand::Update { name, description, subdomain, deployment, expected_version } => {
                self.check_writable(expected_version)?;
                let reconfigured = match deployment {
                    None => None,
                    Some(change) => {
                        let Some(current) = self.deployment.clone() else { return Err(ProjectError::NotDeployable) };
                        let source = change.source.unwrap_or(current.source.clone());
                        let compose_file = change.compose_file.map_or(current.compose_file.clone(), |f| f.map(Into::into));
                        (source != current.source || compose_file != current.compose_file).then_some(
                            ProjectEvent::DeploymentConfigured { source, compose_file, compose_project: current.compose_project },
                        )
                    }
                };
                if let Some(name) = name.filter(|n| n.as_str() != self.name) {
                    let from = self.name.clone();
                    sink.write(ProjectEvent::ProjectRenamed { from, to: name.into() }, self).await;
                }
                let description = description.map_or(self.description.clone(), |d| d.map(Into::into));
                let subdomain = subdomain.map_or(self.subdomain.clone(), |s| s.map(Into::into));
                if description != self.description || subdomain != self.subdomain {
                    let event = ProjectEvent::ProjectSettingsUpdated { description, subdomain };
                    sink.write(event, self).await;
                }
                if let Some(event) = reconfigured {
                    sink.write(event, self).await;
                }
            }
            ProjectCommand::Archive { expected_version } => {
                self.check_writable(expected_version)?;
                sink.write(ProjectEvent::ProjectArchived {}, self).await;
            }
            ProjectCommand::CreateDeployable { name, subdomain, source, compose_file, compose_project, env } => {
                if self.created {
                    return Err(ProjectError::AlreadyExists);
                }
                let created =
                    ProjectEvent::ProjectCreated { name: name.into(), description: None, subdomain: subdomain.map(Into::into) };
                sink.write(created, self).await;
                let configured = ProjectEvent::DeploymentConfigured {
                    source,
                    compose_file: compose_file.map(Into::into),
                    compose_project: compose_project.into(),
                };
                sink.write(configured, self).await;
                if !env.is_empty() {
                    let vars = env.into_iter().map(|(k, v)| (k.into(), v)).collect();
                    sink.write(ProjectEvent::DeployEnvChanged { vars }, self).await;
                }
            }
            ProjectCommand::CreateQuickService { name, subdomain, target } => {
                if self.created {
                    return Err(ProjectError::AlreadyExists);
                }
                let created = ProjectEvent::ProjectCreated {
                    name: name.into(),
                    description: None,
                    subdomain: Some(subdomain.into()),
                };
                sink.write(created, self).await;
                sink.write(ProjectEvent::QuickServiceConfigured { target }, self).await;
            }
            ProjectCommand::SetDeployEnv { env } => {
                self.check_writable(None)?;
                if self.deployment.is_none() {
                    return Err(ProjectError::NotDeployable);
                }
                let vars: BTreeMap<String, String> = env.into_iter().map(|(k, v)| (k.into(), v)).collect();
                if vars != self.env {
                    sink.write(ProjectEvent::DeployEnvChanged { vars }, self).await;
                }
            }
            ProjectCommand::RequestDeployment { job_id, action } => {
                self.check_writable(None)?;
                if self.deployment.is_none() {
                    return Err(ProjectError::NotDeployable);
                }
                if !self.pending_jobs.contains(&job_id) {
                    sink.write(ProjectEvent::DeploymentRequested { job_id, action }, self).await;
                }
            }
            ProjectCommand::RecordDeploymentSucceeded { job_id, commit, services } => {
                self.check_created()?;
                let (commit, services) = (bounded::short_opt(commit), bounded::services(services));
                sink.write(ProjectEvent::DeploymentSucceeded { job_id, commit, services }, self).await;
            }
            ProjectCommand::RecordDeploymentFailed { job_id, message, containers_changed, rolled_back_to } => {
                self.check_created()?;
                let (message, rolled_back_to) = (bounded::message(&message), bounded::short_opt(rolled_back_to));
                let event = ProjectEvent::DeploymentFailed { job_id, message, containers_changed, rolled_back_to };
                sink.write(event, self).await;
            }
            ProjectCommand::RecordLifecycle { job_id, action, services } => {
                self.check_created()?;
                let event = match action {
                    DeployAction::Stop => ProjectEvent::ProjectStopped { job_id, services: Some(bounded::services(services)) },
                    DeployAction::Start => ProjectEvent::ProjectStarted { job_id, services: Some(bounded::services(services)) },
                    DeployAction::Remove => ProjectEvent::ProjectRemoved { job_id, volumes_removed: false },
                    DeployAction::RemoveWithVolumes => ProjectEvent::ProjectRemoved { job_id, volumes_removed: true },
                    DeployAction::Deploy => return Err(ProjectError::NotDeployable),
                };
                sink.write(event, self).await;
            }
            ProjectCommand::RecordJobEnded { job_id, message } => {
                self.check_created()?;
                // Only a requested job whose worker reported nothing needs a record; a job that
                // reported its outcome (or any other job) changes nothing.
                if self.repo_request.as_ref().is_some_and(|r| r.job_id == job_id) {
                    let message = bounded::message(&message);
                    let event = ProjectEvent::RepoCreationFailed { job_id, message, repo_left: self.created_repo.clone() };
                    sink.write(event, self).await;
                } else if self.pending_jobs.contains(&job_id) {
                    let message = bounded::message(&message);
                    let event = ProjectEvent::DeploymentFailed { job_id, message, containers_changed: true, rolled_back_to: None };
                    sink.write(event, self).await;
                }
            }
            ProjectCommand::SetComposeExceptions { allowed } => {
                self.check_writable(None)?;
                if self.deployment.is_none() {
                    return Err(ProjectError::NotDeployable);
                }
                if allowed != self.compose_exceptions {
                    let event = ProjectEvent::ComposePolicyExceptionsSet { allowed: allowed.into_iter().collect() };
                    sink.write(event, self).await;
                }
            }
            ProjectCommand::RequestRoute { service_url } => {
                self.check_writable(None)?;
                let Some(subdomain) = self.subdomain.clone() else {
                    return Err(ProjectError::NoSubdomain);
                };
                sink.write(ProjectEvent::RouteRequested { subdomain, service_url: bounded::short(&service_url) }, self).await;
            }
            ProjectCommand::WithdrawRoute => {
                self.check_writable(None)?;
                if self.route.is_some() {
                    sink.write(ProjectEvent::RouteWithdrawn {}, self).await;
                }
            }
            ProjectCommand::RecordRoutePublished { job_id, hostname, service_url } => {
                self.check_created()?;
                sink.write(ProjectEvent::RoutePublished { job_id, hostname, service_url }, self).await;
            }
            ProjectCommand::RecordRoutePublishFailed { job_id, hostname, message } => {
                self.check_created()?;
                let message = bounded::message(&message);
                sink.write(ProjectEvent::RoutePublishFailed { job_id, hostname, message }, self).await;
            }
            ProjectCommand::ScheduleRouteUnpublish { hostname, at } => {
                self.check_created()?;
                if !self.published.get(&hostname).is_some_and(|due| due.is_some()) {
                    sink.write(ProjectEvent::RouteUnpublishScheduled { hostname, at }, self).await;
                }
            }
            ProjectCommand::RecordRouteUnpublished { job_id, hostname } => {
                self.check_created()?;
                if self.published.contains_key(&hostname) {
                    sink.write(ProjectEvent::RouteUnpublished { job_id, hostname }, self).await;
                }
            }
            ProjectCommand::CreateFromTemplate {
                name,
                subdomain,
                template,
                owner,
                repo_name,
                private,
                deploy,
                compose_project,
                env,
                job_id,
            } => {
                if self.created {
                    return Err(ProjectError::AlreadyExists);
                }
                let created = ProjectEvent::ProjectCreated { name: name.into(), description: None, subdomain: subdomain.map(Into::into) };
                sink.write(created, self).await;
                let requested = ProjectEvent::RepoCreationRequested {
                    job_id,
                    template: template.into(),
                    owner: owner.map(Into::into),
                    name: repo_name.into(),
                    private,
                    deploy,
                    compose_project: compose_project.into(),
                };
                sink.write(requested, self).await;
                if !env.is_empty() {
                    let vars = env.into_iter().map(|(k, v)| (k.into(), v)).collect();
                    sink.write(ProjectEvent::DeployEnvChanged { vars }, self).await;
                }
            }
            ProjectCommand::RecordRepoCreated { job_id, repo, html_url, default_branch } => {
                self.check_created()?;
                let request = self.pending_repo(job_id)?;
                if self.created_repo.as_deref() == Some(repo.as_str()) {
                    return Ok(());
                }
                let repo: String = repo.into();
                let (html_url, git_ref) = (bounded::short(&html_url), bounded::short(&default_branch));
                let event = ProjectEvent::RepoCreated { job_id, repo: repo.clone(), html_url, default_branch: git_ref.clone() };
                sink.write(event, self).await;
                let configured = ProjectEvent::DeploymentConfigured {
                    source: ProjectSource::Github { repo, git_ref },
                    compose_file: None,
                    compose_project: request.compose_project,
                };
                sink.write(configured, self).await;
            }
            ProjectCommand::RecordRepoCloned { job_id, commit } => {
                self.check_created()?;
                self.pending_repo(job_id)?;
                sink.write(ProjectEvent::RepoCloned { job_id, commit: bounded::short(&commit) }, self).await;
            }
            ProjectCommand::RecordRepoCreationFailed { job_id, message } => {
                self.check_created()?;
                self.pending_repo(job_id)?;
                let event =
                    ProjectEvent::RepoCreationFailed { job_id, message: bounded::message(&message), repo_left: self.created_repo.clone() };
                sink.write(event, self).await;
            }
            ProjectCommand::RecordWebhookEnsured { job_id, repo, hook_id, url, change, secret_fingerprint } => {
                self.check_created()?;
                let (repo, url, secret_fingerprint) = (bounded::short(&repo), bounded::short(&url), bounded::short(&secret_fingerprint));
                let event = ProjectEvent::GithubWebhookEnsured { job_id, repo, hook_id, url, change, secret_fingerprint };
                sink.write(event, self).await;
            }
            ProjectCommand::RecordWebhookFailed { job_id, repo, message } => {
                self.check_created()?;
                let (repo, message) = (bounded::short(&repo), bounded::message(&message));
                sink.write(ProjectEvent::GithubWebhookFailed { job_id, repo, message }, self).await;
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        self.version += 1;
        match event {
            ProjectEvent::ProjectCreated { name, description, subdomain } => {
                self.created = true;
                self.name = name;
                self.description = description;
                self.subdomain = subdomain;
            }
            ProjectEvent::ProjectRenamed { to, .. } => self.name = to,
            ProjectEvent::ProjectSettingsUpdated { description, subdomain } => {
                self.description = description;
                self.subdomain = subdomain;
            }
            ProjectEvent::ProjectArchived {} => {
                self.archived = true;
                self.route = None;
            }
            ProjectEvent::DeploymentConfigured { source, compose_file, compose_project } => {
                self.deployment = Some(DeploymentConfig { source, compose_file, compose_project });
            }
            ProjectEvent::QuickServiceConfigured { target } => self.quick_service = Some(target),
            ProjectEvent::DeployEnvChanged { vars } => self.env = vars,
            ProjectEvent::DeploymentRequested { job_id, .. } => {
                self.pending_jobs.insert(job_id);
            }
            ProjectEvent::DeploymentSucceeded { job_id, commit, services } => {
                self.pending_jobs.remove(&job_id);
                self.deployed = true;
                self.last_good_services = services;
                self.last_good_job = Some(job_id);
                if commit.is_some() {
                    self.last_good_commit = commit;
                }
            }
            ProjectEvent::DeploymentFailed { job_id, .. }
            | ProjectEvent::ProjectStopped { job_id, .. }
            | ProjectEvent::ProjectStarted { job_id, .. } => {
                self.pending_jobs.remove(&job_id);
            }
            ProjectEvent::ComposePolicyExceptionsSet { allowed } => self.compose_exceptions = allowed.into_iter().collect(),
            ProjectEvent::RoutePublishFailed { .. } => {}
            ProjectEvent::ProjectRemoved { job_id, .. } => {
                self.pending_jobs.remove(&job_id);
                self.deployed = false;
                self.last_good_services.clear();
                self.route = None;
            }
            ProjectEvent::RouteRequested { service_url, .. } => self.route = Some(WantedRoute { service_url }),
            ProjectEvent::RouteWithdrawn {} => self.route = None,
            ProjectEvent::RoutePublished { hostname, .. } => {
                self.published.insert(hostname, None);
            }
            ProjectEvent::RouteUnpublishScheduled { hostname, at } => {
                self.published.insert(hostname, Some(at));
            }
            ProjectEvent::RouteUnpublished { hostname, .. } => {
                self.published.remove(&hostname);
            }
            ProjectEvent::RepoCreationRequested { job_id, template, owner, name, private, deploy, compose_project } => {
                self.repo_request = Some(RepoRequest { job_id, template, owner, name, private, deploy, compose_project });
            }
            ProjectEvent::RepoCreated { repo, .. } => self.created_repo = Some(repo),
            ProjectEvent::RepoCloned { .. } | ProjectEvent::RepoCreationFailed { .. } => self.repo_request = None,
            ProjectEvent::GithubWebhookEnsured { repo, hook_id, url, secret_fingerprint, .. } => {
                self.webhook = Some(EnsuredWebhook { repo, hook_id, url, secret_fingerprint });
            }
            ProjectEvent::GithubWebhookFailed { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests;

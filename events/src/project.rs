//! Events of the `Project` aggregate (aggregate type `project`, id a UUID).

use cqrs_es::DomainEvent;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

use crate::docker::PublishedPort;

/// Aggregate type under which project events are stored and published.
pub const AGGREGATE_TYPE: &str = "project";

/// Every fact about a project. Serialised externally tagged:
/// `{"ProjectCreated":{"name":"shop","description":null,"subdomain":"shop"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ProjectEvent {
    /// A project was created. `name` is the validated display name (1-64 characters);
    /// `subdomain` an RFC 1123 label or `null`.
    ProjectCreated {
        name: String,
        description: Option<String>,
        subdomain: Option<String>,
    },
    /// The project's display name changed from `from` to `to`.
    ProjectRenamed { from: String, to: String },
    /// The project's settings now are exactly these values (`null` clears one).
    ProjectSettingsUpdated {
        description: Option<String>,
        subdomain: Option<String>,
    },
    /// The project was archived: it accepts no further changes.
    ProjectArchived {},
    /// The project deploys a compose project: its code comes from `source`, compose reads
    /// `compose_file` (relative to the checkout; `null`: compose's default names), and every
    /// compose command runs with `-p <compose_project>`.
    DeploymentConfigured {
        source: ProjectSource,
        compose_file: Option<String>,
        compose_project: String,
    },
    /// The project exposes something that already runs (no compose, no build).
    QuickServiceConfigured { target: QuickServiceTarget },
    /// The deploy env is now exactly these variables: name → fingerprint (8 hex digits of an
    /// HMAC of the value). Values live encrypted in `project_env_secrets`, never in events.
    DeployEnvChanged { vars: BTreeMap<String, String> },
    /// A user asked for `action`; job `job_id` carries it out.
    DeploymentRequested { job_id: Uuid, action: DeployAction },
    /// Job `job_id` deployed the project: every service runs (and is healthy where it has a
    /// healthcheck). `commit` is the git commit deployed (`null` for folder sources).
    DeploymentSucceeded {
        job_id: Uuid,
        commit: Option<String>,
        services: Vec<DeployedService>,
    },
    /// Job `job_id` failed. `containers_changed` is false when it stopped before compose
    /// touched any container (fetch, compose file, config, port check): whatever ran before
    /// still runs. `rolled_back_to` names the commit that serves again when the previous good
    /// revision was restored; `null` when nothing was rolled back.
    DeploymentFailed {
        job_id: Uuid,
        message: String,
        containers_changed: bool,
        rolled_back_to: Option<String>,
    },
    /// Job `job_id` stopped the project's containers (`compose stop`). `services`: the
    /// containers as the engine showed them afterwards (absent in events before 2026-12-02).
    ProjectStopped {
        job_id: Uuid,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        services: Option<Vec<DeployedService>>,
    },
    /// Job `job_id` started the project's stopped containers (`compose start`). `services` as
    /// in `ProjectStopped`.
    ProjectStarted {
        job_id: Uuid,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        services: Option<Vec<DeployedService>>,
    },
    /// An admin lifted the compose policy rules `allowed` for this project (replacing any
    /// earlier exceptions; empty: the default policy again).
    ComposePolicyExceptionsSet { allowed: Vec<ComposeRule> },
    /// Job `job_id` removed the project's containers and networks (`compose down`), and its
    /// named volumes when `volumes_removed`.
    ProjectRemoved { job_id: Uuid, volumes_removed: bool },
    /// The project should be reachable at `<subdomain>.<base domain>`, served by
    /// `service_url` (e.g. `http://localhost:8080`) as seen from the Docker host. Consumed by
    /// the Cloudflare service (DNS record and tunnel ingress rule).
    RouteRequested { subdomain: String, service_url: String },
    /// A user withdrew the project's route (`DELETE /api/projects/{id}/route`): it is
    /// unpublished after the grace period.
    RouteWithdrawn {},
    /// Job `job_id` published `hostname` (normal form, see `warp_domain::validate::hostname`):
    /// its DNS record points at the tunnel and the tunnel's ingress sends it to `service_url`.
    RoutePublished { job_id: Uuid, hostname: String, service_url: String },
    /// Job `job_id` could not publish the route; `hostname` is `null` when it could not be
    /// formed (no base domain). `message` says why (redacted).
    RoutePublishFailed { job_id: Uuid, hostname: Option<String>, message: String },
    /// `hostname` will be unpublished at `at` (after the grace period) unless it is requested
    /// again before then.
    RouteUnpublishScheduled { hostname: String, at: chrono::DateTime<chrono::Utc> },
    /// Job `job_id` removed the DNS record and ingress rule of `hostname` that the panel had
    /// created for this project.
    RouteUnpublished { job_id: Uuid, hostname: String },
    /// A user asked for the project's code to come from a new GitHub repository `name`, owned
    /// by `owner` (`null`: the user the panel's token belongs to), generated from the
    /// allowlisted template `template` (`owner/name`), private or public. Job `job_id`
    /// (`create_from_template`, run by the github service) creates and clones it, and queues
    /// the first deploy when `deploy`. Every compose command will run with `-p
    /// <compose_project>`.
    RepoCreationRequested {
        job_id: Uuid,
        template: String,
        owner: Option<String>,
        name: String,
        private: bool,
        deploy: bool,
        compose_project: String,
    },
    /// Job `job_id` created the GitHub repository `repo` (`owner/name`, as GitHub names it),
    /// shown at `html_url`, whose default branch is `default_branch`. Followed by
    /// `DeploymentConfigured` with source `{"github":{"repo":…,"ref":<default_branch>}}`.
    RepoCreated { job_id: Uuid, repo: String, html_url: String, default_branch: String },
    /// Job `job_id` cloned the repository at `commit` into the project's workspace.
    RepoCloned { job_id: Uuid, commit: String },
    /// Job `job_id` could not create or clone the project's repository: `message` says why
    /// (redacted). `repo_left` names the repository the job had already created: it stays on
    /// GitHub (the panel never deletes a repository); `null` when none was created.
    RepoCreationFailed { job_id: Uuid, message: String, repo_left: Option<String> },
    /// Job `job_id` made sure the project's GitHub repository `repo` (`owner/name`) has a
    /// webhook sending `push` events to `url` (`<public_url>/hooks/github`), signed with the
    /// webhook secret whose fingerprint is `secret_fingerprint`: hook `hook_id` was
    /// `change`d.
    GithubWebhookEnsured {
        job_id: Uuid,
        repo: String,
        hook_id: u64,
        url: String,
        change: crate::github_delivery::WebhookChange,
        secret_fingerprint: String,
    },
    /// Job `job_id` could not make sure `repo` has the panel's webhook; `message` says why
    /// (e.g. the token has no admin rights on the repository).
    GithubWebhookFailed { job_id: Uuid, repo: String, message: String },
}

/// Where a compose project's code comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProjectSource {
    /// A git repository (`https://` or `ssh://`/scp-like URL) at a branch or tag.
    Git {
        url: String,
        #[serde(rename = "ref")]
        git_ref: String,
    },
    /// A folder, relative to the workspaces root setting.
    Folder { path: String },
    /// A GitHub repository (`owner/name`, GitHub's rules, see
    /// `warp_domain::validate::RepoSlug`) at a branch or tag, cloned from
    /// `<github_web_url>/<owner>/<name>.git` with the panel's `github_token` when one is set
    /// (private repositories). `{"github":{"repo":"octo/shop","ref":"main"}}`.
    Github {
        repo: String,
        #[serde(rename = "ref")]
        git_ref: String,
    },
}

/// What a quick-service project exposes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QuickServiceTarget {
    /// A running container (name or full id) and the container port it serves on.
    Container { container: String, target_port: u16 },
    /// A process listening on this port of the Docker host.
    HostPort { host_port: u16 },
}

/// A rule of the compose policy that an admin may lift for one project (see the docker
/// service's `jobs/steps/policy.rs` for what each refuses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ComposeRule {
    /// `privileged: true`.
    Privileged,
    /// Capabilities beyond Docker's defaults.
    CapAdd,
    /// Host devices.
    Devices,
    /// Host (or another project's) network, pid, ipc, uts, user or cgroup namespace.
    HostNamespaces,
    /// Security options that turn confinement off.
    SecurityOpt,
    /// Bind mounts outside the project's folder.
    BindMounts,
    /// Bind mounts of a unix socket (the Docker socket).
    DockerSocket,
    /// Build contexts or Dockerfiles outside the project's folder.
    BuildContext,
    /// Building an image tag that exists on the host and is not this project's.
    ImageTags,
}

impl ComposeRule {
    /// Every rule.
    pub const ALL: [ComposeRule; 9] = [
        ComposeRule::Privileged,
        ComposeRule::CapAdd,
        ComposeRule::Devices,
        ComposeRule::HostNamespaces,
        ComposeRule::SecurityOpt,
        ComposeRule::BindMounts,
        ComposeRule::DockerSocket,
        ComposeRule::BuildContext,
        ComposeRule::ImageTags,
    ];

    /// The snake_case name, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ComposeRule::Privileged => "privileged",
            ComposeRule::CapAdd => "cap_add",
            ComposeRule::Devices => "devices",
            ComposeRule::HostNamespaces => "host_namespaces",
            ComposeRule::SecurityOpt => "security_opt",
            ComposeRule::BindMounts => "bind_mounts",
            ComposeRule::DockerSocket => "docker_socket",
            ComposeRule::BuildContext => "build_context",
            ComposeRule::ImageTags => "image_tags",
        }
    }
}

/// What a deploy job does to a compose project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeployAction {
    /// Fetch the source and `compose up --build -d`.
    Deploy,
    /// `compose stop`.
    Stop,
    /// `compose start`.
    Start,
    /// `compose down` (keeping named volumes).
    Remove,
    /// `compose down --volumes`.
    RemoveWithVolumes,
}

impl DeployAction {
    /// The input of the job that carries `self` out on project `project_id`.
    pub fn job_input(self, project_id: Uuid) -> crate::JobInput {
        use crate::job::{DeployInput, RemoveInput, StartInput, StopInput};
        match self {
            DeployAction::Deploy => DeployInput { project_id }.into(),
            DeployAction::Stop => StopInput { project_id }.into(),
            DeployAction::Start => StartInput { project_id }.into(),
            DeployAction::Remove => RemoveInput { project_id, volumes: false }.into(),
            DeployAction::RemoveWithVolumes => RemoveInput { project_id, volumes: true }.into(),
        }
    }
}

/// One container of a deployed compose service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, utoipa::ToSchema)]
pub struct DeployedService {
    /// Compose service name.
    pub service: String,
    /// Full 64-hex container id.
    pub container_id: String,
    pub container_name: String,
    /// Image reference and the image id (`sha256:…`) it resolved to.
    pub image: String,
    pub image_id: String,
    /// Engine state (`running`) and health (`healthy`, or `null` without a healthcheck).
    pub state: String,
    pub health: Option<String>,
    /// Ports published on the host.
    pub ports: Vec<PublishedPort>,
}

impl ProjectEvent {
    /// Event type names, as stored in `events.event_type`, one per variant.
    pub const TYPES: [&'static str; 26] = [
        "ProjectCreated",
        "ProjectRenamed",
        "ProjectSettingsUpdated",
        "ProjectArchived",
        "DeploymentConfigured",
        "QuickServiceConfigured",
        "DeployEnvChanged",
        "DeploymentRequested",
        "DeploymentSucceeded",
        "DeploymentFailed",
        "ProjectStopped",
        "ProjectStarted",
        "ProjectRemoved",
        "RouteRequested",
        "ComposePolicyExceptionsSet",
        "RouteWithdrawn",
        "RoutePublished",
        "RoutePublishFailed",
        "RouteUnpublishScheduled",
        "RouteUnpublished",
        "RepoCreationRequested",
        "RepoCreated",
        "RepoCloned",
        "RepoCreationFailed",
        "GithubWebhookEnsured",
        "GithubWebhookFailed",
    ];
}

impl DomainEvent for ProjectEvent {
    fn event_type(&self) -> String {
        let name = match self {
            ProjectEvent::ProjectCreated { .. } => "ProjectCreated",
            ProjectEvent::ProjectRenamed { .. } => "ProjectRenamed",
            ProjectEvent::ProjectSettingsUpdated { .. } => "ProjectSettingsUpdated",
            ProjectEvent::ProjectArchived {} => "ProjectArchived",
            ProjectEvent::DeploymentConfigured { .. } => "DeploymentConfigured",
            ProjectEvent::QuickServiceConfigured { .. } => "QuickServiceConfigured",
            ProjectEvent::DeployEnvChanged { .. } => "DeployEnvChanged",
            ProjectEvent::DeploymentRequested { .. } => "DeploymentRequested",
            ProjectEvent::DeploymentSucceeded { .. } => "DeploymentSucceeded",
            ProjectEvent::DeploymentFailed { .. } => "DeploymentFailed",
            ProjectEvent::ProjectStopped { .. } => "ProjectStopped",
            ProjectEvent::ProjectStarted { .. } => "ProjectStarted",
            ProjectEvent::ProjectRemoved { .. } => "ProjectRemoved",
            ProjectEvent::RouteRequested { .. } => "RouteRequested",
            ProjectEvent::ComposePolicyExceptionsSet { .. } => "ComposePolicyExceptionsSet",
            ProjectEvent::RouteWithdrawn {} => "RouteWithdrawn",
            ProjectEvent::RoutePublished { .. } => "RoutePublished",
            ProjectEvent::RoutePublishFailed { .. } => "RoutePublishFailed",
            ProjectEvent::RouteUnpublishScheduled { .. } => "RouteUnpublishScheduled",
            ProjectEvent::RouteUnpublished { .. } => "RouteUnpublished",
            ProjectEvent::RepoCreationRequested { .. } => "RepoCreationRequested",
            ProjectEvent::RepoCreated { .. } => "RepoCreated",
            ProjectEvent::RepoCloned { .. } => "RepoCloned",
            ProjectEvent::RepoCreationFailed { .. } => "RepoCreationFailed",
            ProjectEvent::GithubWebhookEnsured { .. } => "GithubWebhookEnsured",
            ProjectEvent::GithubWebhookFailed { .. } => "GithubWebhookFailed",
        };
        name.to_owned()
    }

    fn event_version(&self) -> String {
        "1.0".to_owned()
    }
}

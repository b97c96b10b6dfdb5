//! Commands accepted by the `Project` aggregate. Every field is already validated.

use std::collections::BTreeMap;

use uuid::Uuid;
use warp_events::project::{DeployAction, DeployedService, ProjectSource, QuickServiceTarget};

use crate::validate::{
    ComposeProjectName, Description, EnvVarName, GithubLogin, ProjectName, RelativePath, RepoName, RepoSlug, Subdomain,
};

/// A change to a compose project's source or compose file: `None` leaves each as it is;
/// `compose_file: Some(None)` goes back to compose's default names.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SourceChange {
    pub source: Option<ProjectSource>,
    pub compose_file: Option<Option<RelativePath>>,
}

/// What a caller may ask of a project.
///
/// `expected_version` (from an HTTP `If-Match`) makes a command fail with
/// [`super::ProjectError::VersionMismatch`] when the project changed since the caller read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProjectCommand {
    /// Create the project. Refused if this id already holds one.
    Create {
        name: ProjectName,
        description: Option<Description>,
        subdomain: Option<Subdomain>,
    },
    /// Rename and/or change settings in one step. `None` leaves a field as it is; for the
    /// optional settings `Some(None)` clears the value. Unchanged values emit no event.
    Update {
        name: Option<ProjectName>,
        description: Option<Option<Description>>,
        subdomain: Option<Option<Subdomain>>,
        /// A compose project's new source and/or compose file; refused for other projects.
        deployment: Option<SourceChange>,
        expected_version: Option<u64>,
    },
    /// Archive the project; it then refuses every further command.
    Archive { expected_version: Option<u64> },
    /// Create a project that deploys a compose project (`POST /api/projects/deploy-existing`).
    /// `source` is already validated (git URL and ref, or a folder under the workspaces root);
    /// `env` maps each deploy env variable to the fingerprint of its stored value.
    CreateDeployable {
        name: ProjectName,
        subdomain: Option<Subdomain>,
        source: ProjectSource,
        compose_file: Option<RelativePath>,
        compose_project: ComposeProjectName,
        env: BTreeMap<EnvVarName, String>,
    },
    /// Create a project that exposes a running container or host port.
    CreateQuickService { name: ProjectName, subdomain: Subdomain, target: QuickServiceTarget },
    /// Replace the deploy env (name → fingerprint). Unchanged env records nothing.
    SetDeployEnv { env: BTreeMap<EnvVarName, String> },
    /// Ask for a deploy action, carried out by job `job_id`. Only compose projects deploy. A
    /// request for a job the project already waits on records nothing (a handler that sees
    /// its event again asks again with the same job id).
    RequestDeployment { job_id: Uuid, action: DeployAction },
    /// A worker reports job `job_id` deployed `commit` with `services` running.
    RecordDeploymentSucceeded { job_id: Uuid, commit: Option<String>, services: Vec<DeployedService> },
    /// A worker reports job `job_id` failed, whether compose touched containers, and which
    /// commit serves again if it rolled back.
    RecordDeploymentFailed { job_id: Uuid, message: String, containers_changed: bool, rolled_back_to: Option<String> },
    /// A worker reports job `job_id` ran `compose stop`, `start` or `down`; `services` are the
    /// containers as the engine showed them afterwards.
    RecordLifecycle { job_id: Uuid, action: DeployAction, services: Vec<DeployedService> },
    /// Job `job_id` ended (failed, timed out, cancelled) with `message`. When it is a job the
    /// project requested and its worker recorded no outcome (it died, or was cancelled before it
    /// started), the project records it as a failed deploy; otherwise nothing is recorded.
    RecordJobEnded { job_id: Uuid, message: String },
    /// An admin lifts the compose policy rules `allowed` for this compose project (replacing
    /// earlier exceptions). Refused on a project that is not a compose project.
    SetComposeExceptions { allowed: std::collections::BTreeSet<warp_events::project::ComposeRule> },
    /// Ask for the project's route (`<subdomain>.<base domain>` → `service_url`). Refused
    /// without a subdomain.
    RequestRoute { service_url: String },
    /// Withdraw the project's route (it is unpublished after the grace period). Nothing is
    /// recorded when the project asks for no route.
    WithdrawRoute,
    /// The cloudflare service reports job `job_id` published `hostname` → `service_url`.
    RecordRoutePublished { job_id: Uuid, hostname: String, service_url: String },
    /// The cloudflare service reports job `job_id` could not publish the route.
    RecordRoutePublishFailed { job_id: Uuid, hostname: Option<String>, message: String },
    /// The cloudflare service will unpublish `hostname` at `at`. Nothing is recorded when
    /// that hostname is already scheduled.
    ScheduleRouteUnpublish { hostname: String, at: chrono::DateTime<chrono::Utc> },
    /// The cloudflare service reports job `job_id` unpublished `hostname`.
    RecordRouteUnpublished { job_id: Uuid, hostname: String },
    /// Create a project whose code comes from a new GitHub repository `repo_name` (owned by
    /// `owner`, or the token's user) generated from `template`, created and cloned by job
    /// `job_id` (`POST /api/projects/from-template`). Whether `template` is allowlisted is
    /// checked before (it is a setting). `env` as in `CreateDeployable`.
    CreateFromTemplate {
        name: ProjectName,
        subdomain: Option<Subdomain>,
        template: RepoSlug,
        owner: Option<GithubLogin>,
        repo_name: RepoName,
        private: bool,
        deploy: bool,
        compose_project: ComposeProjectName,
        env: BTreeMap<EnvVarName, String>,
        job_id: Uuid,
    },
    /// The github service reports job `job_id` created `repo` (`owner/name`) at `html_url`
    /// with default branch `default_branch`: the project becomes a compose project deployed
    /// from that branch. Refused unless `job_id` is the project's pending creation.
    RecordRepoCreated { job_id: Uuid, repo: RepoSlug, html_url: String, default_branch: String },
    /// The github service reports job `job_id` cloned the repository at `commit`.
    RecordRepoCloned { job_id: Uuid, commit: String },
    /// The github service reports job `job_id` failed; the repository it created (if any,
    /// known from `RepoCreated`) stays on GitHub and the event says so.
    RecordRepoCreationFailed { job_id: Uuid, message: String },
    /// The github service reports job `job_id` made sure `repo` has the panel's webhook.
    RecordWebhookEnsured {
        job_id: Uuid,
        repo: String,
        hook_id: u64,
        url: String,
        change: warp_events::github_delivery::WebhookChange,
        secret_fingerprint: String,
    },
    /// The github service reports job `job_id` could not make sure `repo` has the webhook.
    RecordWebhookFailed { job_id: Uuid, repo: String, message: String },
}

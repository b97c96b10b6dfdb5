//! Events of the `Job` aggregate (aggregate type `job`, id a UUID): every long action the panel
//! takes (deploy, create from template, quick service, route publish, tunnel restart).

use cqrs_es::DomainEvent;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Aggregate type under which job events are stored and published.
pub const AGGREGATE_TYPE: &str = "job";

/// What a job does, with its typed input. Serialised as `{"type":"deploy","project_id":"…"}`.
/// There is no free-form command: each type names one action whose details live on the
/// project it targets.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum JobInput {
    /// Build and start the project's compose services (`docker compose up --build -d`).
    Deploy { project_id: Uuid },
    /// Create the project's GitHub repository from its template and clone it.
    CreateFromTemplate { project_id: Uuid },
    /// Check the container or host port a quick-service project exposes.
    QuickService { project_id: Uuid },
    /// Create or update the project's DNS record and tunnel ingress rule.
    PublishRoute { project_id: Uuid },
    /// Restart the configured cloudflared so it reads its configuration again.
    RestartTunnel {},
    /// Stop the project's compose services (`compose stop`).
    Stop { project_id: Uuid },
    /// Start the project's stopped compose services (`compose start`).
    Start { project_id: Uuid },
    /// Remove the project's containers and networks (`compose down`), and its named volumes
    /// when `volumes` is true.
    Remove { project_id: Uuid, volumes: bool },
}

/// The job types, as filter values and log labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobType {
    Deploy,
    CreateFromTemplate,
    QuickService,
    PublishRoute,
    RestartTunnel,
    Stop,
    Start,
    Remove,
}

impl JobType {
    /// Every type.
    pub const ALL: [JobType; 8] = [
        JobType::Deploy,
        JobType::CreateFromTemplate,
        JobType::QuickService,
        JobType::PublishRoute,
        JobType::RestartTunnel,
        JobType::Stop,
        JobType::Start,
        JobType::Remove,
    ];

    /// The snake_case name (as in JSON and the `jobs.job_type` column).
    pub fn as_str(self) -> &'static str {
        match self {
            JobType::Deploy => "deploy",
            JobType::CreateFromTemplate => "create_from_template",
            JobType::QuickService => "quick_service",
            JobType::PublishRoute => "publish_route",
            JobType::RestartTunnel => "restart_tunnel",
            JobType::Stop => "stop",
            JobType::Start => "start",
            JobType::Remove => "remove",
        }
    }

    /// Parses [`JobType::as_str`] output.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == raw)
    }

    /// Longest a job of this type may run before it is stopped and marked timed out, seconds.
    pub fn default_timeout_seconds(self) -> u64 {
        match self {
            JobType::Deploy => 30 * 60,
            JobType::CreateFromTemplate => 10 * 60,
            JobType::QuickService | JobType::PublishRoute | JobType::RestartTunnel => 2 * 60,
            JobType::Stop | JobType::Start | JobType::Remove => 5 * 60,
        }
    }

    /// Whether running a job of this type again after an interruption is harmless (its effect
    /// is idempotent). Such jobs are re-queued when their worker dies; others fail as
    /// `interrupted`.
    pub fn retry_safe(self) -> bool {
        matches!(
            self,
            JobType::QuickService
                | JobType::PublishRoute
                | JobType::RestartTunnel
                | JobType::Stop
                | JobType::Start
                | JobType::Remove
        )
    }
}

impl JobInput {
    /// The job's type.
    pub fn job_type(&self) -> JobType {
        match self {
            JobInput::Deploy { .. } => JobType::Deploy,
            JobInput::CreateFromTemplate { .. } => JobType::CreateFromTemplate,
            JobInput::QuickService { .. } => JobType::QuickService,
            JobInput::PublishRoute { .. } => JobType::PublishRoute,
            JobInput::RestartTunnel {} => JobType::RestartTunnel,
            JobInput::Stop { .. } => JobType::Stop,
            JobInput::Start { .. } => JobType::Start,
            JobInput::Remove { .. } => JobType::Remove,
        }
    }

    /// The project the job acts on, if any.
    pub fn project_id(&self) -> Option<Uuid> {
        match self {
            JobInput::Deploy { project_id }
            | JobInput::CreateFromTemplate { project_id }
            | JobInput::QuickService { project_id }
            | JobInput::PublishRoute { project_id }
            | JobInput::Stop { project_id }
            | JobInput::Start { project_id }
            | JobInput::Remove { project_id, .. } => Some(*project_id),
            JobInput::RestartTunnel {} => None,
        }
    }

    /// What the job acts on: jobs with the same target run one at a time, in queue order.
    /// `project:<id>` for project jobs, `tunnel` for the tunnel.
    pub fn target(&self) -> String {
        match self.project_id() {
            Some(id) => format!("project:{id}"),
            None => "tunnel".to_owned(),
        }
    }
}

/// Why a job failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobErrorKind {
    /// The action itself failed (a process exited non-zero, an API refused).
    ExecutionFailed,
    /// The worker running it stopped (crash, restart) and the type is not safe to retry.
    Interrupted,
    /// No worker can run this type here.
    Unsupported,
    /// A bug or an unexpected failure in the panel.
    Internal,
}

/// Every fact about a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum JobEvent {
    /// A job was queued. `project_id` repeats the input's project for read models and audit.
    JobQueued {
        input: JobInput,
        project_id: Option<Uuid>,
        /// Limit on one attempt's run time, seconds.
        timeout_seconds: u64,
        /// Most attempts (1 unless the type is retry-safe).
        max_attempts: u32,
    },
    /// A worker started attempt `attempt` (1-based).
    JobStarted { worker: String, attempt: u32 },
    /// A user asked to cancel the job.
    JobCancelRequested {},
    /// The job finished successfully.
    JobSucceeded {},
    /// The job failed.
    JobFailed { kind: JobErrorKind, message: String },
    /// The job was cancelled (before it started, or its processes were killed).
    JobCancelled {},
    /// The job ran past its timeout; its processes were killed.
    JobTimedOut { timeout_seconds: u64 },
    /// The worker running the job stopped; the job is queued again for another attempt.
    JobRequeued { reason: String },
}

impl JobEvent {
    /// Event type names, as stored in `events.event_type`, one per variant.
    pub const TYPES: [&'static str; 8] = [
        "JobQueued",
        "JobStarted",
        "JobCancelRequested",
        "JobSucceeded",
        "JobFailed",
        "JobCancelled",
        "JobTimedOut",
        "JobRequeued",
    ];
}

impl DomainEvent for JobEvent {
    fn event_type(&self) -> String {
        let name = match self {
            JobEvent::JobQueued { .. } => "JobQueued",
            JobEvent::JobStarted { .. } => "JobStarted",
            JobEvent::JobCancelRequested {} => "JobCancelRequested",
            JobEvent::JobSucceeded {} => "JobSucceeded",
            JobEvent::JobFailed { .. } => "JobFailed",
            JobEvent::JobCancelled {} => "JobCancelled",
            JobEvent::JobTimedOut { .. } => "JobTimedOut",
            JobEvent::JobRequeued { .. } => "JobRequeued",
        };
        name.to_owned()
    }

    fn event_version(&self) -> String {
        "1.0".to_owned()
    }
}

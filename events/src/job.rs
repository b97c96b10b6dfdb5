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
/// project it targets. Each variant wraps the input struct of its type, which is what that
/// type's executor receives (see [`TypedJobInput`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum JobInput {
    /// Build and start the project's compose services (`docker compose up --build -d`).
    Deploy(DeployInput),
    /// Create the project's GitHub repository from its template and clone it.
    CreateFromTemplate(CreateFromTemplateInput),
    /// Check the container or host port a quick-service project exposes.
    QuickService(QuickServiceInput),
    /// Create or update the project's DNS record and tunnel ingress rule.
    PublishRoute(PublishRouteInput),
    /// Remove the DNS record and ingress rule of `hostname` that the panel created for the
    /// project, unless the hostname was requested again in the meantime.
    UnpublishRoute(UnpublishRouteInput),
    /// Restart the configured cloudflared so it reads its configuration again.
    RestartTunnel(RestartTunnelInput),
    /// Stop the project's compose services (`compose stop`).
    Stop(StopInput),
    /// Start the project's stopped compose services (`compose start`).
    Start(StartInput),
    /// Remove the project's containers and networks (`compose down`), and its named volumes
    /// when `volumes` is true.
    Remove(RemoveInput),
    /// Make sure the project's GitHub repository has the panel's `push` webhook.
    EnsureWebhook(EnsureWebhookInput),
}

/// The id of the job that the event with message id `message_id` (see
/// [`crate::subjects::message_id`]) causes, of type `job_type`: a UUIDv5 of both, so a handler
/// that sees the same event again queues the same job id, which the `Job` aggregate refuses to
/// queue twice.
pub fn job_id_for_event(message_id: &str, job_type: JobType) -> Uuid {
    /// Namespace of job ids derived from events (a random UUID, fixed forever).
    const NAMESPACE: Uuid = Uuid::from_u128(0x5f0c_8a43_9d2e_4b71_a6c3_1e7d_2b90_4f18);
    Uuid::new_v5(&NAMESPACE, format!("{message_id}/{}", job_type.as_str()).as_bytes())
}

/// The input of one job type: what its executor is given. Implemented by each `*Input`
/// struct below.
pub trait TypedJobInput: Into<JobInput> + Clone + Send + Sync + Sized + 'static {
    /// The type whose input this is.
    const JOB_TYPE: JobType;
    /// This type's input, when `input` is of this type.
    fn from_input(input: JobInput) -> Option<Self>;
}

macro_rules! typed_inputs {
    ($($(#[$doc:meta])* $variant:ident($input:ident) { $($(#[$fdoc:meta])* $field:ident: $ty:ty),* $(,)? })*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, utoipa::ToSchema)]
        pub struct $input { $($(#[$fdoc])* pub $field: $ty),* }

        impl From<$input> for JobInput {
            fn from(input: $input) -> Self {
                JobInput::$variant(input)
            }
        }

        impl TypedJobInput for $input {
            const JOB_TYPE: JobType = JobType::$variant;
            fn from_input(input: JobInput) -> Option<Self> {
                match input {
                    JobInput::$variant(input) => Some(input),
                    _ => None,
                }
            }
        }
    )*};
}

typed_inputs! {
    /// Input of `deploy`.
    Deploy(DeployInput) { project_id: Uuid }
    /// Input of `create_from_template`.
    CreateFromTemplate(CreateFromTemplateInput) { project_id: Uuid }
    /// Input of `quick_service`.
    QuickService(QuickServiceInput) { project_id: Uuid }
    /// Input of `publish_route`.
    PublishRoute(PublishRouteInput) { project_id: Uuid }
    /// Input of `unpublish_route`.
    UnpublishRoute(UnpublishRouteInput) {
        project_id: Uuid,
        /// The hostname (normal form) whose record and rule go.
        hostname: String,
    }
    /// Input of `restart_tunnel`.
    RestartTunnel(RestartTunnelInput) {}
    /// Input of `stop`.
    Stop(StopInput) { project_id: Uuid }
    /// Input of `start`.
    Start(StartInput) { project_id: Uuid }
    /// Input of `remove`.
    Remove(RemoveInput) {
        project_id: Uuid,
        /// Also delete the compose project's named volumes.
        volumes: bool,
    }
    /// Input of `ensure_webhook`.
    EnsureWebhook(EnsureWebhookInput) { project_id: Uuid }
}

/// The job types, as filter values and log labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobType {
    Deploy,
    CreateFromTemplate,
    QuickService,
    PublishRoute,
    UnpublishRoute,
    RestartTunnel,
    Stop,
    Start,
    Remove,
    EnsureWebhook,
}

impl JobType {
    /// Every type.
    pub const ALL: [JobType; 10] = [
        JobType::Deploy,
        JobType::CreateFromTemplate,
        JobType::QuickService,
        JobType::PublishRoute,
        JobType::UnpublishRoute,
        JobType::RestartTunnel,
        JobType::Stop,
        JobType::Start,
        JobType::Remove,
        JobType::EnsureWebhook,
    ];

    /// The snake_case name (as in JSON and the `jobs.job_type` column).
    pub fn as_str(self) -> &'static str {
        match self {
            JobType::Deploy => "deploy",
            JobType::CreateFromTemplate => "create_from_template",
            JobType::QuickService => "quick_service",
            JobType::PublishRoute => "publish_route",
            JobType::UnpublishRoute => "unpublish_route",
            JobType::RestartTunnel => "restart_tunnel",
            JobType::Stop => "stop",
            JobType::Start => "start",
            JobType::Remove => "remove",
            JobType::EnsureWebhook => "ensure_webhook",
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
            JobType::QuickService
            | JobType::PublishRoute
            | JobType::UnpublishRoute
            | JobType::RestartTunnel
            | JobType::EnsureWebhook => 2 * 60,
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
                | JobType::UnpublishRoute
                | JobType::RestartTunnel
                | JobType::Stop
                | JobType::Start
                | JobType::Remove
                | JobType::EnsureWebhook
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_id_derived_from_an_event_is_stable_and_differs_by_event_and_type() {
        let a = job_id_for_event("project:1:3", JobType::PublishRoute);
        assert_eq!(a, job_id_for_event("project:1:3", JobType::PublishRoute));
        assert_ne!(a, job_id_for_event("project:1:4", JobType::PublishRoute));
        assert_ne!(a, job_id_for_event("project:1:3", JobType::Deploy));
    }

    #[test]
    fn typed_inputs_keep_the_flat_wire_shape() {
        let input: JobInput = RemoveInput { project_id: Uuid::nil(), volumes: true }.into();
        let json = serde_json::to_value(&input).unwrap();
        assert_eq!(json, serde_json::json!({"type": "remove", "project_id": Uuid::nil(), "volumes": true}));
        assert_eq!(serde_json::from_value::<JobInput>(json).unwrap(), input);
        let tunnel = serde_json::to_value(JobInput::from(RestartTunnelInput {})).unwrap();
        assert_eq!(tunnel, serde_json::json!({"type": "restart_tunnel"}));
        assert_eq!(RemoveInput::from_input(input.clone()), Some(RemoveInput { project_id: Uuid::nil(), volumes: true }));
        assert_eq!(DeployInput::from_input(input), None);
    }
}

impl JobInput {
    /// The job's type.
    pub fn job_type(&self) -> JobType {
        match self {
            JobInput::Deploy(_) => JobType::Deploy,
            JobInput::CreateFromTemplate(_) => JobType::CreateFromTemplate,
            JobInput::QuickService(_) => JobType::QuickService,
            JobInput::PublishRoute(_) => JobType::PublishRoute,
            JobInput::UnpublishRoute(_) => JobType::UnpublishRoute,
            JobInput::RestartTunnel(_) => JobType::RestartTunnel,
            JobInput::Stop(_) => JobType::Stop,
            JobInput::Start(_) => JobType::Start,
            JobInput::Remove(_) => JobType::Remove,
            JobInput::EnsureWebhook(_) => JobType::EnsureWebhook,
        }
    }

    /// The project the job acts on, if any.
    pub fn project_id(&self) -> Option<Uuid> {
        match self {
            JobInput::Deploy(DeployInput { project_id })
            | JobInput::CreateFromTemplate(CreateFromTemplateInput { project_id })
            | JobInput::QuickService(QuickServiceInput { project_id })
            | JobInput::PublishRoute(PublishRouteInput { project_id })
            | JobInput::UnpublishRoute(UnpublishRouteInput { project_id, .. })
            | JobInput::Stop(StopInput { project_id })
            | JobInput::Start(StartInput { project_id })
            | JobInput::Remove(RemoveInput { project_id, .. })
            | JobInput::EnsureWebhook(EnsureWebhookInput { project_id }) => Some(*project_id),
            JobInput::RestartTunnel(_) => None,
        }
    }

    /// What the job acts on: jobs with the same target run one at a time, in queue order.
    /// `project:<id>` for project jobs, `webhook:<project id>` for `ensure_webhook` (it touches
    /// only the repository's hooks, so it need not wait behind the project's deploys), `tunnel`
    /// for the tunnel.
    pub fn target(&self) -> String {
        if let JobInput::EnsureWebhook(EnsureWebhookInput { project_id }) = self {
            return format!("webhook:{project_id}");
        }
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
    /// A job was queued. `project_id` repeats the input's project for read models and audit;
    /// `target` is [`JobInput::target`] (absent from events of version 1.0, whose target the
    /// read model derives by the same rule).
    JobQueued {
        input: JobInput,
        project_id: Option<Uuid>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        target: Option<String>,
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
        // 1.1: `JobQueued.target`.
        "1.1".to_owned()
    }
}

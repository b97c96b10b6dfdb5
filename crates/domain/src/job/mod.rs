//! The `Job` aggregate: one long action and its life cycle.
//!
//! ```text
//! queued ──start──► running ──► succeeded | failed | cancelled | timed_out
//!   │  ▲               │
//!   │  └── requeued ◄──┘ (worker died, type retry-safe, attempts left)
//!   └──cancel──► cancelled
//! ```

mod command;
mod error;

use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};
use warp_events::{JobErrorKind, JobEvent, JobInput};

use crate::bounded;

pub use command::JobCommand;
pub use error::JobError;

/// Where a job is in its life cycle.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Not queued yet (no events).
    #[default]
    New,
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
    TimedOut,
}

impl JobStatus {
    /// Whether the job has ended.
    pub fn is_final(self) -> bool {
        matches!(self, JobStatus::Succeeded | JobStatus::Failed | JobStatus::Cancelled | JobStatus::TimedOut)
    }

    /// The snake_case name, as stored in the `jobs` read model.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::New => "new",
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Failed => "failed",
            JobStatus::Cancelled => "cancelled",
            JobStatus::TimedOut => "timed_out",
        }
    }
}

/// State of one job, rebuilt from its events.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    pub status: JobStatus,
    pub input: Option<JobInput>,
    /// Attempts started so far.
    pub attempt: u32,
    pub max_attempts: u32,
    pub timeout_seconds: u64,
    pub cancel_requested: bool,
}

impl Job {
    fn require(&self, wanted: JobStatus) -> Result<(), JobError> {
        match self.status {
            JobStatus::New => Err(JobError::NotFound),
            status if status.is_final() => Err(JobError::AlreadyFinished { status: status.as_str() }),
            status if status != wanted => Err(JobError::WrongState { status: status.as_str(), wanted: wanted.as_str() }),
            _ => Ok(()),
        }
    }
}

impl Aggregate for Job {
    const TYPE: &'static str = warp_events::job::AGGREGATE_TYPE;
    type Command = JobCommand;
    type Event = JobEvent;
    type Error = JobError;
    type Services = ();

    async fn handle(&mut self, command: JobCommand, _services: &(), sink: &EventSink<Self>) -> Result<(), JobError> {
        match command {
            JobCommand::Queue { input, timeout_seconds } => {
                if self.status != JobStatus::New {
                    return Err(JobError::AlreadyExists);
                }
                let job_type = input.job_type();
                let timeout_seconds = timeout_seconds.unwrap_or_else(|| job_type.default_timeout_seconds());
                if timeout_seconds == 0 {
                    return Err(JobError::InvalidTimeout);
                }
                let max_attempts = if job_type.retry_safe() { 3 } else { 1 };
                let project_id = input.project_id();
                let target = Some(input.target());
                sink.write(JobEvent::JobQueued { input, project_id, target, timeout_seconds, max_attempts }, self).await;
            }
            JobCommand::Start { worker } => {
                self.require(JobStatus::Queued)?;
                let attempt = self.attempt + 1;
                sink.write(JobEvent::JobStarted { worker: bounded::short(&worker), attempt }, self).await;
            }
            JobCommand::Cancel => {
                if self.status == JobStatus::New {
                    return Err(JobError::NotFound);
                }
                if self.status.is_final() {
                    return Err(JobError::AlreadyFinished { status: self.status.as_str() });
                }
                if !self.cancel_requested {
                    sink.write(JobEvent::JobCancelRequested {}, self).await;
                }
                // Nothing runs a queued job yet: it is cancelled at once. A running one is
                // cancelled by its worker once its processes are gone.
                if self.status == JobStatus::Queued {
                    sink.write(JobEvent::JobCancelled {}, self).await;
                }
            }
            JobCommand::Succeed => {
                self.require(JobStatus::Running)?;
                sink.write(JobEvent::JobSucceeded {}, self).await;
            }
            JobCommand::Fail { kind, message } => {
                self.require(JobStatus::Running)?;
                sink.write(JobEvent::JobFailed { kind, message: bounded::message(&message) }, self).await;
            }
            JobCommand::MarkCancelled => {
                self.require(JobStatus::Running)?;
                sink.write(JobEvent::JobCancelled {}, self).await;
            }
            JobCommand::MarkTimedOut => {
                self.require(JobStatus::Running)?;
                let timeout_seconds = self.timeout_seconds;
                sink.write(JobEvent::JobTimedOut { timeout_seconds }, self).await;
            }
            JobCommand::Interrupt { reason } => {
                self.require(JobStatus::Running)?;
                let event = if self.cancel_requested {
                    JobEvent::JobCancelled {}
                } else if self.attempt < self.max_attempts {
                    JobEvent::JobRequeued { reason: bounded::message(&reason) }
                } else {
                    JobEvent::JobFailed { kind: JobErrorKind::Interrupted, message: bounded::message(&format!("interrupted: {reason}")) }
                };
                sink.write(event, self).await;
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: JobEvent) {
        match event {
            JobEvent::JobQueued { input, timeout_seconds, max_attempts, .. } => {
                self.status = JobStatus::Queued;
                self.input = Some(input);
                self.timeout_seconds = timeout_seconds;
                self.max_attempts = max_attempts;
            }
            JobEvent::JobStarted { attempt, .. } => {
                self.status = JobStatus::Running;
                self.attempt = attempt;
            }
            JobEvent::JobCancelRequested {} => self.cancel_requested = true,
            JobEvent::JobSucceeded {} => self.status = JobStatus::Succeeded,
            JobEvent::JobFailed { .. } => self.status = JobStatus::Failed,
            JobEvent::JobCancelled {} => self.status = JobStatus::Cancelled,
            JobEvent::JobTimedOut { .. } => self.status = JobStatus::TimedOut,
            JobEvent::JobRequeued { .. } => self.status = JobStatus::Queued,
        }
    }
}

#[cfg(test)]
mod tests;

//! Commands accepted by the `Job` aggregate.

use warp_events::{JobErrorKind, JobInput};

/// What the API (queue, cancel) and workers (everything else) may ask of a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobCommand {
    /// Queue a new job; `timeout_seconds` defaults to the type's
    /// [`warp_events::JobType::default_timeout_seconds`].
    Queue { input: JobInput, timeout_seconds: Option<u64> },
    /// A worker starts the next attempt. Refused unless queued, so only one worker wins.
    Start { worker: String },
    /// Cancel: a queued job is cancelled at once; a running one is asked to stop.
    Cancel,
    /// The running attempt succeeded.
    Succeed,
    /// The running attempt failed.
    Fail { kind: JobErrorKind, message: String },
    /// The running attempt's processes were killed after a cancel request.
    MarkCancelled,
    /// The running attempt's processes were killed after the timeout.
    MarkTimedOut,
    /// The worker of the running attempt is gone: re-queue if the type is retry-safe and has
    /// attempts left, else fail as interrupted (or cancel, if a cancel was requested).
    Interrupt { reason: String },
}

//! The job runner: every long action of the panel runs as a job.
//!
//! # Layout
//! - [`Executor`]: what a service implements per job type (deploy, publish route, …), and
//!   [`JobFailure`], how it reports a failed attempt.
//! - [`JobContext`]: what an executor gets: the typed input, the job's log, a cancellation
//!   token tripped by cancel or timeout, and [`JobContext::run`] to spawn a process.
//! - [`process`]: processes in their own process group, their output read as lines, and the
//!   group killed (SIGTERM, then SIGKILL after a grace period) on cancel or timeout.
//! - [`lines`]: turning raw output into lines (`\n`, `\r`, invalid UTF-8, very long lines).
//! - [`log`]: the job log: redacted, stored in `job_logs`, then published live on
//!   `warp.logs.job.<job_id>`.
//! - [`project`]: the project a project job acts on, from the event store.
//! - [`git`]: fetching a git source into a checkout (with a token given to git through its
//!   environment only); [`workspace`]: a project's folders under the workspaces root. Shared
//!   by the docker service's deploys and the github service's clones.
//! - [`Runner`]: claims runnable jobs (one per target at a time, in queue order, up to a
//!   parallelism limit), runs them, records the outcome, and recovers jobs whose worker died.
//!
//! # Locks
//! A running job holds a Postgres session advisory lock on its target, on a connection of its
//! own. The lock goes away on every exit path (normal end, panic, crash: the connection
//! closes), and a job the read model shows as running whose target lock can be taken has no
//! worker left: it is interrupted (re-queued if its type is retry-safe, else failed).

mod context;
mod executor;
pub mod lines;
pub mod log;
pub mod process;
pub mod git;
pub mod project;
pub mod workspace;
mod runner;

pub use context::JobContext;
pub use executor::{Executor, JobFailure};
pub use runner::{Runner, RunnerConfig};

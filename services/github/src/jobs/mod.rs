//! The github service's jobs: one file per job type, each an executor with its own input:
//! [`create_from_template`] (`CreateFromTemplateInput`).
//!
//! Executors read what to do from the `Project` aggregate (replayed from the event store) and
//! report outcomes as follow-up commands on it ([`crate::Services::record`]).

pub mod create_from_template;
pub mod ensure_webhook;

use std::sync::Arc;

use warp_jobs::Runner;

use crate::Services;

/// Registers every executor of this service with `runner`.
pub fn register(svc: Arc<Services>, runner: Runner) -> Runner {
    runner
        .register(create_from_template::CreateFromTemplateExecutor(svc.clone()))
        .register(ensure_webhook::EnsureWebhookExecutor(svc))
}

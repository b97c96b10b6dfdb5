//! Settings of the cloudflare service process (`clap`, from the environment). What the panel
//! publishes and where (base domain, zone, tunnel, mode, token) are runtime settings in the
//! settings store, read again by every job, not process settings.

use std::time::Duration;

/// `warp cloudflare` options.
#[derive(Debug, Clone, clap::Args)]
pub struct CloudflareArgs {
    /// Most Cloudflare API attempts per call (429 and 5xx answers are retried).
    #[arg(long, env = "WARP_CLOUDFLARE_MAX_ATTEMPTS", default_value_t = 4)]
    pub cloudflare_max_attempts: u32,
    /// How often due unpublishes are looked for, milliseconds.
    #[arg(long, env = "WARP_CLOUDFLARE_SWEEP_MS", default_value_t = 1000)]
    pub cloudflare_sweep_ms: u64,
    /// Local mode: how many earlier `config.yml` versions are kept beside it.
    #[arg(long, env = "WARP_CLOUDFLARED_BACKUPS", default_value_t = 5)]
    pub cloudflared_backups: usize,
    /// Local mode: how long cloudflared may take to come back after a restart, seconds.
    #[arg(long, env = "WARP_CLOUDFLARED_RESTART_TIMEOUT", default_value_t = 20)]
    pub cloudflared_restart_timeout: u64,
    /// Most jobs of this service running at once.
    #[arg(long = "cloudflare-max-parallel-jobs", env = "WARP_CLOUDFLARE_MAX_PARALLEL_JOBS", default_value_t = 4)]
    pub cloudflare_max_parallel_jobs: usize,
}

/// The cloudflare service's settings as values (tests build this directly).
#[derive(Debug, Clone)]
pub struct CloudflareConfig {
    pub retry: RetryPolicy,
    /// How often due unpublishes are looked for.
    pub sweep_every: Duration,
    /// Earlier `config.yml` versions kept (local mode).
    pub backups: usize,
    /// How long cloudflared may take to come back after a restart (local mode).
    pub restart_timeout: Duration,
    /// Docker host whose docker service restarts a cloudflared container.
    pub docker_host: String,
    /// Runner settings; `worker` names this process in event metadata.
    pub runner: warp_jobs::RunnerConfig,
}

impl CloudflareConfig {
    /// The settings `args` select; `docker_host` as for the API (`WARP_DOCKER_HOST_NAME`).
    pub fn from_args(args: &CloudflareArgs, docker_host: &str) -> Self {
        let runner = warp_jobs::RunnerConfig {
            worker: format!("cloudflare@{}", std::process::id()),
            max_parallel: args.cloudflare_max_parallel_jobs.max(1),
            ..Default::default()
        };
        Self {
            retry: RetryPolicy { max_attempts: args.cloudflare_max_attempts.max(1), ..RetryPolicy::default() },
            sweep_every: Duration::from_millis(args.cloudflare_sweep_ms.max(50)),
            backups: args.cloudflared_backups,
            restart_timeout: Duration::from_secs(args.cloudflared_restart_timeout.max(1)),
            docker_host: docker_host.to_owned(),
            runner,
        }
    }
}

/// Retries of one Cloudflare API call: 429 (waiting `Retry-After` when given), 5xx and
/// connection failures are tried again up to `max_attempts` times in all, waiting
/// `base_backoff × 2^(attempt-1)`, at most `max_backoff`.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { max_attempts: 4, base_backoff: Duration::from_millis(500), max_backoff: Duration::from_secs(30) }
    }
}

impl RetryPolicy {
    /// Wait before attempt `attempt + 1` (1-based `attempt`), or what `Retry-After` asked for
    /// (capped at `max_backoff`).
    pub fn wait(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(asked) = retry_after {
            return asked.min(self.max_backoff);
        }
        let exponent = attempt.saturating_sub(1).min(16);
        self.base_backoff.saturating_mul(2u32.saturating_pow(exponent)).min(self.max_backoff)
    }
}

//! Settings of the github service process (`clap`, from the environment). Which GitHub and
//! which token (`github_api_url`, `github_web_url`, `github_token`) and which templates may be
//! used (`template_repos`) are runtime settings in the settings store, read again by every job
//! and request, not process settings.

use std::path::PathBuf;
use std::time::Duration;

/// `warp github` options.
#[derive(Debug, Clone, clap::Args)]
pub struct GithubArgs {
    /// Most jobs of this service running at once.
    #[arg(long = "github-max-parallel-jobs", env = "WARP_GITHUB_MAX_PARALLEL_JOBS", default_value_t = 4)]
    pub github_max_parallel_jobs: usize,
    /// Longest a new repository may take to become clonable, seconds.
    #[arg(long, env = "WARP_GITHUB_CLONE_WAIT_SECONDS", default_value_t = 120)]
    pub github_clone_wait_seconds: u64,
    /// How long a repository listing is reused, seconds (0: not cached).
    #[arg(long, env = "WARP_GITHUB_LIST_CACHE_SECONDS", default_value_t = 30)]
    pub github_list_cache_seconds: u64,
    /// Timeout of one GitHub API call, seconds.
    #[arg(long, env = "WARP_GITHUB_API_TIMEOUT_SECONDS", default_value_t = 15)]
    pub github_api_timeout_seconds: u64,
    /// A PEM file of certificate authorities git trusts for https remotes (GitHub Enterprise
    /// with a private CA); the same variable as the docker service's.
    #[arg(long = "github-git-ca-file", env = "WARP_GIT_CA_FILE")]
    pub github_git_ca_file: Option<PathBuf>,
}

/// The github service's settings as values (tests build this directly).
#[derive(Debug, Clone)]
pub struct GithubConfig {
    /// Longest a new repository may take to become clonable.
    pub clone_wait: Duration,
    /// How long a repository listing is reused (per token).
    pub list_cache_ttl: Duration,
    /// Timeout of one GitHub API call.
    pub api_timeout: Duration,
    /// CA file git trusts for https remotes.
    pub git_ca_file: Option<PathBuf>,
    /// Runner settings; `worker` names this process in event metadata.
    pub runner: warp_jobs::RunnerConfig,
}

impl GithubConfig {
    /// The settings `args` select.
    pub fn from_args(args: &GithubArgs) -> Self {
        let runner = warp_jobs::RunnerConfig {
            worker: format!("github@{}", std::process::id()),
            max_parallel: args.github_max_parallel_jobs.max(1),
            ..Default::default()
        };
        Self {
            clone_wait: Duration::from_secs(args.github_clone_wait_seconds.max(1)),
            list_cache_ttl: Duration::from_secs(args.github_list_cache_seconds),
            api_timeout: Duration::from_secs(args.github_api_timeout_seconds.max(1)),
            git_ca_file: args.github_git_ca_file.clone(),
            runner,
        }
    }
}

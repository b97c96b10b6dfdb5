//! Settings of the docker service, from the environment (or flags).

use std::time::Duration;

/// Which Docker host this process serves; the API needs the same name to reach it.
#[derive(Debug, Clone, clap::Args)]
pub struct DockerHostArgs {
    /// Name of the Docker host: the `<host>` token of `warp.docker.<host>.<action>`.
    #[arg(long = "docker-host-name", env = "WARP_DOCKER_HOST_NAME", default_value = "local")]
    pub host_name: String,
}

/// Where the Docker Engine listens.
#[derive(Debug, Clone, clap::Args)]
pub struct DockerSocketArgs {
    /// Docker Engine socket: a path or `unix://<path>` (only unix sockets are supported).
    #[arg(long = "docker-socket", env = "DOCKER_HOST", default_value = "/var/run/docker.sock")]
    pub socket: String,
}

/// Settings of the docker service's job runner (deploys).
#[derive(Debug, Clone, clap::Args)]
pub struct DockerJobArgs {
    /// PEM file of certificate authorities git trusts for https remotes (`http.sslCAInfo`),
    /// e.g. a GitHub Enterprise server with a private CA. Default: the system's.
    #[arg(long = "git-ca-file", env = "WARP_GIT_CA_FILE")]
    pub git_ca_file: Option<std::path::PathBuf>,
    /// Most jobs (on different projects) the runner runs at once.
    #[arg(long = "max-parallel-jobs", env = "WARP_MAX_PARALLEL_JOBS", default_value_t = 4)]
    pub max_parallel_jobs: usize,
}

/// Everything `warp docker` reads.
#[derive(Debug, Clone, clap::Args)]
pub struct DockerArgs {
    #[command(flatten)]
    pub host: DockerHostArgs,
    #[command(flatten)]
    pub socket: DockerSocketArgs,
}

/// The docker service's typed configuration (tests build it directly).
#[derive(Debug, Clone)]
pub struct DockerConfig {
    /// `<host>` of the request subjects.
    pub host_name: String,
    /// Path of the engine's unix socket (no `unix://`).
    pub socket: String,
    /// A log session with no keep-alive for this long is closed.
    pub session_idle: Duration,
    /// Masks the panel's secrets in container log lines before they are published. `warp all`
    /// shares the settings' redactor; a stand-alone `warp docker` knows no secrets (the API
    /// redacts again before lines reach a client).
    pub redactor: warp_platform::redact::Redactor,
}

/// How long a log session lives without a keep-alive.
pub const SESSION_IDLE: Duration = Duration::from_secs(15);

impl DockerConfig {
    /// The configuration `args` select.
    ///
    /// # Errors
    /// When `DOCKER_HOST` names something other than a unix socket (e.g. `tcp://…`).
    pub fn from_args(host: &DockerHostArgs, socket: &DockerSocketArgs) -> anyhow::Result<Self> {
        let raw = socket.socket.trim();
        let path = match raw.strip_prefix("unix://") {
            Some(path) => path,
            None if raw.contains("://") => anyhow::bail!("DOCKER_HOST {raw:?}: only unix sockets are supported"),
            None => raw,
        };
        Ok(Self { socket: path.to_owned(), ..Self::new(&host.host_name, path) })
    }

    /// Host `host_name` on the engine socket at `socket` (the default idle timeout).
    pub fn new(host_name: &str, socket: &str) -> Self {
        Self {
            host_name: host_name.to_owned(),
            socket: socket.to_owned(),
            session_idle: SESSION_IDLE,
            redactor: Default::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_host_takes_a_path_or_a_unix_url_and_refuses_tcp() {
        let host = DockerHostArgs { host_name: "local".into() };
        let of = |s: &str| DockerConfig::from_args(&host, &DockerSocketArgs { socket: s.into() });
        assert_eq!(of("unix:///var/run/docker.sock").unwrap().socket, "/var/run/docker.sock");
        assert_eq!(of("/run/d.sock").unwrap().socket, "/run/d.sock");
        assert!(of("tcp://10.0.0.1:2375").is_err());
    }
}

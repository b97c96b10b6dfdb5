//! Fetching a git source at a ref into a project's checkout: one module for every service
//! that clones (the docker service's deploys, the github service's new repositories).
//!
//! Every call is `git` with an argument list, options first and `--` before URLs; hooks are
//! off, only the https and ssh transports are allowed (`protocol.allow`), prompts are off
//! (`GIT_TERMINAL_PROMPT=0`, ssh `BatchMode`), and system/global config is ignored.
//!
//! A token ([`GitAuth`]) reaches git only through its environment, as configuration given by
//! `GIT_CONFIG_COUNT` / `GIT_CONFIG_KEY_0` / `GIT_CONFIG_VALUE_0` (git ≥ 2.31):
//! `http.<origin>/.extraHeader = Authorization: Basic base64(x-access-token:<token>)`, scoped
//! to the remote's origin (scheme, host, port) so git sends it nowhere else. It is never in an
//! argument (the process list), a URL, the checkout's `.git/config` or a log line; the
//! encoded header is registered with the redactor like the token itself.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use secrecy::{ExposeSecret as _, SecretString};

use crate::process::ProcessSpec;
use crate::{JobContext, JobFailure};

/// How git is run.
#[derive(Debug, Clone, Default)]
pub struct GitOptions {
    /// A PEM file of certificate authorities to trust for https remotes (`http.sslCAInfo`),
    /// e.g. for a GitHub Enterprise server with a private CA (`WARP_GIT_CA_FILE`).
    pub ca_file: Option<PathBuf>,
}

/// HTTP Basic credentials for one https origin, as GitHub takes a token for git over https
/// (user `x-access-token`, the token as password).
#[derive(Clone)]
pub struct GitAuth {
    /// `https://host[:port]/`: the only URLs git sends the header to.
    origin: String,
    /// `Authorization: Basic …`.
    header: SecretString,
}

impl std::fmt::Debug for GitAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitAuth").field("origin", &self.origin).finish_non_exhaustive()
    }
}

impl GitAuth {
    /// Credentials of `token` for the origin of `url` (an `https://` URL).
    ///
    /// # Errors
    /// When `url` is not an https URL with a host.
    pub fn github_token(url: &str, token: &SecretString) -> Result<Self, String> {
        let parsed = url::Url::parse(url).map_err(|_| "the clone URL is not a URL".to_owned())?;
        let host = parsed.host_str().filter(|_| parsed.scheme() == "https").ok_or("a token is only sent to an https remote")?;
        let origin = match parsed.port() {
            Some(port) => format!("https://{host}:{port}/"),
            None => format!("https://{host}/"),
        };
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("x-access-token:{}", token.expose_secret()));
        Ok(Self { origin, header: SecretString::from(format!("Authorization: Basic {basic}")) })
    }

    /// The origin the header is scoped to.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// What a log line could show of these credentials besides the token itself (the encoded
    /// header value): register it with the redactor.
    pub fn secret_forms(&self) -> Vec<String> {
        let header = self.header.expose_secret();
        vec![header.to_owned(), header.trim_start_matches("Authorization: Basic ").to_owned()]
    }
}

impl GitOptions {
    fn spec(&self, dir: &Path, args: &[&str]) -> ProcessSpec {
        let mut all: Vec<String> = [
            "-c", "protocol.allow=never",
            "-c", "protocol.https.allow=always",
            "-c", "protocol.ssh.allow=always",
            "-c", "core.hooksPath=/dev/null",
            "-c", "core.sshCommand=ssh -o BatchMode=yes",
            "-c", "advice.detachedHead=false",
        ]
        .map(str::to_owned)
        .to_vec();
        if let Some(ca) = &self.ca_file {
            all.push("-c".into());
            all.push(format!("http.sslCAInfo={}", ca.display()));
        }
        all.push("-C".into());
        all.push(dir.display().to_string());
        all.extend(args.iter().map(|a| (*a).to_owned()));
        ProcessSpec::new("git", all)
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
    }

    /// Fetches `git_ref` (branch or tag) of `url` into `checkout` (created on first use) and
    /// checks it out, detached and forced (local edits to tracked files are discarded;
    /// untracked files such as bind-mounted data are kept). With `auth`, git gets the header
    /// through its environment (module docs). Returns the commit id.
    ///
    /// # Errors
    /// The failure git reported (its stderr is in the job log).
    pub async fn fetch(
        &self,
        job: &JobContext,
        checkout: &Path,
        url: &str,
        git_ref: &str,
        auth: Option<&GitAuth>,
    ) -> Result<String, JobFailure> {
        if !checkout.join(".git").is_dir() {
            std::fs::create_dir_all(checkout).map_err(|e| JobFailure::failed(format!("creating the checkout folder: {e}")))?;
            job.run(&self.spec(checkout, &["init", "--quiet"])).await.map_err(|e| context(e, "git init failed"))?;
        }
        job.log.system(&format!("fetching {git_ref} from {url}{}", if auth.is_some() { " with the panel's GitHub token" } else { "" }));
        job.log.clear_tail();
        let mut fetch = self.spec(checkout, &["fetch", "--force", "--no-tags", "--", url, git_ref]);
        if let Some(auth) = auth {
            fetch = fetch
                .env("GIT_CONFIG_COUNT", "1")
                .env("GIT_CONFIG_KEY_0", format!("http.{}.extraHeader", auth.origin))
                .env("GIT_CONFIG_VALUE_0", auth.header.expose_secret());
        }
        job.run(&fetch).await.map_err(|e| context_with_tail(e, job, &format!("git fetch of {git_ref} failed")))?;
        self.checkout(job, checkout, "FETCH_HEAD").await
    }

    /// Checks out `commit` (forced, detached) and returns the full commit id.
    ///
    /// # Errors
    /// The failure git reported.
    pub async fn checkout(&self, job: &JobContext, checkout: &Path, commit: &str) -> Result<String, JobFailure> {
        job.run(&self.spec(checkout, &["checkout", "--force", "--detach", commit, "--"]))
            .await
            .map_err(|e| context_with_tail(e, job, "git checkout failed"))?;
        let head = job.output(&self.spec(checkout, &["rev-parse", "--verify", "HEAD^{commit}"])).await?;
        let head = String::from_utf8_lossy(&head).trim().to_owned();
        job.log.system(&format!("checked out commit {head}"));
        Ok(head)
    }
}

fn context(failure: JobFailure, what: &str) -> JobFailure {
    match failure {
        JobFailure::Failed(message) => JobFailure::Failed(format!("{what}: {message}")),
        stopped => stopped,
    }
}

/// Lines the docker CLI prints on every build when buildx is missing: noise in a failure.
const NOISE: [&str; 3] = ["legacy builder is deprecated", "Install the buildx component", "docs.docker.com/go/buildx"];

/// `what`, the process's failure and its last output lines (blank lines and the docker CLI's
/// buildx notice left out).
pub fn context_with_tail(failure: JobFailure, job: &JobContext, what: &str) -> JobFailure {
    match failure {
        JobFailure::Failed(message) => {
            let lines: Vec<String> = job
                .log
                .tail(crate::log::TAIL_LINES)
                .into_iter()
                .filter(|l| !l.trim().is_empty() && !NOISE.iter().any(|n| l.contains(n)))
                .collect();
            let tail = lines[lines.len().saturating_sub(10)..].join("\n");
            if tail.is_empty() {
                JobFailure::Failed(format!("{what}: {message}"))
            } else {
                JobFailure::Failed(format!("{what}: {message}\n{tail}"))
            }
        }
        stopped => stopped,
    }
}

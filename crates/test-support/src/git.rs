//! Real git repositories served over real HTTPS, and plain folders, for deploy tests.
//!
//! The deploy executor only clones `https://` (or `ssh://`) URLs, so tests need a git server
//! that speaks TLS. [`GitServer`] is one, on `127.0.0.1` and a port of its own:
//! - TLS is real: a CA and a certificate for `localhost` and `127.0.0.1` are made at start
//!   (`rcgen`); a client trusts them only with [`GitServer::ca_file`]
//!   (`git -c http.sslCAInfo=<file>` or `GIT_SSL_CAINFO=<file>`), without it the clone fails.
//! - The protocol is git's smart HTTP, answered by `git http-backend` (protocol v2, shallow
//!   clones and fetching a commit by sha all work). Anonymous read only: pushes over HTTP are
//!   refused, as on a public GitHub repo.
//! - A repo may be `owner/name` (as on GitHub: `https://127.0.0.1:<port>/owner/name.git`).
//! - A repo made private ([`GitServer::make_private`]) answers only requests with HTTP Basic
//!   auth whose password is its token (any user name, as GitHub takes `x-access-token:<token>`);
//!   anything else gets `401` with `WWW-Authenticate: Basic realm="GitHub"`. The
//!   `Authorization` headers seen are kept ([`GitServer::authorizations`]).
//! - A repo can be hidden until a moment ([`GitServer::hide_until`]: `404` before, as a repo
//!   GitHub just created), and every answer can be slowed down ([`GitServer::set_delay`]).
//! - A [`FixtureRepo`] is a work tree the test edits; [`FixtureRepo::commit`] commits with a
//!   fixed author and pushes to the served bare repo through the file system.
//!
//! Every git run clears the `GIT_*` variables of the test process, sets `GIT_CONFIG_NOSYSTEM=1`,
//! `HOME` and `XDG_CONFIG_HOME` inside the server's temp dir and `GIT_TERMINAL_PROMPT=0`, so the
//! machine's or the developer's git config never leaks in. Git is run with argument lists,
//! never a shell. Dropping the server stops it and removes its temp dir.
//!
//! ```no_run
//! # async fn example() {
//! use warp_test_support::git::GitServer;
//! let server = GitServer::start().await;
//! let repo = server.create_repo("app");
//! repo.write("compose.yaml", "services: {}\n");
//! let sha = repo.commit("first");
//! let url = server.url("app"); // https://127.0.0.1:<port>/app.git
//! let status = server.git().args(["clone", "-q", &url, "/tmp/app"]).status().unwrap();
//! assert!(status.success());
//! # let _ = sha;
//! # }
//! ```

mod folder;
mod http;
mod repo;

pub use folder::FixtureFolder;
pub use repo::FixtureRepo;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

/// The author and committer of every [`FixtureRepo`] commit.
pub const AUTHOR_NAME: &str = "Warp Test";
/// The e-mail of [`AUTHOR_NAME`].
pub const AUTHOR_EMAIL: &str = "warp-test@example.invalid";

/// An HTTPS git server on `127.0.0.1` serving the bare repos it created.
pub struct GitServer {
    dir: PathBuf,
    ca_file: PathBuf,
    running: http::Running,
    log: Arc<Mutex<Vec<String>>>,
    host: GitHost,
}

/// Who may read what, and how fast: shared by the server and its [`GitHost`] handles.
#[derive(Debug, Default)]
pub(crate) struct Access {
    /// Repo name (`owner/name`) → the token its Basic auth must carry.
    pub(crate) private: std::collections::BTreeMap<String, String>,
    /// Repo name → answers 404 until then.
    pub(crate) hidden_until: std::collections::BTreeMap<String, std::time::Instant>,
    /// Every answer first waits this long.
    pub(crate) delay: std::time::Duration,
    /// `Authorization` header values seen.
    pub(crate) authorizations: Vec<String>,
}

/// A cheap handle on a [`GitServer`]'s repos, for fakes that create repos on it (the fake
/// GitHub's generate-from-template).
#[derive(Clone)]
pub struct GitHost {
    base_url: String,
    repos: PathBuf,
    home: PathBuf,
    access: Arc<Mutex<Access>>,
}

impl GitHost {
    /// `https://127.0.0.1:<port>`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Whether the bare repo `name` exists.
    pub fn exists(&self, name: &str) -> bool {
        self.repos.join(format!("{name}.git")).is_dir()
    }

    /// Creates the bare repo `to` holding the default branch of `from` only (as GitHub's
    /// generate without `include_all_branches`), hidden for `hidden_for`.
    pub fn generate(&self, from: &str, to: &str, hidden_for: std::time::Duration) {
        assert!(is_repo_name(to), "repo name {to:?}");
        let source = self.repos.join(format!("{from}.git"));
        let target = self.repos.join(format!("{to}.git"));
        std::fs::create_dir_all(target.parent().unwrap()).expect("create the owner folder");
        self.access.lock().unwrap().hidden_until.insert(to.to_owned(), std::time::Instant::now() + hidden_for);
        run_git(&self.home, None, [OsStr::new("clone"), OsStr::new("-q"), OsStr::new("--bare"), OsStr::new("--single-branch"), source.as_os_str(), target.as_os_str()]);
        run_git(&self.home, Some(&target), ["config", "uploadpack.allowAnySHA1InWant", "true"]);
    }

    /// Makes `name` answer only requests authenticated with `token` (see the module docs).
    pub fn make_private(&self, name: &str, token: &str) {
        self.access.lock().unwrap().private.insert(name.to_owned(), token.to_owned());
    }
}

impl GitServer {
    /// Makes a temp dir, a CA and server certificate, and starts serving on a free port.
    pub async fn start() -> Self {
        let dir = std::env::temp_dir().join(format!("warp-git-{}", uuid::Uuid::new_v4().simple()));
        for sub in ["repos", "work", "home"] {
            std::fs::create_dir_all(dir.join(sub)).expect("create the git server folders");
        }
        let (ca_pem, tls) = http::tls_config();
        let ca_file = http::write_ca(&dir, &ca_pem);
        let log = Arc::new(Mutex::new(Vec::new()));
        let access = Arc::new(Mutex::new(Access::default()));
        let running = http::spawn(tls, dir.join("repos"), dir.join("home"), log.clone(), access.clone());
        let host = GitHost {
            base_url: format!("https://127.0.0.1:{}", running.addr.port()),
            repos: dir.join("repos"),
            home: dir.join("home"),
            access,
        };
        Self { dir, ca_file, running, log, host }
    }

    /// A handle on this server's repos (see [`GitHost`]).
    pub fn host(&self) -> GitHost {
        self.host.clone()
    }

    /// Makes `name` answer only requests authenticated with `token` (see the module docs).
    pub fn make_private(&self, name: &str, token: &str) {
        self.host.make_private(name, token);
    }

    /// `name` answers 404 until `until`.
    pub fn hide_until(&self, name: &str, until: std::time::Instant) {
        self.host.access.lock().unwrap().hidden_until.insert(name.to_owned(), until);
    }

    /// Every answer first waits `delay` (a slow clone).
    pub fn set_delay(&self, delay: std::time::Duration) {
        self.host.access.lock().unwrap().delay = delay;
    }

    /// Every `Authorization` header value the server was sent, oldest first.
    pub fn authorizations(&self) -> Vec<String> {
        self.host.access.lock().unwrap().authorizations.clone()
    }

    /// PEM of the CA that signed the server's certificate: give it to git as
    /// `-c http.sslCAInfo=<file>` or `GIT_SSL_CAINFO=<file>`.
    pub fn ca_file(&self) -> &Path {
        &self.ca_file
    }

    /// The port the server listens on (on `127.0.0.1`).
    pub fn port(&self) -> u16 {
        self.running.addr.port()
    }

    /// `https://127.0.0.1:<port>/<repo>.git`.
    pub fn url(&self, repo: &str) -> String {
        format!("https://127.0.0.1:{}/{repo}.git", self.port())
    }

    /// The same URL with the host `localhost` (the certificate names both).
    pub fn localhost_url(&self, repo: &str) -> String {
        format!("https://localhost:{}/{repo}.git", self.port())
    }

    /// How many HTTP requests the server answered so far (a clone makes two or three).
    pub fn requests(&self) -> usize {
        self.log.lock().unwrap().len()
    }

    /// Each request so far as `"<METHOD> <path and query>"`, oldest first.
    pub fn request_log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// The folder under which the bare repos live (`<name>.git`).
    pub fn repos_dir(&self) -> PathBuf {
        self.dir.join("repos")
    }

    /// A `git` command with the clean environment described in the module docs and this
    /// server's CA trusted (`-c http.sslCAInfo=<ca>`); add the subcommand and its arguments.
    pub fn git(&self) -> Command {
        let mut command = git_command(&self.dir.join("home"));
        command.arg("-c").arg(config_arg("http.sslCAInfo", &self.ca_file));
        command
    }

    /// Creates the bare repo `<name>.git` (default branch `main`, fetching any sha allowed)
    /// and a work tree to edit it. The served repo has no commits until the first
    /// [`FixtureRepo::commit`]. `name` is one plain path segment, or `owner/name` as GitHub
    /// serves repositories (`<github_web_url>/<owner>/<name>.git`).
    pub fn create_repo(&self, name: &str) -> FixtureRepo {
        assert!(is_repo_name(name), "repo name {name:?} must be one plain path segment, or owner/name");
        let home = self.dir.join("home");
        let bare = self.repos_dir().join(format!("{name}.git"));
        let work = self.dir.join("work").join(name);
        std::fs::create_dir_all(bare.parent().unwrap()).expect("create the owner folder");
        run_git(&home, None, [OsStr::new("init"), OsStr::new("-q"), OsStr::new("--bare"), OsStr::new("-b"), OsStr::new("main"), bare.as_os_str()]);
        run_git(&home, Some(&bare), ["config", "uploadpack.allowAnySHA1InWant", "true"]);
        run_git(&home, None, [OsStr::new("init"), OsStr::new("-q"), OsStr::new("-b"), OsStr::new("main"), work.as_os_str()]);
        run_git(&home, Some(&work), [OsStr::new("remote"), OsStr::new("add"), OsStr::new("origin"), bare.as_os_str()]);
        FixtureRepo { name: name.to_owned(), url: self.url(name), work, bare, home }
    }
}

impl Drop for GitServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.running.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.running.thread.take() {
            let _ = thread.join();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `git` with every inherited `GIT_*` variable removed, `GIT_CONFIG_NOSYSTEM=1`,
/// `GIT_TERMINAL_PROMPT=0`, `HOME=home`, `XDG_CONFIG_HOME=home/.config`, stdin closed.
pub fn git_command(home: &Path) -> Command {
    let mut command = Command::new("git");
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("GIT_") {
            command.env_remove(name);
        }
    }
    command
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .stdin(Stdio::null());
    command
}

pub(crate) fn run_git<I, S>(home: &Path, cwd: Option<&Path>, args: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut command = git_command(home);
    command.args(args);
    if let Some(cwd) = cwd {
        command.current_dir(cwd);
    }
    let output = command.output().expect("run git");
    assert!(
        output.status.success(),
        "{command:?} failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr).trim()
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn config_arg(key: &str, path: &Path) -> std::ffi::OsString {
    let mut arg = std::ffi::OsString::from(format!("{key}="));
    arg.push(path);
    arg
}

/// `name` or `owner/name`, each part a plain segment.
pub(crate) fn is_repo_name(name: &str) -> bool {
    let parts: Vec<&str> = name.split('/').collect();
    parts.len() <= 2 && parts.iter().all(|p| is_plain_name(p))
}

pub(crate) fn is_plain_name(name: &str) -> bool {
    !name.is_empty() && !name.contains(['/', '\\']) && name != "." && name != ".."
}

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
        let running = http::spawn(tls, dir.join("repos"), dir.join("home"), log.clone());
        Self { dir, ca_file, running, log }
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
        assert!(
            name.split('/').count() <= 2 && name.split('/').all(is_plain_name),
            "repo name {name:?} must be one plain path segment or owner/name"
        );
        let home = self.dir.join("home");
        let bare = self.repos_dir().join(format!("{name}.git"));
        let work = self.dir.join("work").join(name);
        for dir in [&bare, &work] {
            std::fs::create_dir_all(dir.parent().expect("a repo folder has a parent")).expect("create the repo's parent folder");
        }
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

pub(crate) fn is_plain_name(name: &str) -> bool {
    !name.is_empty() && !name.contains(['/', '\\']) && name != "." && name != ".."
}

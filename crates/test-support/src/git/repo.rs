//! [`FixtureRepo`]: the work tree a test edits, committing and pushing to a served bare repo.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use super::folder::{checked_join, write_file};
use super::{run_git, AUTHOR_EMAIL, AUTHOR_NAME};

/// A work tree whose commits are pushed to a bare repo that a [`GitServer`](super::GitServer) serves.
/// It lives in the server's temp dir (removed with the server).
pub struct FixtureRepo {
    pub(super) name: String,
    pub(super) url: String,
    pub(super) work: PathBuf,
    pub(super) bare: PathBuf,
    pub(super) home: PathBuf,
}

impl FixtureRepo {
    /// The repo's name (the URL path is `/<name>.git`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `https://127.0.0.1:<port>/<name>.git`, the same as [`GitServer::url`](super::GitServer::url).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The work tree, for edits the helpers below do not cover.
    pub fn work_dir(&self) -> &Path {
        &self.work
    }

    /// The served bare repo.
    pub fn bare_dir(&self) -> &Path {
        &self.bare
    }

    /// Writes `contents` to `path` (relative, parent folders created) in the work tree.
    pub fn write(&self, path: &str, contents: impl AsRef<[u8]>) {
        write_file(&self.work, path, contents.as_ref());
    }

    /// Writes every `(path, contents)` pair, as [`FixtureRepo::write`].
    pub fn write_all<P: AsRef<str>, C: AsRef<[u8]>>(&self, files: impl IntoIterator<Item = (P, C)>) {
        for (path, contents) in files {
            self.write(path.as_ref(), contents);
        }
    }

    /// Deletes `path` from the work tree (committed by the next [`FixtureRepo::commit`]).
    pub fn remove(&self, path: &str) {
        let full = checked_join(&self.work, path);
        if full.is_dir() {
            std::fs::remove_dir_all(full).expect("remove the folder");
        } else {
            std::fs::remove_file(full).expect("remove the file");
        }
    }

    /// Commits every change (`git add -A`; an empty commit if nothing changed) as
    /// [`AUTHOR_NAME`], pushes the current branch to the served repo, and returns the full sha.
    pub fn commit(&self, message: &str) -> String {
        self.git(["add", "-A"]);
        let author = format!("user.name={AUTHOR_NAME}");
        let email = format!("user.email={AUTHOR_EMAIL}");
        self.git(["-c", &author, "-c", &email, "commit", "-q", "--allow-empty", "--no-verify", "-m", message]);
        let sha = self.head();
        let branch = self.git(["symbolic-ref", "--short", "HEAD"]);
        self.git(["push", "-q", "--force", "origin", &format!("HEAD:refs/heads/{}", branch.trim())]);
        sha
    }

    /// The full sha of the work tree's `HEAD`.
    pub fn head(&self) -> String {
        self.git(["rev-parse", "HEAD"]).trim().to_owned()
    }

    /// Creates (or resets) branch `name` at `HEAD` and switches to it; later commits go
    /// there. The branch reaches the server with the next [`FixtureRepo::commit`].
    pub fn branch(&self, name: &str) {
        self.git(["checkout", "-q", "-B", name]);
    }

    /// Switches the work tree to an existing branch.
    pub fn checkout(&self, name: &str) {
        self.git(["checkout", "-q", name]);
    }

    /// Tags `HEAD` as `name` (lightweight) and pushes the tag.
    pub fn tag(&self, name: &str) {
        self.git(["tag", "-f", name]);
        self.git(["push", "-q", "--force", "origin", &format!("refs/tags/{name}")]);
    }

    /// Runs `git <args>` in the work tree with the clean environment; panics on failure,
    /// returns stdout.
    pub fn git<I, S>(&self, args: I) -> String
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        run_git(&self.home, Some(&self.work), args)
    }
}

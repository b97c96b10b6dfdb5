//! [`FixtureFolder`]: a plain folder of files, and the path-checked writes every fixture uses.

use std::path::{Component, Path, PathBuf};

use super::is_plain_name;

/// A plain folder (not a git repo) for "folder" deploy sources: `<root>/<name>/`, where `root`
/// is a fresh temp dir to configure as the workspaces root. Dropping it removes `root`.
pub struct FixtureFolder {
    root: PathBuf,
    path: PathBuf,
}

impl FixtureFolder {
    /// Creates `<fresh temp root>/<name>/`.
    pub fn new(name: &str) -> Self {
        let root = std::env::temp_dir().join(format!("warp-workspaces-{}", uuid::Uuid::new_v4().simple()));
        Self::inside(root, name)
    }

    /// Creates `<root>/<name>/` in an existing (or new) `root`; dropping it still removes
    /// the whole `root`, so give each test a root of its own.
    pub fn inside(root: impl Into<PathBuf>, name: &str) -> Self {
        assert!(is_plain_name(name), "folder name {name:?} must be one plain path segment");
        let root = root.into();
        let path = root.join(name);
        std::fs::create_dir_all(&path).expect("create the fixture folder");
        Self { root, path }
    }

    /// The workspaces root (the folder's parent).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The folder itself.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `contents` to `path` (relative, parent folders created) in the folder.
    pub fn write(&self, path: &str, contents: impl AsRef<[u8]>) {
        write_file(&self.path, path, contents.as_ref());
    }

    /// Writes every `(path, contents)` pair, as [`FixtureFolder::write`].
    pub fn write_all<P: AsRef<str>, C: AsRef<[u8]>>(&self, files: impl IntoIterator<Item = (P, C)>) {
        for (path, contents) in files {
            self.write(path.as_ref(), contents);
        }
    }
}

impl Drop for FixtureFolder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// `base/relative`, refusing absolute paths and `..` so a fixture never writes outside `base`.
pub(super) fn checked_join(base: &Path, relative: &str) -> PathBuf {
    let rel = Path::new(relative);
    assert!(
        !relative.is_empty() && rel.components().all(|c| matches!(c, Component::Normal(_) | Component::CurDir)),
        "fixture path {relative:?} must be relative and stay inside the fixture"
    );
    base.join(rel)
}

pub(super) fn write_file(base: &Path, relative: &str, contents: &[u8]) {
    let full = checked_join(base, relative);
    if let Some(parent) = full.parent() {
        std::fs::create_dir_all(parent).expect("create parent folders");
    }
    std::fs::write(&full, contents).unwrap_or_else(|e| panic!("write {}: {e}", full.display()));
}

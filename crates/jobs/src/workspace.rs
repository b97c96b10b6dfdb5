//! Where a project's files live on the host that runs its jobs.
//!
//! Under the `workspaces_root` setting:
//! - `<root>/<folder>`: a folder source, as the user keeps it (never written by the panel);
//! - `<root>/.warp/projects/<project id>/checkout`: the git checkout of a git or GitHub source
//!   (written by the docker service's deploys and by the github service's clone of a new
//!   repository; the same layout for both);
//! - `<root>/.warp/projects/<project id>/deploy.env`: the deploy env for one compose run
//!   (docker service).
//!
//! Folder names come from project ids, never from names a user typed.

use std::os::unix::fs::DirBuilderExt as _;
use std::path::{Path, PathBuf};

use uuid::Uuid;
use warp_domain::validate::{resolve_under, RelativePath};
use warp_events::project::ProjectSource;

/// The panel's own folder under the workspaces root; folder sources may not point into it.
pub const STATE_DIR: &str = ".warp";

/// A project's places on disk.
#[derive(Debug, Clone)]
pub struct Workspace {
    /// The canonical workspaces root.
    pub root: PathBuf,
    /// `<root>/.warp/projects/<id>`.
    pub project_dir: PathBuf,
}

impl Workspace {
    /// The workspace of `project_id` under `root` (created when missing).
    ///
    /// # Errors
    /// A sentence naming the root when it cannot be created or resolved.
    pub fn new(root: &str, project_id: Uuid) -> Result<Self, String> {
        std::fs::create_dir_all(root)
            .map_err(|e| format!("the workspaces root {root:?} cannot be created: {e}; set workspaces_root in the settings"))?;
        let root = Path::new(root)
            .canonicalize()
            .map_err(|e| format!("the workspaces root {root:?} cannot be used: {e}; set workspaces_root in the settings"))?;
        let project_dir = root.join(STATE_DIR).join("projects").join(project_id.to_string());
        Ok(Self { root, project_dir })
    }

    /// Creates the project folder (mode 0700) if needed.
    pub fn ensure(&self) -> std::io::Result<()> {
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(&self.project_dir)
    }

    /// Where a git source is checked out.
    pub fn checkout(&self) -> PathBuf {
        self.project_dir.join("checkout")
    }

    /// The folder the compose project is built from: the checkout of a git source, or the
    /// folder of a folder source resolved under the root (symlinks included).
    ///
    /// # Errors
    /// When a folder source leaves the root, points into [`STATE_DIR`] or does not exist.
    pub fn source_dir(&self, source: &ProjectSource) -> Result<PathBuf, String> {
        match source {
            ProjectSource::Git { .. } | ProjectSource::Github { .. } => Ok(self.checkout()),
            ProjectSource::Folder { path } => folder_source(&self.root, path),
        }
    }

    /// Path of the env file of one compose run.
    pub fn env_file(&self) -> PathBuf {
        self.project_dir.join("deploy.env")
    }
}

/// `path` (relative) resolved under `root` as an existing folder that is not the panel's own
/// state folder.
///
/// # Errors
/// A sentence saying why the folder cannot be used.
pub fn folder_source(root: &Path, path: &str) -> Result<PathBuf, String> {
    let relative = RelativePath::parse("source.folder", path)
        .and_then(|p| p.portable("source.folder"))
        .map_err(|e| e.to_string())?;
    if relative.as_str().split('/').next() == Some(STATE_DIR) {
        return Err(format!("source.folder: {STATE_DIR}/ holds the panel's own files and cannot be deployed"));
    }
    let dir = resolve_under("source.folder", root, &relative).map_err(|e| e.to_string())?;
    if !dir.is_dir() {
        return Err(format!("source.folder: {path:?} is not a folder under the workspaces root {}", root.display()));
    }
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_sources_stay_under_the_root_and_out_of_the_state_folder() {
        let root = std::env::temp_dir().join(format!("warp-ws-{}", Uuid::new_v4().simple()));
        std::fs::create_dir_all(root.join("app")).unwrap();
        std::fs::create_dir_all(root.join(".warp/projects")).unwrap();
        std::os::unix::fs::symlink("/etc", root.join("escape")).unwrap();
        assert!(folder_source(&root, "app").is_ok());
        assert!(folder_source(&root, "../app").is_err());
        assert!(folder_source(&root, "escape").is_err());
        assert!(folder_source(&root, ".warp/projects").is_err());
        assert!(folder_source(&root, "missing").is_err());
        std::fs::remove_dir_all(&root).unwrap();
    }
}

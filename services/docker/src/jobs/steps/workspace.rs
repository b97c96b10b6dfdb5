//! Where a project's files live on the Docker host.
//!
//! Under the `workspaces_root` setting:
//! - `<root>/<folder>`: a folder source, as the user keeps it (never written by the panel);
//! - `<root>/.warp/projects/<project id>/checkout`: the git checkout of a git source;
//! - `<root>/.warp/projects/<project id>/deploy.env`: the deploy env for one compose run,
//!   mode 0600 in a 0700 folder, deleted when the run ends.
//!
//! Folder names come from project ids, never from names a user typed.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};
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

/// An env file for compose's `--env-file`, deleted on drop. One `NAME='value'` line per
/// variable: single quotes make both compose front ends (python-dotenv in v1, compose-go in v2)
/// take the value literally, with no `$` interpolation. Values were checked at the API to hold
/// no `'`, newline or NUL.
#[derive(Debug)]
pub struct EnvFile {
    path: PathBuf,
}

impl EnvFile {
    /// Writes `vars` to `path` with mode 0600 (replacing a stale file from a crashed run).
    ///
    /// # Errors
    /// When the file cannot be written, or a value holds a character that cannot be quoted.
    pub fn write(path: PathBuf, vars: &BTreeMap<String, SecretString>) -> Result<Self, String> {
        let _ = std::fs::remove_file(&path);
        let file = Self { path };
        let mut out = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&file.path)
            .map_err(|e| format!("writing the deploy env file: {e}"))?;
        for (name, value) in vars {
            let value = value.expose_secret();
            if value.contains(['\'', '\n', '\r', '\0']) {
                return Err(format!("deploy env {name}: the value holds a quote, line break or NUL and cannot be written"));
            }
            writeln!(out, "{name}='{value}'").map_err(|e| format!("writing the deploy env file: {e}"))?;
        }
        out.sync_all().map_err(|e| format!("writing the deploy env file: {e}"))?;
        Ok(file)
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for EnvFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    #[test]
    fn env_files_are_private_quoted_and_removed_on_drop() {
        let dir = std::env::temp_dir().join(format!("warp-envfile-{}", Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("deploy.env");
        let vars = BTreeMap::from([("TOKEN".to_owned(), SecretString::from("a$b c".to_owned()))]);
        let file = EnvFile::write(path.clone(), &vars).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "TOKEN='a$b c'\n");
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        drop(file);
        assert!(!path.exists());
        let quoted = BTreeMap::from([("X".to_owned(), SecretString::from("it's".to_owned()))]);
        assert!(EnvFile::write(path.clone(), &quoted).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

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

//! A project's folders on the Docker host ([`Workspace`], shared with the github service, lives
//! in `warp_jobs::workspace`) and the deploy env file of one compose run
//! (`<root>/.warp/projects/<project id>/deploy.env`, mode 0600 in a 0700 folder, deleted when
//! the run ends).

pub use warp_jobs::workspace::{folder_source, Workspace, STATE_DIR};

use std::collections::BTreeMap;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};

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

    use uuid::Uuid;

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
}

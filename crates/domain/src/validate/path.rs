//! Filesystem paths: absolute settings paths, and paths a request names inside a root the
//! panel owns (a project's workspace).
//!
//! The lexical rules (no `..`, no NUL or control characters, bounded length) need no disk;
//! [`resolve_under`] also follows symlinks on disk so a link inside the root cannot lead out.

use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::ValidationError;

/// Longest accepted path, in bytes (Linux `PATH_MAX`).
pub const MAX_PATH_LEN: usize = 4096;

fn check_text(field: &str, raw: &str) -> Result<(), ValidationError> {
    let err = |message: &str| Err(ValidationError::new(field, message));
    if raw.is_empty() {
        return err("must not be empty");
    }
    if raw.len() > MAX_PATH_LEN {
        return err("must be at most 4096 bytes");
    }
    if raw.contains('\0') {
        return err("must not contain NUL");
    }
    if raw.chars().any(char::is_control) {
        return err("must not contain control characters (newlines, tabs)");
    }
    if raw.split('/').any(|part| part == "..") {
        return err("must not contain '..'");
    }
    if raw.split('/').any(|part| part.starts_with('-')) {
        return err("must not have a component starting with '-' (it would be read as an option)");
    }
    Ok(())
}

/// An absolute path such as `/srv/warp/workspaces`: starts with `/`, has no `..`, NUL or control
/// characters, no component starting with `-`, at most 4096 bytes. `.` and repeated `/` are
/// normalised away.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AbsolutePath(String);

impl AbsolutePath {
    /// The normalised path.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The path as a [`Path`].
    pub fn as_path(&self) -> &Path {
        Path::new(&self.0)
    }

    /// Parses `raw` and reports problems under `field`.
    pub fn parse(field: &str, raw: &str) -> Result<Self, ValidationError> {
        check_text(field, raw)?;
        if !raw.starts_with('/') {
            return Err(ValidationError::new(field, "must be an absolute path starting with '/'"));
        }
        let parts: Vec<&str> = raw.split('/').filter(|p| !p.is_empty() && *p != ".").collect();
        Ok(Self(format!("/{}", parts.join("/"))))
    }
}

/// Operating-system folders (Filesystem Hierarchy Standard) that a data folder of the panel
/// may neither be nor lie in: the panel writes checkouts and env files there.
pub const SYSTEM_DIRS: [&str; 12] = ["/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/proc", "/run", "/sbin", "/sys", "/usr"];

impl AbsolutePath {
    /// `self` if it may hold the panel's data: not `/` and not inside one of [`SYSTEM_DIRS`].
    ///
    /// # Errors
    /// A [`ValidationError`] under `field` naming the system folder.
    pub fn data_dir(self, field: &str) -> Result<Self, ValidationError> {
        if self.0 == "/" {
            return Err(ValidationError::new(field, "must not be the root folder"));
        }
        match SYSTEM_DIRS.iter().find(|dir| self.0 == **dir || self.0.starts_with(&format!("{dir}/"))) {
            Some(dir) => Err(ValidationError::new(field, format!("must not be in the system folder {dir}"))),
            None => Ok(self),
        }
    }
}

impl TryFrom<String> for AbsolutePath {
    type Error = ValidationError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse("path", &value)
    }
}

impl From<AbsolutePath> for String {
    fn from(value: AbsolutePath) -> Self {
        value.0
    }
}

/// A path relative to some root, e.g. `deploy/compose.yaml` inside a workspace: not absolute,
/// no `..`, NUL or control characters, no component starting with `-`, at most 4096 bytes.
/// Turn it into a real path with [`resolve_under`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RelativePath(String);

impl RelativePath {
    /// The normalised path (no `.` components, single slashes).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Parses `raw` and reports problems under `field`.
    pub fn parse(field: &str, raw: &str) -> Result<Self, ValidationError> {
        check_text(field, raw)?;
        if raw.starts_with('/') {
            return Err(ValidationError::new(field, "must be a relative path (no leading '/')"));
        }
        let parts: Vec<&str> = raw.split('/').filter(|p| !p.is_empty() && *p != ".").collect();
        if parts.is_empty() {
            return Err(ValidationError::new(field, "must name a file or folder, not the root itself"));
        }
        Ok(Self(parts.join("/")))
    }
}

impl RelativePath {
    /// `self` if every component uses only the POSIX portable filename character set
    /// (`A-Z a-z 0-9 . _ -`, POSIX.1-2017 §3.282): what compose files and project folders
    /// need, with no room for shell metacharacters, spaces or look-alike characters.
    ///
    /// # Errors
    /// A [`ValidationError`] under `field` naming the first other character.
    pub fn portable(self, field: &str) -> Result<Self, ValidationError> {
        match self.0.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/'))) {
            Some(bad) => Err(ValidationError::new(
                field,
                format!("contains {bad:?}; only ASCII letters, digits, '.', '_', '-' and '/' are allowed"),
            )),
            None => Ok(self),
        }
    }
}

impl TryFrom<String> for RelativePath {
    type Error = ValidationError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse("path", &value)
    }
}

impl From<RelativePath> for String {
    fn from(value: RelativePath) -> Self {
        value.0
    }
}

/// `root/path` as a real path, refused (under `field`) when it would lie outside `root` once
/// symlinks are followed: every existing prefix of the joined path is canonicalised and must
/// stay inside the canonical root. Parts that do not exist yet are appended as they are (they
/// have passed the lexical rules, so they cannot climb out).
///
/// # Errors
/// A [`ValidationError`] when a symlink leads outside `root`, or when `root` itself cannot be
/// resolved (it must exist).
pub fn resolve_under(field: &str, root: &Path, path: &RelativePath) -> Result<PathBuf, ValidationError> {
    let root = root
        .canonicalize()
        .map_err(|error| ValidationError::new(field, format!("the allowed root cannot be resolved: {error}")))?;
    let mut resolved = root.clone();
    let mut components = Path::new(path.as_str()).components();
    while let Some(component) = components.next() {
        let Component::Normal(part) = component else {
            return Err(ValidationError::new(field, "must be a plain relative path"));
        };
        let next = resolved.join(part);
        match next.symlink_metadata() {
            Ok(_) => {
                let real = next.canonicalize().map_err(|error| {
                    ValidationError::new(field, format!("cannot be resolved: {error}"))
                })?;
                if !real.starts_with(&root) {
                    return Err(ValidationError::new(field, "leads outside the allowed folder through a symlink"));
                }
                resolved = real;
            }
            Err(_) => {
                resolved = next;
                resolved.extend(components);
                break;
            }
        }
    }
    Ok(resolved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_paths_are_normalised_and_refuse_dotdot_nul_and_options() {
        assert_eq!(AbsolutePath::parse("workspaces_root", "/srv//warp/./ws/").unwrap().as_str(), "/srv/warp/ws");
        for bad in ["", "srv/warp", "/srv/../etc", "/srv/\0x", "/srv/a\nb", "/srv/-rf", "..", "%2e%2e%2f"] {
            let error = AbsolutePath::parse("workspaces_root", bad).expect_err(bad);
            assert_eq!(error.field, "workspaces_root", "{bad:?}");
        }
        assert!(AbsolutePath::parse("p", &format!("/{}", "a".repeat(4096))).is_err());
    }

    #[test]
    fn relative_paths_refuse_absolute_paths_and_climbing() {
        assert_eq!(RelativePath::parse("compose_file", "./deploy//compose.yaml").unwrap().as_str(), "deploy/compose.yaml");
        for bad in ["", "/etc/passwd", "../x", "a/../../x", "a/..", ".", "a\0b", "-f", "a/--x"] {
            assert!(RelativePath::parse("compose_file", bad).is_err(), "{bad:?}");
        }
    }

    fn scratch() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("warp-path-test-{}-{}", std::process::id(), rand_suffix()));
        std::fs::create_dir_all(dir.join("root/inside")).unwrap();
        std::fs::create_dir_all(dir.join("outside")).unwrap();
        dir
    }

    fn rand_suffix() -> u128 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
    }

    #[test]
    fn resolving_under_a_root_follows_symlinks_and_refuses_escapes() {
        let dir = scratch();
        let root = dir.join("root");
        std::os::unix::fs::symlink(dir.join("outside"), root.join("escape")).unwrap();
        std::os::unix::fs::symlink(root.join("inside"), root.join("alias")).unwrap();
        let rel = |raw: &str| RelativePath::parse("compose_file", raw).unwrap();
        let canonical = root.canonicalize().unwrap();

        assert_eq!(resolve_under("compose_file", &root, &rel("inside/new/c.yaml")).unwrap(), canonical.join("inside/new/c.yaml"));
        assert_eq!(resolve_under("compose_file", &root, &rel("alias/c.yaml")).unwrap(), canonical.join("inside/c.yaml"));
        let error = resolve_under("compose_file", &root, &rel("escape/c.yaml")).unwrap_err();
        assert_eq!(error.field, "compose_file");
        assert!(error.message.contains("symlink"), "{error}");
        assert!(resolve_under("compose_file", &dir.join("missing"), &rel("a")).is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn portable_paths_allow_only_the_posix_portable_filename_characters() {
        let ok = RelativePath::parse("f", "deploy/compose.prod-1_x.yml").unwrap();
        assert!(ok.portable("f").is_ok());
        for bad in ["a b.yml", "x;y.yml", "$(id).yml", "a`b`.yml", "dépôt/compose.yml", "shop；x"] {
            let parsed = RelativePath::parse("f", bad);
            assert!(parsed.and_then(|p| p.portable("f")).is_err(), "{bad}");
        }
    }
}

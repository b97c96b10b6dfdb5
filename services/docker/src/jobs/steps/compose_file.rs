//! Finding the compose file in a checkout.

use std::path::{Path, PathBuf};

use warp_domain::validate::{resolve_under, RelativePath};

/// Compose's own default file names, in the order compose tries them (compose-go
/// `cli.DefaultFileNames`; docker-compose v1 accepts the same names).
pub const DEFAULT_NAMES: [&str; 4] = ["compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml"];

/// The compose file of `dir`: `configured` (relative to `dir`) or the first default name that
/// exists. The file must stay inside `dir` once symlinks are followed, and be a regular file.
///
/// # Errors
/// A sentence naming the field and the problem (escape, missing, not a file).
pub fn find(dir: &Path, configured: Option<&str>) -> Result<PathBuf, String> {
    let candidates: Vec<String> = match configured {
        Some(path) => vec![path.to_owned()],
        None => DEFAULT_NAMES.iter().map(|n| (*n).to_owned()).collect(),
    };
    for candidate in &candidates {
        let relative = RelativePath::parse("compose_file", candidate).map_err(|e| e.to_string())?;
        let lexical = dir.join(relative.as_str());
        if lexical.symlink_metadata().is_err() {
            continue;
        }
        let resolved = resolve_under("compose_file", dir, &relative).map_err(|e| e.to_string())?;
        if !resolved.is_file() {
            return Err(format!("compose_file: {candidate:?} is not a regular file"));
        }
        return Ok(resolved);
    }
    Err(match configured {
        Some(path) => format!("compose_file: {path:?} does not exist in the source"),
        None => format!("no compose file in the source (looked for {})", DEFAULT_NAMES.join(", ")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("warp-compose-find-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(dir.join("deploy")).unwrap();
        dir
    }

    #[test]
    fn default_names_are_tried_in_composes_order() {
        let dir = tree();
        std::fs::write(dir.join("docker-compose.yml"), "services: {}\n").unwrap();
        assert_eq!(find(&dir, None).unwrap(), dir.canonicalize().unwrap().join("docker-compose.yml"));
        std::fs::write(dir.join("compose.yaml"), "services: {}\n").unwrap();
        assert_eq!(find(&dir, None).unwrap(), dir.canonicalize().unwrap().join("compose.yaml"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn paths_and_symlinks_out_of_the_checkout_are_refused() {
        let dir = tree();
        std::fs::write(dir.join("deploy/app.yml"), "services: {}\n").unwrap();
        std::os::unix::fs::symlink("/etc/hostname", dir.join("compose.yaml")).unwrap();
        std::os::unix::fs::symlink("/etc", dir.join("deploy/etc")).unwrap();
        assert!(find(&dir, Some("deploy/app.yml")).is_ok());
        for bad in ["../../etc/x.yml", "/etc/hostname", "deploy/etc/hostname", "deploy/../../x.yml"] {
            let error = find(&dir, Some(bad)).expect_err(bad);
            assert!(error.starts_with("compose_file"), "{error}");
        }
        // The default name is a symlink out of the checkout: refused, not followed.
        assert!(find(&dir, None).unwrap_err().starts_with("compose_file"));
        assert!(find(&dir, Some("missing.yml")).unwrap_err().contains("does not exist"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

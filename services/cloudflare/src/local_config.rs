//! cloudflared's local `config.yml`: a typed model that keeps every key it does not know,
//! written atomically with the last few versions kept beside it.
//!
//! A write is: copy the current file to `<name>.warp-backup-<UTC time>` (the oldest beyond
//! the configured count are deleted), write the new text to a temporary file in the same
//! folder (mode of the old file, else 0600), `fsync` it, `rename` it over the file, `fsync`
//! the folder. A crash at any point leaves either the old or the new file, never a mix.
//! cloudflared reads the file only when it starts, so a write is followed by a restart
//! (see [`crate::restart`]); when cloudflared does not come back, [`restore`] puts the
//! previous text back the same way.

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use crate::ingress::{Ingress, IngressRule};

/// The top level of `config.yml`. Keys other than `tunnel`, `credentials-file` and `ingress`
/// (`originRequest`, `warp-routing`, `loglevel`, …) are kept in their order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocalConfig {
    /// Tunnel id or name the file runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tunnel: Option<String>,
    #[serde(default, rename = "credentials-file", skip_serializing_if = "Option::is_none")]
    pub credentials_file: Option<String>,
    #[serde(default)]
    pub ingress: Vec<IngressRule>,
    /// Every other top-level key, untouched.
    #[serde(flatten)]
    pub extra: serde_norway::Mapping,
}

impl LocalConfig {
    /// Parses the text of a `config.yml`.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        serde_norway::from_str(text).context("config.yml is not a cloudflared configuration (YAML mapping)")
    }

    /// The YAML text of the model.
    pub fn to_yaml(&self) -> anyhow::Result<String> {
        serde_norway::to_string(self).context("writing config.yml")
    }

    /// The ingress rules as the shared model.
    pub fn ingress(&self) -> Ingress {
        Ingress { rules: self.ingress.clone() }
    }
}

/// Reads `path`: its text and the model.
pub fn read(path: &Path) -> anyhow::Result<(String, LocalConfig)> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let config = LocalConfig::parse(&text).with_context(|| format!("reading {}", path.display()))?;
    Ok((text, config))
}

/// Replaces `path` with `text` atomically, first keeping the current file as a backup (at
/// most `keep` backups stay). Returns the backup written, if any.
pub fn write(path: &Path, text: &str, keep: usize) -> anyhow::Result<Option<PathBuf>> {
    let backup = if path.exists() && keep > 0 {
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.6fZ");
        let backup = sibling(path, &format!("warp-backup-{stamp}"))?;
        std::fs::copy(path, &backup).with_context(|| format!("keeping a backup of {}", path.display()))?;
        prune_backups(path, keep)?;
        Some(backup)
    } else {
        None
    };
    replace(path, text)?;
    Ok(backup)
}

/// Puts `previous` back at `path` atomically (no new backup).
pub fn restore(path: &Path, previous: &str) -> anyhow::Result<()> {
    replace(path, previous)
}

/// The backups of `path`, oldest first.
pub fn backups(path: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let dir = path.parent().context("the config path has no folder")?;
    let prefix = format!("{}.warp-backup-", file_name(path)?);
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("listing {}", dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(&prefix)))
        .collect();
    found.sort();
    Ok(found)
}

fn prune_backups(path: &Path, keep: usize) -> anyhow::Result<()> {
    let all = backups(path)?;
    for old in all.iter().take(all.len().saturating_sub(keep)) {
        std::fs::remove_file(old).with_context(|| format!("removing the old backup {}", old.display()))?;
    }
    Ok(())
}

fn file_name(path: &Path) -> anyhow::Result<&str> {
    path.file_name().and_then(|n| n.to_str()).context("the config path has no file name")
}

fn sibling(path: &Path, suffix: &str) -> anyhow::Result<PathBuf> {
    let dir = path.parent().context("the config path has no folder")?;
    Ok(dir.join(format!("{}.{suffix}", file_name(path)?)))
}

/// temp file + fsync + rename + fsync of the folder.
fn replace(path: &Path, text: &str) -> anyhow::Result<()> {
    let dir = path.parent().context("the config path has no folder")?;
    let mode = std::fs::metadata(path).map(|m| m.permissions().mode() & 0o7777).unwrap_or(0o600);
    let temp = sibling(path, &format!("warp-tmp-{}", uuid::Uuid::new_v4().simple()))?;
    let written = (|| -> anyhow::Result<()> {
        let mut file = std::fs::OpenOptions::new().write(true).create_new(true).open(&temp)?;
        file.set_permissions(std::fs::Permissions::from_mode(mode))?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&temp, path)?;
        std::fs::File::open(dir)?.sync_all()?;
        Ok(())
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written.with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "tunnel: 6ff42ae2-765d-4adf-8112-31c55c1551ef
credentials-file: /etc/cloudflared/creds.json
loglevel: info
originRequest:
  connectTimeout: 30s
ingress:
  - hostname: a.example.com
    service: http://a:1
    originRequest:
      noTLSVerify: true
  - service: http_status:404
warp-routing:
  enabled: true
";

    fn folder() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("warp-cf-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn unknown_keys_survive_a_round_trip() {
        let config = LocalConfig::parse(FILE).unwrap();
        assert_eq!(config.ingress[0].extra["originRequest"]["noTLSVerify"], serde_json::json!(true));
        let again = LocalConfig::parse(&config.to_yaml().unwrap()).unwrap();
        assert_eq!(again, config);
        let text = config.to_yaml().unwrap();
        for key in ["loglevel: info", "connectTimeout: 30s", "warp-routing:", "noTLSVerify: true", "credentials-file:"] {
            assert!(text.contains(key), "{key} kept in\n{text}");
        }
    }

    #[test]
    fn a_write_keeps_the_last_backups_and_the_file_mode() {
        let dir = folder();
        let path = dir.join("config.yml");
        std::fs::write(&path, "v0").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        for i in 1..=4 {
            write(&path, &format!("v{i}"), 2).unwrap();
        }
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "v4");
        let kept: Vec<String> = backups(&path).unwrap().iter().map(|p| std::fs::read_to_string(p).unwrap()).collect();
        assert_eq!(kept, ["v2", "v3"]);
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o640);
        restore(&path, "v3").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "v3");
        let leftovers = std::fs::read_dir(&dir).unwrap().filter_map(Result::ok).filter(|e| e.file_name().to_string_lossy().contains("warp-tmp")).count();
        assert_eq!(leftovers, 0);
        std::fs::remove_dir_all(dir).unwrap();
    }
}

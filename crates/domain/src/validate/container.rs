//! Docker container names and ids, and compose project names.

use serde::{Deserialize, Serialize};

use super::{ProjectName, ValidationError};

/// A container name as Docker accepts it: `[a-zA-Z0-9][a-zA-Z0-9_.-]+` (Docker's
/// `RestrictedNameChars`), at most 128 characters here. A leading `/` (as the Docker API
/// reports names) is dropped.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ContainerName(String);

impl ContainerName {
    /// The name without a leading `/`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Parses `raw` and reports problems under `field`.
    pub fn parse(field: &str, raw: &str) -> Result<Self, ValidationError> {
        let name = raw.strip_prefix('/').unwrap_or(raw);
        let first_ok = name.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
        let rest_ok = name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
        if (2..=128).contains(&name.len()) && first_ok && rest_ok {
            Ok(Self(name.to_owned()))
        } else {
            Err(ValidationError::new(
                field,
                "must be a container name: 2-128 ASCII letters, digits, '_', '.' or '-', starting with a letter or digit",
            ))
        }
    }
}

impl TryFrom<String> for ContainerName {
    type Error = ValidationError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse("container", &value)
    }
}

impl From<ContainerName> for String {
    fn from(value: ContainerName) -> Self {
        value.0
    }
}

/// A full container id: 64 lower-case hex digits (a SHA-256, as the Docker API returns it).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ContainerId(String);

impl ContainerId {
    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Parses `raw` and reports problems under `field`.
    pub fn parse(field: &str, raw: &str) -> Result<Self, ValidationError> {
        if raw.len() == 64 && raw.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ValidationError::new(field, "must be a full container id: 64 lower-case hex digits"))
        }
    }
}

impl TryFrom<String> for ContainerId {
    type Error = ValidationError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse("container_id", &value)
    }
}

impl From<ContainerId> for String {
    fn from(value: ContainerId) -> Self {
        value.0
    }
}

/// A compose project name (`docker compose -p`): `[a-z0-9][a-z0-9_-]*`, at most 63 characters
/// (the Compose specification's rule).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ComposeProjectName(String);

impl ComposeProjectName {
    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Parses `raw` and reports problems under `field`.
    pub fn parse(field: &str, raw: &str) -> Result<Self, ValidationError> {
        let first_ok = raw.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        let rest_ok = raw.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-'));
        if raw.len() <= 63 && first_ok && rest_ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ValidationError::new(
                field,
                "must be a compose project name: lower-case letters, digits, '_' or '-', starting with a letter or digit (at most 63)",
            ))
        }
    }

    /// The compose project name of project `id` named `name`: `warp-<slug>-<8 hex>`.
    ///
    /// The slug is the name lower-cased with every run of characters outside `[a-z0-9]`
    /// turned into one `-` and none at either end (cut so the whole stays within 63
    /// characters). That is stricter than compose's own rule on purpose: compose names built
    /// images `<project>_<service>` (v1) or `<project>-<service>` (v2), and a Docker image
    /// reference allows only single separators between alphanumeric runs
    /// (`distribution/reference` grammar): a name ending in `_` followed by `-<suffix>` would
    /// give an image tag such as `warp-my-app_-0a1b2c3d_web`, which `docker build -t` refuses. The suffix is the last 8 hex
    /// digits of the id (its random part), so `My.App` and `my-app` never share containers;
    /// the `warp-` prefix keeps panel projects apart from compose projects started by hand.
    pub fn for_project(name: &ProjectName, id: uuid::Uuid) -> Self {
        let hex = id.simple().to_string();
        let suffix = &hex[hex.len() - 8..];
        let mut slug = String::new();
        for c in name.as_str().to_ascii_lowercase().chars() {
            if c.is_ascii_alphanumeric() {
                slug.push(c);
            } else if !slug.is_empty() && !slug.ends_with('-') {
                slug.push('-');
            }
        }
        let room = 63 - "warp-".len() - 1 - suffix.len();
        slug.truncate(room);
        let slug = slug.trim_end_matches('-');
        if slug.is_empty() {
            Self(format!("warp-{suffix}"))
        } else {
            Self(format!("warp-{slug}-{suffix}"))
        }
    }
}

impl From<ComposeProjectName> for String {
    fn from(value: ComposeProjectName) -> Self {
        value.0
    }
}

impl TryFrom<String> for ComposeProjectName {
    type Error = ValidationError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse("compose_project", &value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_names_follow_dockers_rule() {
        assert_eq!(ContainerName::parse("c", "/cloudflared").unwrap().as_str(), "cloudflared");
        assert!(ContainerName::parse("c", "web_1.x-y").is_ok());
        for bad in ["", "a", "-a", "_a", ".a", "a b", "a;b", "a/b", "$(id)", "а1", &"a".repeat(129)] {
            assert_eq!(ContainerName::parse("cloudflared_container", bad).expect_err(bad).field, "cloudflared_container");
        }
    }

    #[test]
    fn container_ids_are_64_lower_case_hex_digits() {
        assert!(ContainerId::parse("id", &"ab12".repeat(16)).is_ok());
        for bad in [String::new(), "ab12".repeat(3), "AB12".repeat(16), "g".repeat(64), "a".repeat(65)] {
            assert!(ContainerId::parse("id", &bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn compose_project_names_are_derived_from_project_names_and_stay_valid() {
        let id = uuid::Uuid::parse_str("0190c3a5-1111-7000-8000-00000a1b2c3d").unwrap();
        let name = ProjectName::try_from("My.Shop 2".to_owned()).unwrap();
        let compose = ComposeProjectName::for_project(&name, id);
        assert_eq!(compose.as_str(), "warp-my-shop-2-0a1b2c3d");
        // Every derived name is also a valid image name prefix: no separator runs.
        assert!(!compose.as_str().contains("--") && !compose.as_str().contains("_-"));
        assert!(ComposeProjectName::parse("p", compose.as_str()).is_ok());
        let trailing = ProjectName::try_from("My.App_".to_owned()).unwrap();
        assert_eq!(ComposeProjectName::for_project(&trailing, id).as_str(), "warp-my-app-0a1b2c3d");
        let runs = ProjectName::try_from("a__b--c._d".to_owned()).unwrap();
        assert_eq!(ComposeProjectName::for_project(&runs, id).as_str(), "warp-a-b-c-d-0a1b2c3d");
        let long = ProjectName::try_from("A".repeat(64)).unwrap();
        let long = ComposeProjectName::for_project(&long, id);
        assert_eq!(long.as_str().len(), 63);
        assert!(ComposeProjectName::parse("p", long.as_str()).is_ok());
        for bad in ["", "Shop", "-a", "_a", "a.b", "a b", &"a".repeat(64)] {
            assert!(ComposeProjectName::parse("p", bad).is_err(), "{bad}");
        }
    }
}

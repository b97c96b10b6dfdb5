//! GitHub repository names and slugs (`owner/name`).
//!
//! GitHub's rules: an owner is a user or organisation login ([`GithubLogin`]: 1-39 letters,
//! digits or single hyphens, no leading or trailing hyphen); a repository name is at most 100
//! ASCII letters, digits, `.`, `_` or `-` (GitHub turns anything else into `-` when it
//! creates one, so a name with other characters names no repository), and is neither `.` nor
//! `..`. A name ending in `.git` is refused too: the clone URL `<owner>/<name>.git` would be
//! ambiguous.

use serde::{Deserialize, Serialize};

use super::{GithubLogin, ValidationError};

/// A repository name (the part after `owner/`), by GitHub's rules (module docs).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RepoName(String);

impl RepoName {
    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Parses `raw` and reports problems under `field`.
    pub fn parse(field: &str, raw: &str) -> Result<Self, ValidationError> {
        let ok = (1..=100).contains(&raw.len())
            && raw != "."
            && raw != ".."
            && !raw.to_ascii_lowercase().ends_with(".git")
            && raw.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ValidationError::new(
                field,
                "must be a GitHub repository name: 1-100 ASCII letters, digits, '.', '_' or '-', not '.' or '..', not ending in .git",
            ))
        }
    }
}

impl TryFrom<String> for RepoName {
    type Error = ValidationError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse("name", &value)
    }
}

impl From<RepoName> for String {
    fn from(value: RepoName) -> Self {
        value.0
    }
}

/// A repository as `owner/name`: the owner follows GitHub's login rules ([`GithubLogin`]), the
/// name [`RepoName`]'s.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RepoSlug(String);

impl RepoSlug {
    /// `owner/name`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The owner part.
    pub fn owner(&self) -> &str {
        self.0.split_once('/').map_or("", |(owner, _)| owner)
    }

    /// The name part.
    pub fn name(&self) -> &str {
        self.0.split_once('/').map_or("", |(_, name)| name)
    }

    /// Parses `raw` and reports problems under `field`.
    pub fn parse(field: &str, raw: &str) -> Result<Self, ValidationError> {
        let err = || ValidationError::new(field, "must be a GitHub repository as owner/name (e.g. octo/template-web)");
        let (owner, name) = raw.split_once('/').ok_or_else(err)?;
        GithubLogin::try_from(owner.to_owned()).map_err(|_| err())?;
        RepoName::parse(field, name).map_err(|_| err())?;
        Ok(Self(raw.to_owned()))
    }
}

impl TryFrom<String> for RepoSlug {
    type Error = ValidationError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse("repo", &value)
    }
}

impl From<RepoSlug> for String {
    fn from(value: RepoSlug) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_slugs_are_owner_slash_name() {
        let slug = RepoSlug::parse("template_repos", "octo-org/template.web_1").unwrap();
        assert_eq!((slug.owner(), slug.name()), ("octo-org", "template.web_1"));
        for bad in ["", "octo", "octo/", "/web", "octo/..", "octo/a/b", "-o/web", "octo/we b", "octo/$(id)", "octo/we;b", "octo/web.git"] {
            assert_eq!(RepoSlug::parse("template_repos", bad).expect_err(bad).field, "template_repos");
        }
        assert!(RepoSlug::parse("repo", &format!("octo/{}", "a".repeat(100))).is_ok());
        assert!(RepoSlug::parse("repo", &format!("octo/{}", "a".repeat(101))).is_err());
        assert!(RepoSlug::parse("repo", &format!("{}/web", "o".repeat(40))).is_err());
    }

    #[test]
    fn repo_names_follow_githubs_rules() {
        assert_eq!(RepoName::parse("name", "shop_web-2.0").unwrap().as_str(), "shop_web-2.0");
        for bad in ["", ".", "..", "my shop", "shop/web", "shop.GIT", "shöp"] {
            assert_eq!(RepoName::parse("name", bad).expect_err(bad).field, "name");
        }
    }
}

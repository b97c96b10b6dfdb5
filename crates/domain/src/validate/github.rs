//! GitHub repository slugs (`owner/name`).

use serde::{Deserialize, Serialize};

use super::{GithubLogin, ValidationError};

/// A repository as `owner/name`: the owner follows GitHub's login rules ([`GithubLogin`]), the
/// name is 1-100 ASCII letters, digits, `.`, `_` or `-` and is neither `.` nor `..`.
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
        let name_ok = (1..=100).contains(&name.len())
            && name != "."
            && name != ".."
            && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !name_ok {
            return Err(err());
        }
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
        for bad in ["", "octo", "octo/", "/web", "octo/..", "octo/a/b", "-o/web", "octo/we b", "octo/$(id)", "octo/we;b"] {
            assert_eq!(RepoSlug::parse("template_repos", bad).expect_err(bad).field, "template_repos");
        }
    }
}

//! Names: project display names, subdomains (RFC 1123 labels) and descriptions.

use serde::{Deserialize, Serialize};

use super::ValidationError;

/// A project's display name: 1-64 characters, starting with an ASCII letter or digit, then ASCII
/// letters, digits, spaces, `.`, `_` and `-`; no leading or trailing space. Case is kept
/// (`My.App_` is valid); a compose project name is derived from it separately.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ProjectName(String);

impl ProjectName {
    /// Longest accepted name, in characters.
    pub const MAX_LEN: usize = 64;

    /// The name as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ProjectName {
    type Error = ValidationError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        let err = |message: &str| Err(ValidationError::new("name", message));
        if value.is_empty() {
            return err("must not be empty");
        }
        if value.chars().count() > Self::MAX_LEN {
            return err("must be at most 64 characters");
        }
        if !value.chars().next().is_some_and(|c| c.is_ascii_alphanumeric()) {
            return err("must start with an ASCII letter or digit");
        }
        if value.ends_with(' ') {
            return err("must not end with a space");
        }
        if let Some(bad) = value
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, ' ' | '.' | '_' | '-')))
        {
            return Err(ValidationError::new(
                "name",
                format!(
                    "contains {bad:?}; only ASCII letters, digits, spaces, '.', '_' and '-' are allowed"
                ),
            ));
        }
        Ok(Self(value))
    }
}

impl From<ProjectName> for String {
    fn from(value: ProjectName) -> Self {
        value.0
    }
}

/// A subdomain label under the panel's base domain: one DNS label per RFC 1123 §2.1 (letters,
/// digits and hyphens, 1-63 characters, not starting or ending with a hyphen), lower-cased on
/// input. Punycode labels (`xn--…`) are accepted as they are plain LDH labels.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Subdomain(String);

impl Subdomain {
    /// The lower-cased label.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Subdomain {
    type Error = ValidationError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        let err = |message: &str| Err(ValidationError::new("subdomain", message));
        let label = value.to_ascii_lowercase();
        if label.is_empty() {
            return err("must not be empty");
        }
        if label.len() > 63 {
            return err("must be at most 63 characters (RFC 1123 label)");
        }
        if !label.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
            return err(
                "may contain only letters, digits and '-' (one RFC 1123 label: no dots, scheme, port, path or '_')",
            );
        }
        if label.starts_with('-') || label.ends_with('-') {
            return err("must not start or end with '-'");
        }
        Ok(Self(label))
    }
}

impl From<Subdomain> for String {
    fn from(value: Subdomain) -> Self {
        value.0
    }
}

/// A free-text description: at most 500 characters and no control characters
/// (newlines included), so it can be shown on one line and logged safely.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Description(String);

impl Description {
    /// Longest accepted description, in characters.
    pub const MAX_LEN: usize = 500;

    /// The description as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Description {
    type Error = ValidationError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        if value.chars().count() > Self::MAX_LEN {
            return Err(ValidationError::new("description", "must be at most 500 characters"));
        }
        if value.chars().any(char::is_control) {
            return Err(ValidationError::new(
                "description",
                "must not contain control characters (newlines, tabs, NUL)",
            ));
        }
        Ok(Self(value))
    }
}

impl From<Description> for String {
    fn from(value: Description) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> Result<ProjectName, ValidationError> {
        ProjectName::try_from(s.to_owned())
    }

    #[test]
    fn project_names_keep_case_and_allow_dots_underscores_and_spaces() {
        assert_eq!(name("My.App_").unwrap().as_str(), "My.App_");
        assert!(name("shop 2").is_ok());
    }

    #[test]
    fn project_names_reject_shell_metacharacters_paths_and_option_like_values() {
        for bad in ["", "-rf", "a;b", "a|b", "$(id)", "`id`", "../x", "a\nb", "a\0b", " x", "x ", "é"] {
            let error = name(bad).expect_err(bad);
            assert_eq!(error.field, "name");
        }
        assert!(name(&"a".repeat(65)).is_err());
        assert!(name(&"a".repeat(64)).is_ok());
    }

    #[test]
    fn subdomains_are_lowercased_rfc1123_labels() {
        assert_eq!(Subdomain::try_from("Shop-1".to_owned()).unwrap().as_str(), "shop-1");
        assert!(Subdomain::try_from("xn--bcher-kva".to_owned()).is_ok());
        for bad in ["", "-a", "a-", "a.b", "a_b", "a:80", "http://a", "a/b", &"a".repeat(64)] {
            assert!(Subdomain::try_from(bad.to_owned()).is_err(), "{bad}");
        }
    }

    #[test]
    fn descriptions_reject_control_characters_and_long_text() {
        assert!(Description::try_from("a shop".to_owned()).is_ok());
        assert!(Description::try_from("a\nb".to_owned()).is_err());
        assert!(Description::try_from("x".repeat(501)).is_err());
    }
}

/// A GitHub login: 1-39 characters, ASCII letters, digits and single hyphens, not starting or
/// ending with a hyphen (GitHub's username rules). Compared case-insensitively by GitHub; kept
/// as given here.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct GithubLogin(String);

impl GithubLogin {
    /// The login as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for GithubLogin {
    type Error = ValidationError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        let valid = !value.is_empty()
            && value.len() <= 39
            && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !value.starts_with('-')
            && !value.ends_with('-')
            && !value.contains("--");
        if valid {
            Ok(Self(value))
        } else {
            Err(ValidationError::new(
                "login",
                "must be a GitHub login: 1-39 letters, digits or single hyphens, not starting or ending with '-'",
            ))
        }
    }
}

impl From<GithubLogin> for String {
    fn from(value: GithubLogin) -> Self {
        value.0
    }
}

#[cfg(test)]
mod login_tests {
    use super::GithubLogin;

    #[test]
    fn github_logins_follow_githubs_rules() {
        assert!(GithubLogin::try_from("octo-cat42".to_owned()).is_ok());
        for bad in ["", "-a", "a-", "a--b", "a_b", "a b", &"a".repeat(40)] {
            assert!(GithubLogin::try_from(bad.to_owned()).is_err(), "{bad}");
        }
    }
}

//! Environment variable names (POSIX portable names, as `docker compose` and shells accept).

use serde::{Deserialize, Serialize};

use super::ValidationError;

/// An environment variable name: `[A-Za-z_][A-Za-z0-9_]*`, at most 255 characters
/// (POSIX.1-2017 §8.1 portable names).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EnvVarName(String);

impl EnvVarName {
    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Parses `raw` and reports problems under `field`.
    pub fn parse(field: &str, raw: &str) -> Result<Self, ValidationError> {
        let first_ok = raw.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
        let rest_ok = raw.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if raw.len() <= 255 && first_ok && rest_ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ValidationError::new(
                field,
                "must be an environment variable name: a letter or '_' followed by letters, digits or '_' (at most 255)",
            ))
        }
    }
}

impl TryFrom<String> for EnvVarName {
    type Error = ValidationError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse("env", &value)
    }
}

impl From<EnvVarName> for String {
    fn from(value: EnvVarName) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_var_names_are_posix_portable_names() {
        for good in ["PATH", "_x", "DATABASE_URL_2", "a"] {
            assert!(EnvVarName::parse("env", good).is_ok(), "{good}");
        }
        for bad in ["", "1A", "A-B", "A B", "A=B", "A;B", "$A", "Ａ", "-A", "A\nB"] {
            assert_eq!(EnvVarName::parse("env.name", bad).expect_err(bad).field, "env.name");
        }
        assert!(EnvVarName::parse("env", &"A".repeat(256)).is_err());
    }
}

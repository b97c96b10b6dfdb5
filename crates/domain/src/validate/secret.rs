//! API tokens handed to the panel (GitHub, Cloudflare): checked for shape, never shown.

use std::fmt;

use super::ValidationError;

/// A bearer token for an outside API: 20-255 characters of ASCII letters, digits, `_` and `-`,
/// not starting with `-`. That covers GitHub tokens (`ghp_…`, `github_pat_…`, classic 40-hex)
/// and Cloudflare API tokens (40 characters of `[A-Za-z0-9_-]`), and keeps whitespace, quotes
/// and header-splitting characters out of `Authorization` headers.
///
/// `Debug` prints only the length: the value must not reach logs. It is not `Serialize`.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiToken(String);

impl ApiToken {
    /// The token. Send it only to the API it belongs to; never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Parses `raw` and reports problems under `field`. The message never repeats the value.
    pub fn parse(field: &str, raw: String) -> Result<Self, ValidationError> {
        let shape_ok = (20..=255).contains(&raw.len())
            && !raw.starts_with('-')
            && raw.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'));
        if shape_ok {
            Ok(Self(raw))
        } else {
            Err(ValidationError::new(
                field,
                "must be an API token: 20-255 ASCII letters, digits, '_' or '-', not starting with '-'",
            ))
        }
    }
}

impl ApiToken {
    /// Parses a webhook secret (`github_webhook_secret`): 20-255 visible ASCII characters
    /// (`!` to `~`, no spaces), e.g. `openssl rand -hex 32`. GitHub takes any string; the
    /// bound keeps it random-looking, printable and free of line breaks. The message never
    /// repeats the value.
    pub fn parse_webhook_secret(field: &str, raw: String) -> Result<Self, ValidationError> {
        if (20..=255).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_graphic()) {
            Ok(Self(raw))
        } else {
            Err(ValidationError::new(field, "must be 20-255 visible ASCII characters without spaces (e.g. openssl rand -hex 32)"))
        }
    }
}

impl fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiToken(<{} chars>)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_tokens_have_a_token_shape_and_never_print() {
        let token = ApiToken::parse("github_token", format!("ghp_{}", "a1B2".repeat(9))).unwrap();
        assert!(!format!("{token:?}").contains("a1B2"));
        assert!(ApiToken::parse("t", "github_pat_11ABCDEFG0123456789_abcdefXYZ".into()).is_ok());
        for bad in ["", "short", "-aaaaaaaaaaaaaaaaaaaaaaa", "ghp aaaaaaaaaaaaaaaaaaaaaaa", "ghp;aaaaaaaaaaaaaaaaaaaaaaa",
            "ghp_aaaaaaaaaaaaaaaaaaaaaaa\r\nX-Evil: 1", "ghp_ааааааааааааааааааааа"] {
            let error = ApiToken::parse("cloudflare_api_token", bad.to_owned()).expect_err(bad);
            assert_eq!(error.field, "cloudflare_api_token");
            assert!(!error.message.contains("aaaa"));
        }
        assert!(ApiToken::parse("t", "a".repeat(256)).is_err());
    }

    #[test]
    fn webhook_secrets_are_visible_ascii_and_never_print() {
        let secret = ApiToken::parse_webhook_secret("github_webhook_secret", "s3cr3t+/=!~".repeat(3)).unwrap();
        assert!(!format!("{secret:?}").contains("s3cr3t"));
        for bad in ["short", "with a space in the middle!", "line\nbreak-in-the-secret-value", "ü-is-not-ascii-aaaaaaaaaaa"] {
            let error = ApiToken::parse_webhook_secret("github_webhook_secret", bad.to_owned()).expect_err(bad);
            assert!(!error.message.contains(bad));
        }
    }
}

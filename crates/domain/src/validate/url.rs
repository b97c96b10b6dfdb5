//! Base URLs of outside APIs (GitHub, GitHub Enterprise, Cloudflare).

use serde::{Deserialize, Serialize};

use super::ValidationError;

/// The base URL of an HTTP API, e.g. `https://api.github.com` or
/// `https://github.example.com/api/v3`: `https`, or `http` only to a loopback host
/// (`localhost`, `127.0.0.0/8`, `::1`: a local test server or proxy), with a host and optional
/// port and path, and no user, password, query or fragment. Stored without a trailing `/`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ApiBaseUrl(String);

impl ApiBaseUrl {
    /// The URL without a trailing `/`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `self` followed by `path` (which starts with `/`).
    pub fn join(&self, path: &str) -> String {
        format!("{}{path}", self.0)
    }

    /// Parses `raw` and reports problems under `field`.
    pub fn parse(field: &str, raw: &str) -> Result<Self, ValidationError> {
        let err = |message: &str| Err(ValidationError::new(field, message));
        if raw.len() > 2048 {
            return err("must be at most 2048 characters");
        }
        if raw.chars().any(|c| c.is_whitespace() || c.is_control()) || !raw.is_ascii() {
            return err("must be ASCII without spaces or control characters");
        }
        let url = match url::Url::parse(raw) {
            Ok(url) => url,
            Err(error) => return Err(ValidationError::new(field, format!("is not a valid URL: {error}"))),
        };
        match url.host() {
            Some(url::Host::Domain(host)) if host != "localhost" && super::Hostname::parse(field, host).is_err() => {
                return err("has an invalid host name (RFC 1123)");
            }
            None => return err("must name a host"),
            _ => {}
        }
        let is_loopback = match url.host() {
            Some(url::Host::Domain(host)) => host == "localhost",
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        };
        match url.scheme() {
            "https" => {}
            "http" if is_loopback => {}
            "http" => return err("must use https (plain http is accepted only for localhost)"),
            _ => return err("must be an https:// URL"),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return err("must not contain a user name or password");
        }
        if url.query().is_some() || url.fragment().is_some() {
            return err("must not have a query (?…) or fragment (#…)");
        }
        Ok(Self(url.as_str().trim_end_matches('/').to_owned()))
    }
}

impl TryFrom<String> for ApiBaseUrl {
    type Error = ValidationError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse("url", &value)
    }
}

impl From<ApiBaseUrl> for String {
    fn from(value: ApiBaseUrl) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_base_urls_are_https_or_loopback_http_without_credentials() {
        assert_eq!(ApiBaseUrl::parse("u", "https://api.github.com/").unwrap().as_str(), "https://api.github.com");
        assert_eq!(
            ApiBaseUrl::parse("u", "https://ghe.example.com/api/v3").unwrap().join("/user"),
            "https://ghe.example.com/api/v3/user"
        );
        assert!(ApiBaseUrl::parse("u", "http://127.0.0.1:8081").is_ok());
        assert!(ApiBaseUrl::parse("u", "http://localhost:9/client/v4").is_ok());
        for bad in [
            "", "api.github.com", "http://api.github.com", "ftp://x.com", "https://u:p@api.github.com",
            "https://api.github.com?x=1", "https://api.github.com/#x", "https://a_b.com", "https://api.github.com/a b",
            "file:///etc/passwd", "javascript:alert(1)", "https://аpi.github.com",
        ] {
            assert_eq!(ApiBaseUrl::parse("github_api_url", bad).expect_err(bad).field, "github_api_url");
        }
    }
}

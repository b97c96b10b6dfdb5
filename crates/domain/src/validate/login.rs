//! Values of GitHub login: user references in allowlists, the OAuth client id, the panel's
//! public URL and the `return_to` path of `GET /auth/login`.

use super::{GithubLogin, ValidationError};

/// An allowlist entry: a numeric GitHub user id (digits only, 1-20 of them, not 0) or a login
/// ([`GithubLogin`] rules). A digits-only entry is always an id: GitHub logins may be all
/// digits, and such a user is listed by id so that one entry never means two people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GithubUserRef {
    Id(u64),
    Login(String),
}

impl GithubUserRef {
    /// Parses `raw` and reports problems under `field`.
    pub fn parse(field: &str, raw: &str) -> Result<Self, ValidationError> {
        if !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit()) {
            return match raw.parse::<u64>() {
                Ok(id) if id > 0 && raw.len() <= 20 && !raw.starts_with('0') => Ok(Self::Id(id)),
                _ => Err(ValidationError::new(field, "a numeric GitHub user id must be a positive number without leading zeros")),
            };
        }
        GithubLogin::try_from(raw.to_owned())
            .map(|login| Self::Login(login.into()))
            .map_err(|_| ValidationError::new(field, "entries must be GitHub logins (1-39 letters, digits or single hyphens) or numeric user ids"))
    }

    /// Whether this entry names the user with `id` and `login` (logins compare
    /// case-insensitively, as GitHub treats them).
    pub fn matches(&self, id: u64, login: &str) -> bool {
        match self {
            Self::Id(listed) => *listed == id,
            Self::Login(listed) => listed.eq_ignore_ascii_case(login),
        }
    }
}

impl From<GithubUserRef> for String {
    fn from(value: GithubUserRef) -> Self {
        match value {
            GithubUserRef::Id(id) => id.to_string(),
            GithubUserRef::Login(login) => login,
        }
    }
}

/// Client id of a GitHub OAuth app (`Ov23li…`, 20 hex digits for older apps, `Iv1.…` for
/// GitHub Apps): 1-100 ASCII letters, digits, `.`, `_` or `-`, starting with a letter or digit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OauthClientId(String);

impl OauthClientId {
    /// Parses `raw` and reports problems under `field`.
    pub fn parse(field: &str, raw: &str) -> Result<Self, ValidationError> {
        let ok = (1..=100).contains(&raw.len())
            && raw.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
            && raw.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ValidationError::new(field, "must be a GitHub OAuth client id: 1-100 ASCII letters, digits, '.', '_' or '-', starting with a letter or digit"))
        }
    }
}

impl From<OauthClientId> for String {
    fn from(value: OauthClientId) -> Self {
        value.0
    }
}

/// The panel's public base URL, as browsers reach it: `https://host[:port]` or
/// `http://host[:port]` (then cookies are not `Secure`), no path, user, query or fragment.
/// Stored as the origin, without a trailing `/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl(String);

impl PublicUrl {
    /// The URL (= the panel's origin), e.g. `https://panel.example.com`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether browsers reach the panel over https.
    pub fn is_https(&self) -> bool {
        self.0.starts_with("https://")
    }

    /// Parses `raw` and reports problems under `field`.
    pub fn parse(field: &str, raw: &str) -> Result<Self, ValidationError> {
        let err = |message: &str| Err(ValidationError::new(field, message));
        if raw.len() > 255 || !raw.is_ascii() || raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return err("must be at most 255 ASCII characters without spaces");
        }
        let Ok(url) = url::Url::parse(raw) else { return err("must be a URL such as https://panel.example.com") };
        if !matches!(url.scheme(), "https" | "http") {
            return err("must be an https:// (or http://) URL");
        }
        match url.host() {
            Some(url::Host::Domain(host)) if host != "localhost" && super::Hostname::parse(field, host).is_err() => {
                return err("has an invalid host name (RFC 1123)");
            }
            None => return err("must name a host"),
            _ => {}
        }
        if !url.username().is_empty() || url.password().is_some() || url.query().is_some() || url.fragment().is_some() {
            return err("must not contain a user, password, query or fragment");
        }
        if url.path() != "/" {
            return err("must not have a path: the panel is served at the root of its host");
        }
        Ok(Self(url.origin().ascii_serialization()))
    }
}

/// Where to send the browser after login: a path of the panel itself. It starts with one `/`
/// followed by something other than `/` or `\` (so `//evil.example` and `/\evil.example`,
/// which browsers read as other hosts, are refused), has no `\`, control characters or
/// whitespace, and its percent-decoding (once or twice) passes the same rules (a decoded
/// space, `%20`, is fine), so encoded
/// tricks such as `/%2F%2Fevil.example` are refused too. At most 1024 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnPath(String);

impl ReturnPath {
    /// The path (with its query, if any).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Parses `raw` and reports problems under `field`.
    pub fn parse(field: &str, raw: &str) -> Result<Self, ValidationError> {
        let refuse = || ValidationError::new(field, "must be a path of this panel, such as /projects (no scheme, host, '//' or '\\')");
        if raw.len() > 1024 {
            return Err(ValidationError::new(field, "must be at most 1024 characters"));
        }
        if raw.chars().any(char::is_whitespace) {
            return Err(refuse());
        }
        let once = percent_decode(raw);
        let twice = percent_decode(&once);
        for candidate in [raw, once.as_str(), twice.as_str()] {
            if !is_local_path(candidate) {
                return Err(refuse());
            }
        }
        Ok(Self(raw.to_owned()))
    }
}

fn is_local_path(path: &str) -> bool {
    let mut chars = path.chars();
    chars.next() == Some('/')
        && !matches!(chars.next(), Some('/' | '\\'))
        && !path.chars().any(|c| c == '\\' || c.is_control())
}

/// `%XX` sequences decoded (invalid ones kept as they are); bytes that are not UTF-8 become
/// U+FFFD, which [`is_local_path`] accepts but which cannot form a host.
fn percent_decode(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() && raw.is_char_boundary(i + 1) && raw.is_char_boundary(i + 3) {
            if let Ok(byte) = u8::from_str_radix(&raw[i + 1..i + 3], 16) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_paths_are_local_paths_only() {
        for good in ["/", "/projects", "/projects/1?tab=logs", "/a%20b", "/jobs#x"] {
            assert_eq!(ReturnPath::parse("return_to", good).unwrap().as_str(), good);
        }
        for bad in [
            "", "projects", "//evil.example", "/\\evil.example", "\\\\evil.example", "https://evil.example",
            "javascript:alert(1)", "/%2F%2Fevil.example", "/%2fevil.example", "%2F%2Fevil.example", "/%5Cevil.example",
            "/%252F%252Fevil.example", "/a\nb", "/a b", "/\t/evil.example", "/%0d%0aSet-Cookie:x", "///evil.example",
        ] {
            assert_eq!(ReturnPath::parse("return_to", bad).expect_err(bad).field, "return_to", "{bad}");
        }
    }

    #[test]
    fn user_refs_are_numeric_ids_or_logins() {
        assert_eq!(GithubUserRef::parse("f", "583231").unwrap(), GithubUserRef::Id(583231));
        assert_eq!(GithubUserRef::parse("f", "Octo-Cat").unwrap(), GithubUserRef::Login("Octo-Cat".into()));
        assert!(GithubUserRef::parse("f", "Octo-Cat").unwrap().matches(9, "octo-cat"));
        assert!(!GithubUserRef::parse("f", "583231").unwrap().matches(1, "583231"));
        for bad in ["", "0", "0123", "99999999999999999999999", "a_b", "-x", "x y"] {
            assert!(GithubUserRef::parse("f", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn public_urls_are_origins() {
        let url = PublicUrl::parse("public_url", "https://Panel.Example.com/").unwrap();
        assert_eq!((url.as_str(), url.is_https()), ("https://panel.example.com", true));
        assert_eq!(PublicUrl::parse("p", "http://10.0.0.5:8080").unwrap().as_str(), "http://10.0.0.5:8080");
        for bad in ["", "panel.example.com", "ftp://x.com", "https://x.com/panel", "https://u@x.com", "https://x.com/?a", "https://a_b.com"] {
            assert!(PublicUrl::parse("public_url", bad).is_err(), "{bad}");
        }
    }
}

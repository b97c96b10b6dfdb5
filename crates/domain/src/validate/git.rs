//! Git remote URLs and ref names: values that end up as arguments of `git clone`/`git fetch`.
//!
//! Git treats `ext::<command>` as "run this command", `file://` and plain paths as local
//! repositories, and an argument starting with `-` as an option. None of those get through.

use serde::{Deserialize, Serialize};

use super::ValidationError;

/// Longest accepted URL or ref, in bytes.
pub const MAX_GIT_URL_LEN: usize = 2048;
/// Longest accepted ref name, in bytes.
pub const MAX_GIT_REF_LEN: usize = 255;

/// What every value passed to git as an argument needs: not empty, at most `max_len` bytes,
/// and not starting with `-` (git would read it as an option).
fn check_argument(field: &str, raw: &str, max_len: usize) -> Result<(), ValidationError> {
    if raw.is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    if raw.len() > max_len {
        return Err(ValidationError::new(field, format!("must be at most {max_len} characters")));
    }
    if raw.starts_with('-') {
        return Err(ValidationError::new(field, "must not start with '-' (it would be read as an option)"));
    }
    Ok(())
}

/// A remote repository URL in one of three forms:
/// - `https://host[:port]/path` (no user or password in the URL: credentials come from settings),
/// - `ssh://[user@]host[:port]/path`,
/// - the scp-like form `user@host:path` (e.g. `git@github.com:octo/shop.git`).
///
/// Refused: any other scheme (`http`, `git`, `file`, remote helpers such as `ext::`), values
/// starting with `-`, whitespace and control characters, and hosts that are not RFC 1123 names
/// or IP addresses.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct GitUrl(String);

impl GitUrl {
    /// The URL as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Parses `raw` and reports problems under `field`.
    pub fn parse(field: &str, raw: &str) -> Result<Self, ValidationError> {
        check_argument(field, raw, MAX_GIT_URL_LEN)?;
        let err = |message: &str| Err(ValidationError::new(field, message));
        if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return err("must not contain spaces or control characters");
        }
        if !raw.is_ascii() {
            return err("must be ASCII (give internationalised hosts in punycode)");
        }
        if raw.contains("::") || raw.to_ascii_lowercase().starts_with("file:") {
            return err("must be an https:// or ssh:// URL or user@host:path; ext::, file:// and local paths are refused");
        }
        let lower = raw.to_ascii_lowercase();
        if lower.starts_with("https://") || lower.starts_with("ssh://") {
            check_url(field, raw)?;
        } else if lower.contains("://") {
            return err("must use https:// or ssh://; other schemes (http, git, file, …) are refused");
        } else {
            check_scp(field, raw)?;
        }
        Ok(Self(raw.to_owned()))
    }
}

fn check_url(field: &str, raw: &str) -> Result<(), ValidationError> {
    let err = |message: &str| Err(ValidationError::new(field, message));
    let url = match url::Url::parse(raw) {
        Ok(url) => url,
        Err(error) => return Err(ValidationError::new(field, format!("is not a valid URL: {error}"))),
    };
    if url.scheme() == "https" && (!url.username().is_empty() || url.password().is_some()) {
        return err("must not contain a user name or password; the GitHub token comes from settings");
    }
    if url.password().is_some() {
        return err("must not contain a password");
    }
    if url.query().is_some() || url.fragment().is_some() {
        return err("must not have a query (?…) or fragment (#…)");
    }
    match url.host() {
        Some(url::Host::Domain(host)) => check_host(field, host)?,
        Some(_) => {}
        None => return err("must name a host"),
    }
    if url.path().len() <= 1 {
        return err("must name a repository path, e.g. https://github.com/octo/shop.git");
    }
    Ok(())
}

fn check_scp(field: &str, raw: &str) -> Result<(), ValidationError> {
    let err = |message: &str| Err(ValidationError::new(field, message));
    let Some((user_host, path)) = raw.split_once(':') else {
        return err("must be an https:// or ssh:// URL or user@host:path (local paths are refused)");
    };
    let Some((user, host)) = user_host.split_once('@') else {
        return err("must be an https:// or ssh:// URL or user@host:path (local paths are refused)");
    };
    let user_ok = !user.is_empty()
        && !user.starts_with('-')
        && user.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !user_ok {
        return err("has an invalid user before '@' (letters, digits, '.', '_', '-')");
    }
    check_host(field, host)?;
    if path.is_empty() || path.starts_with('-') {
        return err("must name a repository path after ':' that does not start with '-'");
    }
    Ok(())
}

fn check_host(field: &str, host: &str) -> Result<(), ValidationError> {
    if host.starts_with('-') || host.is_empty() {
        return Err(ValidationError::new(field, "must name a host that does not start with '-'"));
    }
    let lower = host.to_ascii_lowercase();
    let single_label = !lower.contains('.');
    let valid = if single_label {
        super::hostname::check_label(&lower).is_ok()
    } else {
        super::Hostname::parse(field, &lower).is_ok() || lower.parse::<std::net::Ipv4Addr>().is_ok()
    };
    if valid {
        Ok(())
    } else {
        Err(ValidationError::new(field, "has an invalid host (RFC 1123 name or IP address expected)"))
    }
}

impl TryFrom<String> for GitUrl {
    type Error = ValidationError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse("repo_url", &value)
    }
}

impl From<GitUrl> for String {
    fn from(value: GitUrl) -> Self {
        value.0
    }
}

/// A branch or tag name, following `git check-ref-format --branch`: no `..`, `@{`, `//`, `\`,
/// control characters, space, `~ ^ : ? * [`; no component starting with `.` or ending with
/// `.lock`; not starting with `-` or `/`, not ending with `/` or `.`; not `@`. Further limited
/// here to 255 bytes of ASCII letters, digits and `. _ / + @ -`: shell metacharacters and
/// look-alike characters cannot pass as a branch even though no value ever reaches a shell.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct GitRef(String);

impl GitRef {
    /// The ref as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Parses `raw` and reports problems under `field`.
    pub fn parse(field: &str, raw: &str) -> Result<Self, ValidationError> {
        check_argument(field, raw, MAX_GIT_REF_LEN)?;
        let err = |message: &str| Err(ValidationError::new(field, message));
        if let Some(bad) = raw.chars().find(|c| matches!(c, '~' | '^' | ':' | '?' | '*' | '[' | '\\')) {
            return Err(ValidationError::new(field, format!("must not contain {bad:?} (git check-ref-format)")));
        }
        if let Some(bad) = raw.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '/' | '+' | '@' | '-'))) {
            return Err(ValidationError::new(
                field,
                format!("contains {bad:?}; only ASCII letters, digits and '.', '_', '/', '+', '@', '-' are allowed"),
            ));
        }
        if raw.contains("..") || raw.contains("@{") || raw.contains("//") {
            return err("must not contain '..', '@{' or '//' (git check-ref-format)");
        }
        if raw == "@" || raw.starts_with('/') || raw.ends_with('/') || raw.ends_with('.') {
            return err("must not be '@', start or end with '/', or end with '.' (git check-ref-format)");
        }
        if raw.split('/').any(|part| part.starts_with('.') || part.ends_with(".lock")) {
            return err("must not have a component starting with '.' or ending with '.lock' (git check-ref-format)");
        }
        Ok(Self(raw.to_owned()))
    }
}

impl TryFrom<String> for GitRef {
    type Error = ValidationError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse("branch", &value)
    }
}

impl From<GitRef> for String {
    fn from(value: GitRef) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_ssh_and_scp_like_git_urls_are_accepted() {
        for good in [
            "https://github.com/octo/shop.git",
            "https://git.example.com:8443/team/shop",
            "ssh://git@github.com/octo/shop.git",
            "ssh://git@10.0.0.5:2222/srv/shop.git",
            "git@github.com:octo/shop.git",
        ] {
            assert!(GitUrl::parse("repo_url", good).is_ok(), "{good}");
        }
    }

    #[test]
    fn git_urls_refuse_helpers_local_paths_options_and_credentials() {
        for bad in [
            "", "ext::sh -c touch% /tmp/pwned", "ext::sh", "file:///etc", "FILE:///etc", "/srv/repo.git", "../repo",
            "-uhttps://x", "--upload-pack=touch /tmp/x", "http://github.com/a/b", "git://github.com/a/b",
            "https://user:pw@github.com/a/b", "https://tok@github.com/a/b", "https://github.com/a b",
            "https://github.com/a\nb", "https://github.com/a?x=1", "https://github.com", "git@-oProxyCommand=x:a/b",
            "git@host:-b", "https://gіthub.com/a/b", "https://a_b.com/x", "fd::17",
        ] {
            let error = GitUrl::parse("repo_url", bad).expect_err(bad);
            assert_eq!(error.field, "repo_url");
        }
    }

    #[test]
    fn git_refs_follow_check_ref_format() {
        for good in ["main", "feature/login", "v1.2.3", "release-2026_11", "a@b"] {
            assert!(GitRef::parse("branch", good).is_ok(), "{good}");
        }
        for bad in [
            "", "-b", "--force", "a..b", "a@{1}", "a//b", "/a", "a/", "a.", "@", ".hidden", "a/.b", "x.lock",
            "a/b.lock/c", "a b", "a~1", "a^", "a:b", "a?", "a*", "a[", "a\\b", "a\0b", "a\nb", "mаin", "$(id)",
            "a;b", "`id`",
        ] {
            let error = GitRef::parse("branch", bad).expect_err(bad);
            assert_eq!(error.field, "branch", "{bad}");
        }
        assert!(GitRef::parse("branch", &"a".repeat(256)).is_err());
    }
}

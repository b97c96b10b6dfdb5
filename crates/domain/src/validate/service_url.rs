//! Where a route sends its traffic: the `service` of a cloudflared ingress rule.
//!
//! cloudflared's rules (`ingress/ingress.go`, "Origin configuration" in Cloudflare's tunnel
//! docs): a URL service needs a scheme and a host, may have a port, and must not have a path
//! ("ingress rules don't support proxying to a different path on the origin service"); besides
//! URLs there are `http_status:<code>`, `hello_world`, `bastion` and `socks5`.

use serde::{Deserialize, Serialize};

use super::ValidationError;

/// The service URL of a panel route: `http://` or `https://`, a host (`localhost`, an IP
/// address, a container name such as `shop-web-1`, or a DNS name), an optional port, and
/// nothing else (no user, path, query or fragment; one trailing `/` is dropped). Stored as
/// `scheme://host[:port]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ServiceUrl(String);

impl ServiceUrl {
    /// `scheme://host[:port]`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The host the URL names.
    pub fn host(&self) -> &str {
        let rest = self.0.split_once("://").map_or(self.0.as_str(), |(_, r)| r);
        if let Some(v6) = rest.strip_prefix('[') {
            return v6.split(']').next().unwrap_or_default();
        }
        rest.split(':').next().unwrap_or_default()
    }

    /// The host when it is a name that only a Docker network resolves (a container name):
    /// not `localhost`, not an IP address, and without a dot.
    pub fn container_host(&self) -> Option<&str> {
        let host = self.host();
        let is_ip = host.parse::<std::net::IpAddr>().is_ok();
        (!is_ip && host != "localhost" && !host.contains('.')).then_some(host)
    }

    /// Parses `raw` and reports problems under `field`.
    pub fn parse(field: &str, raw: &str) -> Result<Self, ValidationError> {
        let err = |message: &str| Err(ValidationError::new(field, message));
        if raw.len() > 2048 {
            return err("must be at most 2048 characters");
        }
        if !raw.is_ascii() || raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return err("must be ASCII without spaces or control characters");
        }
        let Some((scheme, rest)) = raw.split_once("://") else {
            return err("must be a URL with a scheme and a host, e.g. http://localhost:8080");
        };
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            return err("must use http:// or https://");
        }
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(authority_end);
        if !(tail.is_empty() || tail == "/") {
            return err(
                "must not have a path, query or fragment: cloudflared forwards the visitor's own path to the service",
            );
        }
        if authority.contains('@') {
            return err("must not contain a user name or password");
        }
        let url = match url::Url::parse(&format!("{scheme}://{authority}")) {
            Ok(url) => url,
            Err(error) => return Err(ValidationError::new(field, format!("is not a valid URL: {error}"))),
        };
        let host = match url.host() {
            Some(url::Host::Domain(host)) => {
                let ok = host.split('.').all(|l| {
                    !l.is_empty() && l.len() <= 63 && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                });
                if !ok || host.len() > 253 {
                    return err("has an invalid host: letters, digits, '-', '_' and '.' only");
                }
                host.to_owned()
            }
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => format!("[{ip}]"),
            None => return err("must name a host"),
        };
        let explicit_port = authority.rsplit_once(':').filter(|(h, _)| !h.ends_with(']') || authority.starts_with('[')).map(|(_, p)| p);
        let port = match (url.port(), explicit_port) {
            (Some(port), _) => Some(port),
            (None, Some(p)) if !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()) && !authority.ends_with(']') => {
                // The scheme's default port (e.g. http://x:80): kept as given.
                p.parse::<u16>().ok()
            }
            _ => None,
        };
        if port == Some(0) {
            return err("must not use port 0");
        }
        Ok(Self(match port {
            Some(port) => format!("{scheme}://{host}:{port}"),
            None => format!("{scheme}://{host}"),
        }))
    }
}

/// Checks the `service` of any cloudflared ingress rule (the panel's or not) the way
/// cloudflared does: `http_status:<100-599>`, `hello_world`, `bastion`, `socks5`, a
/// `unix:`/`unix+tls:` socket path, or a URL with a scheme and a host and no path.
pub fn check_ingress_service(raw: &str) -> Result<(), String> {
    if let Some(code) = raw.strip_prefix("http_status:") {
        return match code.parse::<u16>() {
            Ok(code) if (100..=599).contains(&code) => Ok(()),
            _ => Err(format!("service {raw:?}: http_status needs a status code 100-599")),
        };
    }
    if matches!(raw, "hello_world" | "bastion" | "socks5") {
        return Ok(());
    }
    if raw.starts_with("unix:") || raw.starts_with("unix+tls:") {
        return Ok(());
    }
    let Some((scheme, rest)) = raw.split_once("://") else {
        return Err(format!("service {raw:?} must be a URL with a scheme and a host, or http_status:<code>"));
    };
    if scheme.is_empty() || !scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')) {
        return Err(format!("service {raw:?} has an invalid scheme"));
    }
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    if authority.is_empty() {
        return Err(format!("service {raw:?} must name a host"));
    }
    if !tail.is_empty() {
        return Err(format!("service {raw:?} must not have a path: cloudflared forwards the visitor's path"));
    }
    Ok(())
}

impl std::fmt::Display for ServiceUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for ServiceUrl {
    type Error = ValidationError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse("service_url", &value)
    }
}

impl From<ServiceUrl> for String {
    fn from(value: ServiceUrl) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(raw: &str) -> Result<String, ValidationError> {
        ServiceUrl::parse("service_url", raw).map(String::from)
    }

    #[test]
    fn service_urls_keep_scheme_host_and_port_only() {
        assert_eq!(url("http://localhost:8080").unwrap(), "http://localhost:8080");
        assert_eq!(url("HTTP://Shop-Web-1:80/").unwrap(), "http://shop-web-1:80");
        assert_eq!(url("https://10.0.0.5").unwrap(), "https://10.0.0.5");
        assert_eq!(url("http://my_app:3000").unwrap(), "http://my_app:3000");
        assert_eq!(ServiceUrl::parse("s", "http://shop-web-1:80").unwrap().container_host(), Some("shop-web-1"));
        assert_eq!(ServiceUrl::parse("s", "http://localhost:80").unwrap().container_host(), None);
    }

    #[test]
    fn service_urls_with_a_path_user_query_or_other_scheme_are_refused() {
        assert!(url("http://localhost:8080/app").unwrap_err().message.contains("path"));
        assert!(url("http://localhost:8080?x=1").unwrap_err().message.contains("path"));
        assert!(url("http://u:p@localhost").unwrap_err().message.contains("user"));
        assert!(url("ftp://localhost").unwrap_err().message.contains("http"));
        assert!(url("localhost:8080").is_err());
        assert!(url("http://").is_err());
        assert!(url("http://a b").is_err());
        assert!(url("http://localhost:0").is_err());
        assert!(url("http://localhost:99999").is_err());
    }

    #[test]
    fn ingress_services_follow_cloudflared() {
        for ok in ["http_status:404", "hello_world", "tcp://localhost:22", "ssh://host:22", "http://x", "unix:/run/a.sock"] {
            assert!(check_ingress_service(ok).is_ok(), "{ok}");
        }
        for bad in ["http_status:42", "http_status:x", "http://x/path", "localhost:80", "http://", ""] {
            assert!(check_ingress_service(bad).is_err(), "{bad}");
        }
    }
}

//! Hostnames and the panel's base domain (RFC 1123 §2.1 / RFC 952 "LDH" labels).
//!
//! A hostname here is what goes into DNS records and cloudflared ingress rules, in one normal
//! form everywhere (settings, routes, ingress rules, DNS record names, ownership rows): ASCII
//! labels of lower-case letters, digits and hyphens joined by dots, without a trailing dot.
//! Input is brought to that form first: upper case is lowered, one trailing dot (the DNS root)
//! is dropped, and an internationalised name (`bücher.example`) becomes its IDNA/punycode form
//! (`xn--bcher-kva.example`, UTS #46 as browsers and Cloudflare use it). Schemes, ports,
//! paths, underscores and wildcards are refused with a message saying which, so a value can
//! never smuggle a URL or a second rule into a config file.
//!
//! [`normalize`] gives the same normal form without refusing anything, for comparing names
//! the panel did not write (foreign ingress rules, DNS records); [`IngressHostname`] is a
//! hostname that may start with cloudflared's `*.` wildcard.

use serde::{Deserialize, Serialize};

use super::ValidationError;

/// Longest hostname in characters (RFC 1123 §2.1, without the trailing dot).
pub const MAX_HOSTNAME_LEN: usize = 253;
/// Longest label in characters (RFC 1123 §2.1).
pub const MAX_LABEL_LEN: usize = 63;

/// Checks one DNS label (already lower-cased): 1-63 of `a-z`, `0-9`, `-`, not starting or
/// ending with `-`. Returns what is wrong, for the caller to prefix with its field name.
pub fn check_label(label: &str) -> Result<(), String> {
    if label.is_empty() {
        return Err("has an empty label (two dots in a row, or a leading/trailing dot)".into());
    }
    if label.len() > MAX_LABEL_LEN {
        return Err(format!("has a label longer than {MAX_LABEL_LEN} characters"));
    }
    if let Some(bad) = label.chars().find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')) {
        return Err(format!(
            "contains {bad:?}; only letters, digits, '-' and '.' are allowed (no scheme, port, path or '_'; \
             give internationalised names in punycode, xn--…)"
        ));
    }
    if label.starts_with('-') || label.ends_with('-') {
        return Err("has a label starting or ending with '-'".into());
    }
    Ok(())
}

/// A fully qualified hostname such as `apps.example.com`: at least two RFC 1123 labels,
/// lower-cased on input, at most 253 characters; the last label (the TLD) is not all digits,
/// so an IPv4 address is not taken for a name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Hostname(String);

impl Hostname {
    /// The lower-cased hostname.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Parses `raw` into the normal form and reports problems under `field`.
    pub fn parse(field: &str, raw: &str) -> Result<Self, ValidationError> {
        let host = to_normal_form(raw).map_err(|message| ValidationError::new(field, message))?;
        check_labels(&host).map_err(|message| ValidationError::new(field, message))?;
        Ok(Self(host))
    }

    /// `<label>.<self>`, e.g. the public host of a project under the base domain.
    pub fn with_subdomain(&self, label: &super::Subdomain) -> Result<Hostname, ValidationError> {
        Hostname::parse("subdomain", &format!("{}.{}", label.as_str(), self.0))
    }
}

/// Brings `raw` to the normal form (see the module docs) or says why it is not a hostname at
/// all (empty, a scheme, a port, a path, an underscore, a name IDNA refuses).
fn to_normal_form(raw: &str) -> Result<String, String> {
    if raw.is_empty() {
        return Err("must not be empty".into());
    }
    if raw.contains("://") {
        return Err("must be a bare hostname such as apps.example.com, without a scheme (http://…)".into());
    }
    if raw.contains('/') {
        return Err("must be a bare hostname, without a path ('/')".into());
    }
    if raw.contains(':') {
        return Err("must be a bare hostname, without a port (':'); the port belongs to the service URL".into());
    }
    if raw.contains('_') {
        return Err("must not contain '_': DNS allows it, but no browser or certificate accepts it in a host name".into());
    }
    let trimmed = raw.strip_suffix('.').unwrap_or(raw);
    if trimmed.is_ascii() {
        return Ok(trimmed.to_ascii_lowercase());
    }
    if trimmed.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must not contain spaces or control characters".into());
    }
    match url::Host::parse(trimmed) {
        Ok(url::Host::Domain(ascii)) => Ok(ascii),
        _ => Err("is not a valid internationalised name (IDNA); give it in punycode, xn--…".into()),
    }
}

/// Checks a name already in normal form: length, at least two LDH labels, a TLD that is not
/// all digits.
fn check_labels(host: &str) -> Result<(), String> {
    if host.len() > MAX_HOSTNAME_LEN {
        return Err(format!("must be at most {MAX_HOSTNAME_LEN} characters (RFC 1123)"));
    }
    let labels: Vec<&str> = host.split('.').collect();
    if labels.len() < 2 {
        return Err("must have at least two labels, e.g. example.com".into());
    }
    for label in &labels {
        if label.contains('*') {
            return Err("must not contain a wildcard ('*')".into());
        }
        check_label(label)?;
    }
    if labels.last().is_some_and(|tld| tld.chars().all(|c| c.is_ascii_digit())) {
        return Err("must be a name, not an IP address (the last label is all digits)".into());
    }
    Ok(())
}

/// The normal form of a name the panel did not write (a foreign ingress rule, a DNS record
/// name), for comparison only: lower case, no trailing dot, punycode where IDNA allows;
/// anything else is returned lower-cased as it is.
pub fn normalize(raw: &str) -> String {
    let trimmed = raw.strip_suffix('.').unwrap_or(raw);
    if trimmed.is_ascii() {
        return trimmed.to_ascii_lowercase();
    }
    match url::Host::parse(trimmed) {
        Ok(url::Host::Domain(ascii)) => ascii,
        _ => trimmed.to_lowercase(),
    }
}

/// The `hostname` of a cloudflared ingress rule: a [`Hostname`] that may start with the
/// wildcard label `*.` (cloudflared allows `*` only as the whole first label), in the same
/// normal form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IngressHostname(String);

impl IngressHostname {
    /// The hostname in normal form (with its `*.` when it has one).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Parses `raw` and reports problems under `field`.
    pub fn parse(field: &str, raw: &str) -> Result<Self, ValidationError> {
        let (wildcard, rest) = match raw.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, raw),
        };
        if rest.contains('*') {
            return Err(ValidationError::new(field, "may use the wildcard '*' only as its whole first label ('*.example.com')"));
        }
        let host = Hostname::parse(field, rest)?;
        Ok(Self(if wildcard { format!("*.{}", host.as_str()) } else { host.0 }))
    }
}

impl From<Hostname> for IngressHostname {
    fn from(value: Hostname) -> Self {
        Self(value.0)
    }
}

impl TryFrom<String> for IngressHostname {
    type Error = ValidationError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse("hostname", &value)
    }
}

impl From<IngressHostname> for String {
    fn from(value: IngressHostname) -> Self {
        value.0
    }
}

impl std::fmt::Display for Hostname {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Hostname {
    type Error = ValidationError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse("hostname", &value)
    }
}

impl From<Hostname> for String {
    fn from(value: Hostname) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(raw: &str) -> Result<Hostname, ValidationError> {
        Hostname::parse("base_domain", raw)
    }

    #[test]
    fn hostnames_are_brought_to_one_normal_form() {
        assert_eq!(host("Apps.Example.COM").unwrap().as_str(), "apps.example.com");
        assert_eq!(host("apps.example.com.").unwrap().as_str(), "apps.example.com");
        assert_eq!(host("xn--bcher-kva.example").unwrap().as_str(), "xn--bcher-kva.example");
        assert_eq!(host("Bücher.Example").unwrap().as_str(), "xn--bcher-kva.example");
        assert!(host("a-1.b2.io").is_ok());
        assert_eq!(normalize("Shop.Example.COM."), "shop.example.com");
        assert_eq!(normalize("bücher.example"), "xn--bcher-kva.example");
    }

    #[test]
    fn schemes_ports_paths_and_underscores_are_refused_saying_which() {
        assert!(host("https://shop.example.com").unwrap_err().message.contains("scheme"));
        assert!(host("shop.example.com:8080").unwrap_err().message.contains("port"));
        assert!(host("shop.example.com/x").unwrap_err().message.contains("path"));
        assert!(host("my_shop.example.com").unwrap_err().message.contains("'_'"));
        assert!(host("*.example.com").unwrap_err().message.contains("wildcard"));
    }

    #[test]
    fn ingress_hostnames_allow_a_leading_wildcard_only() {
        assert_eq!(IngressHostname::parse("hostname", "*.Example.com").unwrap().as_str(), "*.example.com");
        assert!(IngressHostname::parse("hostname", "a.*.example.com").is_err());
        assert!(IngressHostname::parse("hostname", "*x.example.com").is_err());
        assert!(IngressHostname::parse("hostname", "*.example.com:80").is_err());
    }

    #[test]
    fn hostnames_reject_schemes_ports_paths_underscores_and_wildcards() {
        for bad in [
            "", "example", "https://example.com", "example.com:443", "example.com/x", "a_b.example.com",
            "*.example.com", "-a.example.com", "a-.example.com", "example.com..", ".example.com", "a..b",
            "exa mple.com", "bü cher.example", "10.0.0.1", "a;b.com", "$(id).example.com", "a\nb.com",
        ] {
            let error = host(bad).expect_err(bad);
            assert_eq!(error.field, "base_domain", "{bad}");
        }
    }

    #[test]
    fn hostnames_are_limited_to_253_characters_and_labels_to_63() {
        let label = "a".repeat(63);
        let long = [label.as_str(); 4].join(".");
        assert_eq!(long.len(), 255);
        assert!(host(&long).unwrap_err().message.contains("253"));
        assert!(host(&format!("{}.com", "a".repeat(64))).unwrap_err().message.contains("63"));
        assert!(host(&format!("{label}.{label}.{label}.com")).is_ok());
    }

    #[test]
    fn a_subdomain_under_a_base_domain_is_a_hostname() {
        let base = host("apps.example.com").unwrap();
        let sub = super::super::Subdomain::try_from("shop".to_owned()).unwrap();
        assert_eq!(base.with_subdomain(&sub).unwrap().as_str(), "shop.apps.example.com");
    }
}

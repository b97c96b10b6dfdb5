//! Hostnames and the panel's base domain (RFC 1123 §2.1 / RFC 952 "LDH" labels).
//!
//! A hostname here is what goes into DNS records and cloudflared ingress rules: lower-cased
//! ASCII labels of letters, digits and hyphens joined by dots. Internationalised names must be
//! given in punycode (`xn--…`). Schemes, ports, paths, underscores, wildcards and a trailing
//! dot are refused, so a value can never smuggle a URL or a second rule into a config file.

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

    /// Parses `raw` and reports problems under `field`.
    pub fn parse(field: &str, raw: &str) -> Result<Self, ValidationError> {
        let err = |message: String| Err(ValidationError::new(field, message));
        let host = raw.to_ascii_lowercase();
        if host.is_empty() {
            return err("must not be empty".into());
        }
        if host.len() > MAX_HOSTNAME_LEN {
            return err(format!("must be at most {MAX_HOSTNAME_LEN} characters (RFC 1123)"));
        }
        if host.contains("://") {
            return err("must be a bare hostname such as apps.example.com, without a scheme".into());
        }
        let labels: Vec<&str> = host.split('.').collect();
        if labels.len() < 2 {
            return err("must have at least two labels, e.g. example.com".into());
        }
        for label in &labels {
            check_label(label).map_err(|message| ValidationError::new(field, message))?;
        }
        if labels.last().is_some_and(|tld| tld.chars().all(|c| c.is_ascii_digit())) {
            return err("must be a name, not an IP address (the last label is all digits)".into());
        }
        Ok(Self(host))
    }

    /// `<label>.<self>`, e.g. the public host of a project under the base domain.
    pub fn with_subdomain(&self, label: &super::Subdomain) -> Result<Hostname, ValidationError> {
        Hostname::parse("subdomain", &format!("{}.{}", label.as_str(), self.0))
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
    fn hostnames_are_lowercased_ldh_labels_and_punycode_is_accepted() {
        assert_eq!(host("Apps.Example.COM").unwrap().as_str(), "apps.example.com");
        assert!(host("xn--bcher-kva.example").is_ok());
        assert!(host("a-1.b2.io").is_ok());
    }

    #[test]
    fn hostnames_reject_schemes_ports_paths_underscores_and_wildcards() {
        for bad in [
            "", "example", "https://example.com", "example.com:443", "example.com/x", "a_b.example.com",
            "*.example.com", "-a.example.com", "a-.example.com", "example.com.", ".example.com", "a..b",
            "exa mple.com", "bücher.example", "10.0.0.1", "a;b.com", "$(id).example.com", "a\nb.com",
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

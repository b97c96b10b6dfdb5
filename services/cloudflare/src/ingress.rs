//! cloudflared's ingress rules: the one model both modes edit (the remote configuration's
//! `config.ingress` and the local `config.yml`'s `ingress`), validated the way cloudflared
//! validates them (`ingress/ingress.go`; "Ingress rules" in Cloudflare's tunnel docs):
//! - every rule has a `service` (a URL with scheme and host and no path, `http_status:<code>`,
//!   `hello_world`, …);
//! - `hostname` may start with the wildcard label `*.` and has no other `*` and no port;
//! - `path` is a regular expression (RE2 syntax, which Rust's `regex` follows closely);
//! - the last rule is the catch-all (no `hostname` or `*`, no `path`), and only the last.
//!
//! Rules the panel did not create ("foreign") are never changed, removed or reordered.
//! Which rules are the panel's is known from its `cloudflare_routes` table (a hostname the
//! panel published), not from the file, so a hand edit cannot make the panel take over a rule.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use warp_domain::validate::hostname::normalize;
use warp_domain::validate::service_url::check_ingress_service;
use warp_domain::validate::{Hostname, ServiceUrl};

/// The catch-all the panel adds when a configuration has none.
pub const DEFAULT_CATCH_ALL: &str = "http_status:404";

/// One ingress rule. Keys the panel does not know (`originRequest`, …) are kept as they are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IngressRule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default)]
    pub service: String,
    /// Every other key of the rule, untouched.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl IngressRule {
    /// The panel's rule: `hostname` → `service`, nothing else.
    pub fn panel(hostname: &Hostname, service: &ServiceUrl) -> Self {
        Self {
            hostname: Some(hostname.as_str().to_owned()),
            path: None,
            service: service.as_str().to_owned(),
            extra: Default::default(),
        }
    }

    /// Whether the rule matches every request (no hostname or `*`, no path).
    pub fn is_catch_all(&self) -> bool {
        self.path.as_deref().is_none_or(str::is_empty) && self.hostname.as_deref().is_none_or(|h| h.is_empty() || h == "*")
    }

    /// The hostname in normal form, when it has one.
    pub fn normal_hostname(&self) -> Option<String> {
        self.hostname.as_deref().filter(|h| !h.is_empty()).map(normalize)
    }

    /// Whether this rule would take requests for `host` (normal form) before a later rule:
    /// its hostname is `host` or a wildcard covering it, or it is the catch-all.
    fn shadows(&self, host: &str) -> bool {
        match self.normal_hostname() {
            None => self.path.is_none(),
            Some(h) if h == "*" => self.path.is_none(),
            Some(h) => match h.strip_prefix("*.") {
                Some(suffix) => host.ends_with(&format!(".{suffix}")),
                None => false,
            },
        }
    }
}

/// Why a set of rules is not one cloudflared would run with, or why the panel will not write
/// a change. Messages name the rule (1-based, as in cloudflared's own errors).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IngressError {
    /// A rule breaks one of cloudflared's rules.
    #[error("ingress rule #{index}{}: {message}", described(.hostname))]
    Invalid { index: usize, hostname: Option<String>, message: String },
    /// A rule the panel did not create already routes this hostname.
    #[error("the tunnel already routes {hostname} to {service} with a rule the panel did not create; remove that rule or choose another subdomain")]
    ForeignRule { hostname: String, service: String },
}

fn described(hostname: &Option<String>) -> String {
    hostname.as_ref().map(|h| format!(" ({h})")).unwrap_or_default()
}

/// The ordered ingress rules of one tunnel.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Ingress {
    pub rules: Vec<IngressRule>,
}

impl Ingress {
    /// Checks every rule with cloudflared's rules (see the module docs).
    pub fn validate(&self) -> Result<(), IngressError> {
        let count = self.rules.len();
        if count == 0 {
            return Err(IngressError::Invalid { index: 0, hostname: None, message: "there must be at least a catch-all rule".into() });
        }
        for (i, rule) in self.rules.iter().enumerate() {
            let invalid = |message: String| IngressError::Invalid { index: i + 1, hostname: rule.hostname.clone(), message };
            check_ingress_service(&rule.service).map_err(invalid)?;
            if let Some(host) = rule.hostname.as_deref().filter(|h| !h.is_empty() && *h != "*") {
                if host.contains(':') {
                    return Err(invalid("a hostname must not contain a port".into()));
                }
                if host[1..].contains('*') || (host.starts_with('*') && !host.starts_with("*.")) {
                    return Err(invalid("a hostname may use '*' only as its whole first label ('*.example.com')".into()));
                }
            }
            if let Some(path) = rule.path.as_deref().filter(|p| !p.is_empty()) {
                regex::Regex::new(path).map_err(|e| invalid(format!("path is not a valid regular expression: {e}")))?;
            }
            let last = i + 1 == count;
            if last && !rule.is_catch_all() {
                return Err(invalid("the last rule must match every request (no hostname, no path), e.g. service: http_status:404".into()));
            }
            if !last && rule.is_catch_all() {
                return Err(invalid("only the last rule may match every request; rules after it would never be used".into()));
            }
        }
        Ok(())
    }

    /// Appends the default catch-all when the last rule is not a catch-all.
    pub fn ensure_catch_all(&mut self) {
        if !self.rules.last().is_some_and(IngressRule::is_catch_all) {
            self.rules.push(IngressRule {
                hostname: None,
                path: None,
                service: DEFAULT_CATCH_ALL.into(),
                extra: Default::default(),
            });
        }
    }

    /// Makes the panel's rule for `hostname` send it to `service`. `owned` holds the
    /// hostnames (normal form) whose rules are the panel's. An existing panel rule is replaced
    /// where it stands; a new one goes right before the first rule that would otherwise take
    /// the hostname (a covering wildcard, or the catch-all). Returns whether anything changed.
    ///
    /// # Errors
    /// [`IngressError::ForeignRule`] when a rule the panel did not create routes the hostname.
    pub fn upsert(&mut self, hostname: &Hostname, service: &ServiceUrl, owned: &BTreeSet<String>) -> Result<bool, IngressError> {
        self.ensure_catch_all();
        let host = hostname.as_str();
        let wanted = IngressRule::panel(hostname, service);
        if let Some(i) = self.position(host) {
            let rule = &self.rules[i];
            if !owned.contains(host) {
                return Err(IngressError::ForeignRule { hostname: host.to_owned(), service: rule.service.clone() });
            }
            if *rule == wanted {
                return Ok(false);
            }
            self.rules[i] = wanted;
            return Ok(true);
        }
        let at = self.rules.iter().position(|r| r.shadows(host)).unwrap_or(self.rules.len() - 1);
        self.rules.insert(at, wanted);
        Ok(true)
    }

    /// Removes the panel's rule for `hostname` (normal form) if the panel owns it. Returns
    /// whether a rule was removed.
    pub fn remove(&mut self, hostname: &str, owned: &BTreeSet<String>) -> bool {
        if !owned.contains(hostname) {
            return false;
        }
        match self.position(hostname) {
            Some(i) => {
                self.rules.remove(i);
                true
            }
            None => false,
        }
    }

    /// The rule for exactly `host` (normal form) without a path.
    fn position(&self, host: &str) -> Option<usize> {
        self.rules.iter().position(|r| r.path.is_none() && r.normal_hostname().as_deref() == Some(host))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(hostname: Option<&str>, service: &str) -> IngressRule {
        IngressRule { hostname: hostname.map(Into::into), path: None, service: service.into(), extra: Default::default() }
    }

    fn host(raw: &str) -> Hostname {
        Hostname::parse("hostname", raw).unwrap()
    }

    fn url(raw: &str) -> ServiceUrl {
        ServiceUrl::parse("service_url", raw).unwrap()
    }

    #[test]
    fn a_new_route_goes_before_the_catch_all_and_foreign_rules_keep_their_order() {
        let mut ingress = Ingress {
            rules: vec![rule(Some("a.example.com"), "http://a:1"), rule(Some("b.example.com"), "http://b:2"), rule(None, "http_status:404")],
        };
        let owned = BTreeSet::from(["shop.example.com".to_owned()]);
        assert!(ingress.upsert(&host("shop.example.com"), &url("http://localhost:8080"), &owned).unwrap());
        let hosts: Vec<_> = ingress.rules.iter().map(|r| r.hostname.clone()).collect();
        assert_eq!(hosts, [Some("a.example.com".into()), Some("b.example.com".into()), Some("shop.example.com".into()), None]);
        ingress.validate().unwrap();
    }

    #[test]
    fn a_configuration_without_a_catch_all_gets_one_and_only_one() {
        let mut ingress = Ingress { rules: vec![rule(Some("a.example.com"), "http://a:1")] };
        assert!(ingress.validate().is_err());
        ingress.upsert(&host("shop.example.com"), &url("http://localhost:8080"), &BTreeSet::new()).unwrap();
        ingress.upsert(&host("blog.example.com"), &url("http://localhost:8081"), &BTreeSet::new()).unwrap();
        assert_eq!(ingress.rules.iter().filter(|r| r.is_catch_all()).count(), 1);
        assert!(ingress.rules.last().unwrap().is_catch_all());
        ingress.validate().unwrap();
    }

    #[test]
    fn the_panels_rule_is_replaced_in_place_and_a_foreign_rule_for_the_host_is_a_conflict() {
        let owned = BTreeSet::from(["shop.example.com".to_owned()]);
        let mut ingress = Ingress {
            rules: vec![rule(Some("Shop.Example.com."), "http://localhost:1"), rule(Some("z.example.com"), "http://z:1"), rule(None, "http_status:404")],
        };
        assert!(ingress.upsert(&host("shop.example.com"), &url("http://localhost:2"), &owned).unwrap());
        assert_eq!(ingress.rules[0].service, "http://localhost:2");
        assert!(!ingress.upsert(&host("shop.example.com"), &url("http://localhost:2"), &owned).unwrap());
        let error = ingress.upsert(&host("z.example.com"), &url("http://localhost:3"), &owned).unwrap_err();
        assert!(error.to_string().contains("did not create"), "{error}");
    }

    #[test]
    fn a_new_route_goes_before_a_wildcard_that_would_take_it() {
        let mut ingress = Ingress { rules: vec![rule(Some("*.example.com"), "http://wild:1"), rule(None, "http_status:404")] };
        ingress.upsert(&host("shop.example.com"), &url("http://localhost:2"), &BTreeSet::new()).unwrap();
        assert_eq!(ingress.rules[0].hostname.as_deref(), Some("shop.example.com"));
    }

    #[test]
    fn only_the_panels_rule_is_removed() {
        let owned = BTreeSet::from(["shop.example.com".to_owned()]);
        let mut ingress = Ingress {
            rules: vec![rule(Some("shop.example.com"), "http://localhost:1"), rule(Some("a.example.com"), "http://a:1"), rule(None, "http_status:404")],
        };
        assert!(!ingress.remove("a.example.com", &owned));
        assert!(ingress.remove("shop.example.com", &owned));
        assert_eq!(ingress.rules.len(), 2);
    }

    #[test]
    fn cloudflareds_rules_are_enforced() {
        let bad = [
            (vec![rule(Some("a.example.com:80"), "http://a"), rule(None, "http_status:404")], "port"),
            (vec![rule(Some("a.*.example.com"), "http://a"), rule(None, "http_status:404")], "'*'"),
            (vec![rule(None, "http_status:404"), rule(Some("a.example.com"), "http://a")], "last rule"),
            (vec![rule(None, "http_status:404"), rule(None, "http_status:404")], "only the last"),
            (vec![rule(Some("a.example.com"), "http://a/x"), rule(None, "http_status:404")], "path"),
            (vec![rule(Some("a.example.com"), "http_status:9"), rule(None, "http_status:404")], "http_status"),
        ];
        for (rules, expected) in bad {
            let error = Ingress { rules }.validate().unwrap_err().to_string();
            assert!(error.contains(expected), "{error} should mention {expected}");
        }
        let mut with_path = rule(Some("a.example.com"), "http://a");
        with_path.path = Some("(".into());
        assert!(Ingress { rules: vec![with_path, rule(None, "http_status:404")] }.validate().unwrap_err().to_string().contains("regular expression"));
    }
}

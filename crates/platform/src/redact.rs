//! The one redactor: every secret the panel holds, replaced before text leaves the process
//! (job logs, live log subjects, error messages).

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

/// What a secret is replaced with.
pub const MASK: &str = "[REDACTED]";

/// Shortest secret value that is redacted; shorter values (e.g. `1`, `on`) would mask ordinary
/// text and carry no entropy worth hiding.
pub const MIN_SECRET_LEN: usize = 4;

/// Secrets grouped by source name (e.g. `settings.github_token`, `deploy:<project>`), shared by
/// clones. Replacing a group swaps its values atomically; readers never see a partial set.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    groups: Arc<RwLock<BTreeMap<String, Vec<String>>>>,
}

impl Redactor {
    /// Replaces the secrets registered under `name` with `values` (empty removes the group).
    pub fn set_secrets(&self, name: &str, values: Vec<String>) {
        let values: Vec<String> = values.into_iter().filter(|v| v.len() >= MIN_SECRET_LEN).collect();
        let mut groups = self.groups.write().unwrap_or_else(|e| e.into_inner());
        if values.is_empty() {
            groups.remove(name);
        } else {
            groups.insert(name.to_owned(), values);
        }
    }

    /// `text` with every occurrence of every registered secret replaced by [`MASK`]. Longer
    /// secrets are replaced first so a secret containing another is masked whole.
    pub fn redact(&self, text: &str) -> String {
        let groups = self.groups.read().unwrap_or_else(|e| e.into_inner());
        let mut secrets: Vec<&str> = groups.values().flatten().map(String::as_str).collect();
        if secrets.is_empty() {
            return text.to_owned();
        }
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        let mut out = text.to_owned();
        for secret in secrets {
            if out.contains(secret) {
                out = out.replace(secret, MASK);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_registered_secret_is_masked_and_groups_can_be_replaced() {
        let redactor = Redactor::default();
        redactor.set_secrets("github", vec!["ghp_secret123".into()]);
        redactor.set_secrets("env", vec!["hunter22".into(), "no".into()]);
        let shared = redactor.clone();
        assert_eq!(shared.redact("token ghp_secret123 pw hunter22 no"), "token [REDACTED] pw [REDACTED] no");
        redactor.set_secrets("github", vec![]);
        assert_eq!(shared.redact("ghp_secret123"), "ghp_secret123");
    }

    #[test]
    fn a_secret_containing_another_is_masked_whole() {
        let redactor = Redactor::default();
        redactor.set_secrets("a", vec!["abcd".into(), "abcdefgh".into()]);
        assert_eq!(redactor.redact("xabcdefghx"), "x[REDACTED]x");
    }
}

//! The one redactor: every secret the panel holds, replaced before text leaves the process
//! (job logs, live log subjects, error messages).

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

/// What a secret is replaced with.
pub const MASK: &str = "[REDACTED]";

/// Shortest panel secret that is redacted; shorter values (e.g. `1`, `on`) would mask ordinary
/// text and carry no entropy worth hiding.
pub const MIN_SECRET_LEN: usize = 4;

/// Shortest project secret (a deploy env value) that is redacted. Project secrets are chosen
/// by the project's user, so they are held to a higher bar: a short common word would blank
/// out ordinary text of that project's logs.
pub const MIN_PROJECT_SECRET_LEN: usize = 6;

/// Most values kept per project: its current deploy env and values it replaced (lines written
/// while those were current may still be read again, e.g. container logs), newest kept.
pub const MAX_PROJECT_SECRETS: usize = 256;

/// Every secret the panel masks, shared by clones, in two kinds:
///
/// - **panel secrets** (`set_secrets`: the settings' tokens, …): masked everywhere;
/// - **project secrets** (`set_project_secrets`: a project's deploy env values): masked only in
///   that project's output. A redactor made with [`Redactor::for_project`] masks both; any
///   other masks panel secrets only. So a user's env values can never hide text in another
///   user's logs.
///
/// Replacing a group swaps its values atomically; readers never see a partial set.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    groups: Arc<RwLock<Groups>>,
    /// The project whose secrets this handle also masks.
    project: Option<String>,
}

#[derive(Debug, Default)]
struct Groups {
    panel: BTreeMap<String, Vec<String>>,
    projects: BTreeMap<String, Vec<String>>,
}

impl Redactor {
    /// Replaces the panel secrets registered under `name` with `values` (empty removes the
    /// group).
    pub fn set_secrets(&self, name: &str, values: Vec<String>) {
        let values: Vec<String> = values.into_iter().filter(|v| v.len() >= MIN_SECRET_LEN).collect();
        let mut groups = self.groups.write().unwrap_or_else(|e| e.into_inner());
        if values.is_empty() {
            groups.panel.remove(name);
        } else {
            groups.panel.insert(name.to_owned(), values);
        }
    }

    /// Registers `values` as the current secrets of project `project` (values shorter than
    /// [`MIN_PROJECT_SECRET_LEN`] bytes are not masked). Values it held before stay masked too
    /// (up to [`MAX_PROJECT_SECRETS`], newest kept), so output written while they were
    /// current stays masked when it is read again.
    pub fn set_project_secrets(&self, project: &str, values: Vec<String>) {
        let mut groups = self.groups.write().unwrap_or_else(|e| e.into_inner());
        let held = groups.projects.entry(project.to_owned()).or_default();
        for value in values.into_iter().filter(|v| v.len() >= MIN_PROJECT_SECRET_LEN) {
            held.retain(|v| v != &value);
            held.push(value);
        }
        let excess = held.len().saturating_sub(MAX_PROJECT_SECRETS);
        held.drain(..excess);
    }

    /// A handle on the same secrets that also masks project `project`'s (`None`: panel
    /// secrets only).
    pub fn for_project(&self, project: Option<&str>) -> Self {
        Self { groups: self.groups.clone(), project: project.map(str::to_owned) }
    }

    /// `text` with every occurrence of every secret this handle masks replaced by [`MASK`].
    /// Longer secrets are replaced first so a secret containing another is masked whole.
    pub fn redact(&self, text: &str) -> String {
        let groups = self.groups.read().unwrap_or_else(|e| e.into_inner());
        let project = self.project.as_ref().and_then(|p| groups.projects.get(p));
        let mut secrets: Vec<&str> = groups.panel.values().flatten().chain(project.into_iter().flatten()).map(String::as_str).collect();
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
    fn a_projects_secrets_mask_only_that_projects_output_and_replaced_values_stay_masked() {
        let redactor = Redactor::default();
        redactor.set_secrets("settings", vec!["ghp_panel_token".into()]);
        redactor.set_project_secrets("p1", vec!["hunter22".into(), "short".into()]);
        let p1 = redactor.for_project(Some("p1"));
        let p2 = redactor.for_project(Some("p2"));
        assert_eq!(p1.redact("hunter22 short ghp_panel_token"), "[REDACTED] short [REDACTED]");
        assert_eq!(p2.redact("hunter22 ghp_panel_token"), "hunter22 [REDACTED]", "another project's value hides nothing here");
        assert_eq!(redactor.redact("hunter22"), "hunter22");
        redactor.set_project_secrets("p1", vec!["newvalue1".into()]);
        assert_eq!(p1.redact("hunter22 newvalue1"), "[REDACTED] [REDACTED]");
    }

    #[test]
    fn a_secret_containing_another_is_masked_whole() {
        let redactor = Redactor::default();
        redactor.set_secrets("a", vec!["abcd".into(), "abcdefgh".into()]);
        assert_eq!(redactor.redact("xabcdefghx"), "x[REDACTED]x");
    }
}

//! Who may log in, and as what.

use warp_events::session::AdmittedBy;
use warp_events::SettingValues;

use crate::validate::GithubUserRef;

/// The login rule of the current settings:
/// - a user in `admins` is admitted as `admin`;
/// - a user in `allowed_users` is admitted as `member`;
/// - otherwise an active member of an org in `allowed_orgs` (or `allowed_org`) is admitted as
///   `member` — that needs a GitHub call with the user's token, so it is the caller's part;
/// - nobody else. Empty lists admit nobody.
#[derive(Debug, Clone)]
pub struct Allowlist {
    admins: Vec<GithubUserRef>,
    users: Vec<GithubUserRef>,
    orgs: Vec<String>,
}

impl Allowlist {
    /// The rule of `values`.
    pub fn of(values: &SettingValues) -> Self {
        let refs = |list: &[String]| list.iter().filter_map(|e| GithubUserRef::parse("entry", e).ok()).collect();
        let mut orgs: Vec<String> = Vec::new();
        for org in values.allowed_org.iter().chain(values.allowed_orgs.iter()) {
            if !orgs.iter().any(|o| o.eq_ignore_ascii_case(org)) {
                orgs.push(org.clone());
            }
        }
        Self { admins: refs(&values.admins), users: refs(&values.allowed_users), orgs }
    }

    /// Whether the user is an admin.
    pub fn is_admin(&self, id: u64, login: &str) -> bool {
        self.admins.iter().any(|r| r.matches(id, login))
    }

    /// How the user is admitted without asking GitHub: as an admin, or as a listed user.
    pub fn listed(&self, id: u64, login: &str) -> Option<AdmittedBy> {
        if self.is_admin(id, login) {
            Some(AdmittedBy::Admin)
        } else if self.users.iter().any(|r| r.matches(id, login)) {
            Some(AdmittedBy::AllowedUser)
        } else {
            None
        }
    }

    /// The orgs whose active members are admitted.
    pub fn orgs(&self) -> &[String] {
        &self.orgs
    }

    /// `admin` or `member`.
    pub fn role(&self, id: u64, login: &str) -> &'static str {
        if self.is_admin(id, login) { "admin" } else { "member" }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_lists_admit_nobody_and_admins_need_no_other_list() {
        let mut values = crate::settings::default_values();
        let empty = Allowlist::of(&values);
        assert_eq!((empty.listed(1, "octocat"), empty.orgs().len()), (None, 0));
        values.admins = vec!["583231".into()];
        values.allowed_users = vec!["Hubot".into()];
        values.allowed_org = Some("octo-org".into());
        values.allowed_orgs = vec!["Octo-Org".into(), "other".into()];
        let list = Allowlist::of(&values);
        assert_eq!(list.listed(583231, "octocat"), Some(AdmittedBy::Admin));
        assert_eq!(list.role(583231, "octocat"), "admin");
        assert_eq!(list.listed(2, "hubot"), Some(AdmittedBy::AllowedUser));
        assert_eq!(list.role(2, "hubot"), "member");
        assert_eq!(list.listed(3, "583231"), None);
        assert_eq!(list.orgs(), ["octo-org".to_owned(), "other".to_owned()]);
    }
}

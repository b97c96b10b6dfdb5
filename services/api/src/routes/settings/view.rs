//! The settings as the API shows them: every value, and secrets masked.

use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;
use serde::Serialize;
use warp_events::settings::{CloudflaredRestart, SecretName, SubdomainRule, TunnelMode};
use warp_store::settings::{CurrentSettings, SecretValue};

use super::checks::TokenCheck;

/// A secret setting, masked: whether it is set, its last 4 characters at most, its
/// fingerprint (the same 8 hex digits the `SecretChanged` event recorded) and when it was
/// stored. The value itself is never returned.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SecretView {
    pub set: bool,
    /// `••••` followed by the last 4 characters; `null` when not set.
    pub masked: Option<String>,
    pub fingerprint: Option<String>,
    pub updated_at: Option<DateTime<Utc>>,
}

impl SecretView {
    /// The view of a secret that shows not even its last characters (a shared secret the
    /// admin chose, such as the webhook secret): only whether it is set, its fingerprint and
    /// when it was stored.
    fn fingerprint_only(secret: Option<&SecretValue>) -> Self {
        Self { masked: secret.map(|_| "••••".to_owned()), ..Self::of(secret) }
    }

    fn of(secret: Option<&SecretValue>) -> Self {
        match secret {
            None => Self { set: false, masked: None, fingerprint: None, updated_at: None },
            Some(secret) => Self {
                set: true,
                masked: Some(mask(secret.value.expose_secret())),
                fingerprint: Some(secret.fingerprint.clone()),
                updated_at: Some(secret.updated_at),
            },
        }
    }
}

/// `••••` plus the last 4 characters, or only `••••` for values shorter than 16 characters
/// (where 4 characters would give too much away).
pub fn mask(value: &str) -> String {
    let count = value.chars().count();
    if count < 16 {
        return "••••".to_owned();
    }
    let tail: String = value.chars().skip(count - 4).collect();
    format!("••••{tail}")
}

/// Every runtime setting (see `PUT /api/settings` for what each one means).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SettingsView {
    /// Settings version: the number of settings events (send it back as `If-Match`).
    pub version: u64,
    /// When the settings last changed; `null` before any change.
    pub updated_at: Option<DateTime<Utc>>,
    pub base_domain: Option<String>,
    pub github_token: SecretView,
    pub github_api_url: String,
    pub github_web_url: String,
    pub template_repos: Vec<String>,
    pub allowed_users: Vec<String>,
    pub allowed_org: Option<String>,
    pub allowed_orgs: Vec<String>,
    pub admins: Vec<String>,
    pub github_client_id: Option<String>,
    pub github_client_secret: SecretView,
    /// Masked as `••••` only (no characters of it are shown).
    pub github_webhook_secret: SecretView,
    pub public_url: Option<String>,
    pub session_idle_seconds: u32,
    pub session_absolute_seconds: u32,
    pub cloudflare_api_token: SecretView,
    pub cloudflare_api_url: String,
    pub cloudflare_account_id: Option<String>,
    pub cloudflare_zone_id: Option<String>,
    pub tunnel_id: Option<String>,
    pub tunnel_name: Option<String>,
    #[schema(value_type = String, example = "remote")]
    pub tunnel_mode: TunnelMode,
    pub cloudflared_config_path: Option<String>,
    #[schema(value_type = String, example = "none")]
    pub cloudflared_restart: CloudflaredRestart,
    pub cloudflared_container: Option<String>,
    pub cloudflared_restart_command: Vec<String>,
    pub route_grace_seconds: u64,
    pub workspaces_root: String,
    #[schema(value_type = String, example = "explicit")]
    pub subdomain_rule: SubdomainRule,
    /// Only on `PUT`: what happened to each token that changed (checked against its API, or
    /// saved unchecked because the API was not reachable).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<TokenCheck>,
}

impl SettingsView {
    /// The view of `current`.
    pub fn of(current: &CurrentSettings) -> Self {
        let v = current.values.clone();
        Self {
            version: current.version,
            updated_at: current.updated_at,
            base_domain: v.base_domain,
            github_token: SecretView::of(current.secrets.get(&SecretName::GithubToken)),
            github_api_url: v.github_api_url,
            github_web_url: v.github_web_url,
            template_repos: v.template_repos,
            allowed_users: v.allowed_users,
            allowed_org: v.allowed_org,
            allowed_orgs: v.allowed_orgs,
            admins: v.admins,
            github_client_id: v.github_client_id,
            github_client_secret: SecretView::of(current.secrets.get(&SecretName::GithubClientSecret)),
            github_webhook_secret: SecretView::fingerprint_only(current.secrets.get(&SecretName::GithubWebhookSecret)),
            public_url: v.public_url,
            session_idle_seconds: v.session_idle_seconds,
            session_absolute_seconds: v.session_absolute_seconds,
            cloudflare_api_token: SecretView::of(current.secrets.get(&SecretName::CloudflareApiToken)),
            cloudflare_api_url: v.cloudflare_api_url,
            cloudflare_account_id: v.cloudflare_account_id,
            cloudflare_zone_id: v.cloudflare_zone_id,
            tunnel_id: v.tunnel_id,
            tunnel_name: v.tunnel_name,
            tunnel_mode: v.tunnel_mode,
            cloudflared_config_path: v.cloudflared_config_path,
            cloudflared_restart: v.cloudflared_restart,
            cloudflared_container: v.cloudflared_container,
            cloudflared_restart_command: v.cloudflared_restart_command,
            route_grace_seconds: v.route_grace_seconds,
            workspaces_root: v.workspaces_root,
            subdomain_rule: v.subdomain_rule,
            checks: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::mask;

    #[test]
    fn masking_shows_at_most_the_last_four_characters() {
        assert_eq!(mask("ghp_0123456789abcdefWXYZ"), "••••WXYZ");
        assert_eq!(mask("short-secret"), "••••");
    }
}

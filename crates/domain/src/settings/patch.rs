//! A change to the settings as a client sends it ([`RawSettingsPatch`]), validated field by
//! field into a [`SettingsPatch`], then applied to the current values with cross-field checks.

use serde::Deserialize;
use warp_events::settings::{CloudflaredRestart, SettingValues, TunnelMode};

use crate::validate::{
    AbsolutePath, ApiBaseUrl, ApiToken, CloudflareId, ContainerName, GithubLogin, GithubUserRef, Hostname, OauthClientId,
    PublicUrl, RepoSlug, TunnelId, TunnelName, ValidationError,
};

/// Most entries in `template_repos`, `allowed_users`, `allowed_orgs` or `admins`.
pub const MAX_LIST_LEN: usize = 100;

/// One field of a raw patch: absent (`None`), `null` (`Some(None)`) or a value.
pub type RawField<T> = Option<Option<T>>;

/// The settings change as sent: every field optional; absent = unchanged, `null` = cleared
/// (refused for settings that cannot be empty), a value = replaced. Field names are the
/// setting names (see [`SettingValues`]); enums are given as their snake_case names.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSettingsPatch {
    #[serde(default, deserialize_with = "present")]
    pub base_domain: RawField<String>,
    #[serde(default, deserialize_with = "present")]
    pub github_token: RawField<String>,
    #[serde(default, deserialize_with = "present")]
    pub github_api_url: RawField<String>,
    #[serde(default, deserialize_with = "present")]
    pub github_web_url: RawField<String>,
    #[serde(default, deserialize_with = "present")]
    pub template_repos: RawField<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    pub allowed_users: RawField<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    pub allowed_org: RawField<String>,
    #[serde(default, deserialize_with = "present")]
    pub allowed_orgs: RawField<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    pub admins: RawField<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    pub github_client_id: RawField<String>,
    #[serde(default, deserialize_with = "present")]
    pub github_client_secret: RawField<String>,
    #[serde(default, deserialize_with = "present")]
    pub github_webhook_secret: RawField<String>,
    #[serde(default, deserialize_with = "present")]
    pub public_url: RawField<String>,
    #[serde(default, deserialize_with = "present")]
    pub session_idle_seconds: RawField<u64>,
    #[serde(default, deserialize_with = "present")]
    pub session_absolute_seconds: RawField<u64>,
    #[serde(default, deserialize_with = "present")]
    pub cloudflare_api_token: RawField<String>,
    #[serde(default, deserialize_with = "present")]
    pub cloudflare_api_url: RawField<String>,
    #[serde(default, deserialize_with = "present")]
    pub cloudflare_account_id: RawField<String>,
    #[serde(default, deserialize_with = "present")]
    pub cloudflare_zone_id: RawField<String>,
    #[serde(default, deserialize_with = "present")]
    pub tunnel_id: RawField<String>,
    #[serde(default, deserialize_with = "present")]
    pub tunnel_name: RawField<String>,
    #[serde(default, deserialize_with = "present")]
    pub tunnel_mode: RawField<String>,
    #[serde(default, deserialize_with = "present")]
    pub cloudflared_config_path: RawField<String>,
    #[serde(default, deserialize_with = "present")]
    pub cloudflared_restart: RawField<String>,
    #[serde(default, deserialize_with = "present")]
    pub cloudflared_container: RawField<String>,
    #[serde(default, deserialize_with = "present")]
    pub cloudflared_restart_command: RawField<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    pub route_grace_seconds: RawField<u64>,
    #[serde(default, deserialize_with = "present")]
    pub workspaces_root: RawField<String>,
    #[serde(default, deserialize_with = "present")]
    pub subdomain_rule: RawField<String>,
}

/// Serde helper for [`RawField`]s: absent → `None`, `null` → `Some(None)`.
pub fn present<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// New secret values from a patch: `None` = unchanged, `Some(None)` = clear, `Some(Some(t))` =
/// replace. They go to the encrypted store; only their fingerprints reach the aggregate.
#[derive(Debug, Clone, Default)]
pub struct SecretChanges {
    pub github_token: Option<Option<ApiToken>>,
    pub cloudflare_api_token: Option<Option<ApiToken>>,
    pub github_client_secret: Option<Option<ApiToken>>,
    /// Checked with [`ApiToken::parse_webhook_secret`].
    pub github_webhook_secret: Option<Option<ApiToken>>,
}

fn required<T>(field: &str, raw: Option<T>) -> Result<T, ValidationError> {
    raw.ok_or_else(|| ValidationError::new(field, "cannot be cleared; give a value"))
}

fn parse_enum<T: for<'de> Deserialize<'de>>(field: &str, raw: &str, choices: &str) -> Result<T, ValidationError> {
    serde_json::from_value(serde_json::Value::String(raw.to_owned()))
        .map_err(|_| ValidationError::new(field, format!("must be one of {choices}")))
}

fn parse_list<T: Into<String>>(
    field: &str,
    raw: Vec<String>,
    parse: impl Fn(&str, &str) -> Result<T, ValidationError>,
) -> Result<Vec<String>, ValidationError> {
    if raw.len() > MAX_LIST_LEN {
        return Err(ValidationError::new(field, format!("must have at most {MAX_LIST_LEN} entries")));
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for item in raw {
        let value: String = parse(field, &item)?.into();
        if seen.insert(value.to_ascii_lowercase()) {
            out.push(value);
        }
    }
    Ok(out)
}

fn opt<T: Into<String>>(
    field: &str,
    raw: Option<String>,
    parse: impl Fn(&str, &str) -> Result<T, ValidationError>,
) -> Result<Option<String>, ValidationError> {
    raw.map(|r| parse(field, &r).map(Into::into)).transpose()
}

fn config_path(field: &str, raw: &str) -> Result<AbsolutePath, ValidationError> {
    let path = AbsolutePath::parse(field, raw)?;
    if !(path.as_str().ends_with(".yml") || path.as_str().ends_with(".yaml")) {
        return Err(ValidationError::new(field, "must name a .yml or .yaml file"));
    }
    Ok(path)
}

/// Longest grace period before a withdrawn route is unpublished, seconds.
pub const MAX_ROUTE_GRACE_SECONDS: u64 = 86_400;

/// A restart command: an absolute program path and at most 31 arguments, each at most 1024
/// characters without NUL or control characters. It is run as an argument list, never through
/// a shell, so shell syntax in it has no meaning.
fn restart_command(field: &str, raw: Vec<String>) -> Result<Vec<String>, ValidationError> {
    if raw.len() > 32 {
        return Err(ValidationError::new(field, "must have at most 32 entries (program and arguments)"));
    }
    if let Some(program) = raw.first() {
        AbsolutePath::parse(field, program)
            .map_err(|_| ValidationError::new(field, "must start with the program's absolute path, e.g. /usr/bin/systemctl"))?;
    }
    for arg in &raw {
        if arg.len() > 1024 || arg.chars().any(|c| c.is_control()) {
            return Err(ValidationError::new(field, "arguments must be at most 1024 characters without control characters"));
        }
    }
    Ok(raw)
}

/// Shortest and longest idle timeout of a session, seconds (1 minute .. 7 days).
pub const SESSION_IDLE_RANGE: (u64, u64) = (60, 7 * 24 * 3600);
/// Shortest and longest absolute timeout of a session, seconds (5 minutes .. 30 days).
pub const SESSION_ABSOLUTE_RANGE: (u64, u64) = (300, 30 * 24 * 3600);

fn seconds(field: &str, raw: u64, (min, max): (u64, u64)) -> Result<u32, ValidationError> {
    if (min..=max).contains(&raw) {
        Ok(raw as u32)
    } else {
        Err(ValidationError::new(field, format!("must be between {min} and {max} seconds")))
    }
}

fn login(field: &str, raw: &str) -> Result<GithubLogin, ValidationError> {
    GithubLogin::try_from(raw.to_owned()).map_err(|e| e.for_field(field))
}

/// Validates every field of `raw` (the first invalid one is reported) and applies it to
/// `current`, then checks the result as a whole: `tunnel_mode` `local` needs
/// `cloudflared_config_path`, `cloudflared_restart` `container` needs
/// `cloudflared_container`, and `session_idle_seconds` may not exceed
/// `session_absolute_seconds`. Returns the new values and the secret changes.
pub fn apply_patch(current: &SettingValues, raw: RawSettingsPatch) -> Result<(ValidValues, SecretChanges), ValidationError> {
    let mut v = current.clone();
    if let Some(r) = raw.base_domain {
        v.base_domain = opt("base_domain", r, Hostname::parse)?;
    }
    if let Some(r) = raw.github_api_url {
        v.github_api_url = ApiBaseUrl::parse("github_api_url", &required("github_api_url", r)?)?.into();
    }
    if let Some(r) = raw.github_web_url {
        v.github_web_url = ApiBaseUrl::parse("github_web_url", &required("github_web_url", r)?)?.into();
    }
    if let Some(r) = raw.template_repos {
        v.template_repos = parse_list("template_repos", r.unwrap_or_default(), RepoSlug::parse)?;
    }
    if let Some(r) = raw.allowed_users {
        v.allowed_users = parse_list("allowed_users", r.unwrap_or_default(), GithubUserRef::parse)?;
    }
    if let Some(r) = raw.allowed_org {
        v.allowed_org = opt("allowed_org", r, login)?;
    }
    if let Some(r) = raw.allowed_orgs {
        v.allowed_orgs = parse_list("allowed_orgs", r.unwrap_or_default(), login)?;
    }
    if let Some(r) = raw.admins {
        v.admins = parse_list("admins", r.unwrap_or_default(), GithubUserRef::parse)?;
    }
    if let Some(r) = raw.github_client_id {
        v.github_client_id = opt("github_client_id", r, OauthClientId::parse)?;
    }
    if let Some(r) = raw.public_url {
        v.public_url = opt("public_url", r, |f, raw| PublicUrl::parse(f, raw).map(|u| u.as_str().to_owned()))?;
    }
    if let Some(r) = raw.session_idle_seconds {
        let field = "session_idle_seconds";
        v.session_idle_seconds = seconds(field, required(field, r)?, SESSION_IDLE_RANGE)?;
    }
    if let Some(r) = raw.session_absolute_seconds {
        let field = "session_absolute_seconds";
        v.session_absolute_seconds = seconds(field, required(field, r)?, SESSION_ABSOLUTE_RANGE)?;
    }
    if let Some(r) = raw.cloudflare_api_url {
        v.cloudflare_api_url = ApiBaseUrl::parse("cloudflare_api_url", &required("cloudflare_api_url", r)?)?.into();
    }
    if let Some(r) = raw.cloudflare_account_id {
        v.cloudflare_account_id = opt("cloudflare_account_id", r, CloudflareId::parse)?;
    }
    if let Some(r) = raw.cloudflare_zone_id {
        v.cloudflare_zone_id = opt("cloudflare_zone_id", r, CloudflareId::parse)?;
    }
    if let Some(r) = raw.tunnel_id {
        v.tunnel_id = opt("tunnel_id", r, TunnelId::parse)?;
    }
    if let Some(r) = raw.tunnel_name {
        v.tunnel_name = opt("tunnel_name", r, TunnelName::parse)?;
    }
    if let Some(r) = raw.tunnel_mode {
        v.tunnel_mode = parse_enum("tunnel_mode", &required("tunnel_mode", r)?, "remote, local")?;
    }
    if let Some(r) = raw.cloudflared_config_path {
        v.cloudflared_config_path = opt("cloudflared_config_path", r, config_path)?;
    }
    if let Some(r) = raw.cloudflared_restart {
        let field = "cloudflared_restart";
        v.cloudflared_restart = parse_enum(field, &required(field, r)?, "none, container, command")?;
    }
    if let Some(r) = raw.cloudflared_container {
        v.cloudflared_container = opt("cloudflared_container", r, ContainerName::parse)?;
    }
    if let Some(r) = raw.cloudflared_restart_command {
        v.cloudflared_restart_command = restart_command("cloudflared_restart_command", r.unwrap_or_default())?;
    }
    if let Some(r) = raw.route_grace_seconds {
        let field = "route_grace_seconds";
        let seconds = required(field, r)?;
        if seconds > MAX_ROUTE_GRACE_SECONDS {
            return Err(ValidationError::new(field, format!("must be at most {MAX_ROUTE_GRACE_SECONDS} (one day)")));
        }
        v.route_grace_seconds = seconds;
    }
    if let Some(r) = raw.workspaces_root {
        let field = "workspaces_root";
        v.workspaces_root = AbsolutePath::parse(field, &required(field, r)?)?.data_dir(field)?.into();
    }
    if let Some(r) = raw.subdomain_rule {
        let field = "subdomain_rule";
        v.subdomain_rule = parse_enum(field, &required(field, r)?, "explicit, from_name")?;
    }
    let token = |field: &str, raw: Option<String>| raw.map(|r| ApiToken::parse(field, r)).transpose();
    let secrets = SecretChanges {
        github_token: raw.github_token.map(|r| token("github_token", r)).transpose()?,
        cloudflare_api_token: raw.cloudflare_api_token.map(|r| token("cloudflare_api_token", r)).transpose()?,
        github_client_secret: raw.github_client_secret.map(|r| token("github_client_secret", r)).transpose()?,
        github_webhook_secret: raw
            .github_webhook_secret
            .map(|r| r.map(|r| ApiToken::parse_webhook_secret("github_webhook_secret", r)).transpose())
            .transpose()?,
    };
    if v.session_idle_seconds > v.session_absolute_seconds {
        return Err(ValidationError::new("session_idle_seconds", "must not be longer than session_absolute_seconds"));
    }
    if v.tunnel_mode == TunnelMode::Local && v.cloudflared_config_path.is_none() {
        return Err(ValidationError::new("cloudflared_config_path", "is required when tunnel_mode is local"));
    }
    if v.cloudflared_restart == CloudflaredRestart::Container && v.cloudflared_container.is_none() {
        return Err(ValidationError::new("cloudflared_container", "is required when cloudflared_restart is container"));
    }
    if v.cloudflared_restart == CloudflaredRestart::Command && v.cloudflared_restart_command.is_empty() {
        return Err(ValidationError::new("cloudflared_restart_command", "is required when cloudflared_restart is command"));
    }
    Ok((ValidValues(v), secrets))
}

/// Settings values that passed [`SettingsPatch::apply_to`]; the only way to build a
/// [`super::SettingsCommand::Change`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidValues(SettingValues);

impl ValidValues {
    /// The values.
    pub fn get(&self) -> &SettingValues {
        &self.0
    }

    /// The values, taken out.
    pub fn into_inner(self) -> SettingValues {
        self.0
    }
}

//! Events of the `Settings` aggregate: the panel's runtime settings (aggregate type `settings`,
//! one aggregate with id [`AGGREGATE_ID`]).
//!
//! Secret values (the GitHub and Cloudflare tokens, the OAuth client secret, the webhook
//! secret) never appear here: an event records only
//! that a secret changed and a short fingerprint (the first 8 hex digits of an HMAC-SHA256
//! under a key the panel keeps encrypted at rest), so two changes can be told apart without
//! revealing anything.

use cqrs_es::DomainEvent;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Aggregate type under which settings events are stored and published.
pub const AGGREGATE_TYPE: &str = "settings";
/// The id of the one settings aggregate.
pub const AGGREGATE_ID: &str = "panel";

/// A secret setting. Serialised in snake_case: `github_token`, `cloudflare_api_token`,
/// `github_client_secret`, `github_webhook_secret`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SecretName {
    /// Token the panel uses for the GitHub API and for cloning.
    GithubToken,
    /// Cloudflare API token (DNS and tunnel configuration).
    CloudflareApiToken,
    /// Client secret of the GitHub OAuth app users log in with.
    GithubClientSecret,
    /// Secret GitHub signs webhook deliveries with (`X-Hub-Signature-256`, HMAC-SHA256 of the
    /// body); the panel also writes it into the webhooks it creates.
    GithubWebhookSecret,
}

impl SecretName {
    /// Every secret setting.
    pub const ALL: [SecretName; 4] = [
        SecretName::GithubToken,
        SecretName::CloudflareApiToken,
        SecretName::GithubClientSecret,
        SecretName::GithubWebhookSecret,
    ];

    /// The setting's field name, e.g. `github_token`.
    pub fn as_str(self) -> &'static str {
        match self {
            SecretName::GithubToken => "github_token",
            SecretName::CloudflareApiToken => "cloudflare_api_token",
            SecretName::GithubClientSecret => "github_client_secret",
            SecretName::GithubWebhookSecret => "github_webhook_secret",
        }
    }
}

/// How the tunnel's ingress rules are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TunnelMode {
    /// In the tunnel's remote configuration (Cloudflare API, `cfd_tunnel/{id}/configurations`).
    #[default]
    Remote,
    /// In a local cloudflared `config.yml` (then cloudflared is restarted).
    Local,
}

/// How cloudflared is restarted after its local config changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CloudflaredRestart {
    /// Not restarted by the panel.
    #[default]
    None,
    /// The Docker container named by `cloudflared_container` is restarted (through the
    /// docker service).
    Container,
    /// The program `cloudflared_restart_command` names is run with its arguments (no shell).
    Command,
}

/// How a project's public subdomain is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubdomainRule {
    /// Only a subdomain given explicitly for the project is published.
    #[default]
    Explicit,
    /// A project without one is published under a subdomain derived from its name.
    FromName,
}

/// Every non-secret setting, as validated values (see `warp_domain::settings` for the rules).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SettingValues {
    /// Base domain; projects are published as `<subdomain>.<base_domain>`.
    pub base_domain: Option<String>,
    /// GitHub API base URL (`https://api.github.com`, or GitHub Enterprise's `/api/v3`).
    pub github_api_url: String,
    /// GitHub web base URL (`https://github.com`): OAuth and clone URLs.
    pub github_web_url: String,
    /// Template repositories (`owner/name`) projects may be created from.
    pub template_repos: Vec<String>,
    /// GitHub users allowed to log in: logins, or numeric user ids (an entry of digits only is
    /// an id and is never compared with logins).
    pub allowed_users: Vec<String>,
    /// GitHub organisation whose members may log in (kept beside `allowed_orgs`; both count).
    pub allowed_org: Option<String>,
    /// More GitHub organisations whose active members may log in.
    #[serde(default)]
    pub allowed_orgs: Vec<String>,
    /// GitHub users (logins or numeric ids, as in `allowed_users`) who log in as `admin`; they
    /// need not be listed elsewhere. Everyone else admitted is a `member`.
    #[serde(default)]
    pub admins: Vec<String>,
    /// Client id of the GitHub OAuth app users log in with.
    #[serde(default)]
    pub github_client_id: Option<String>,
    /// The panel's own public base URL (`https://panel.example.com`): the OAuth callback is
    /// `<public_url>/auth/callback`, cookies are `Secure` when it is https, and state-changing
    /// browser requests must come from its origin.
    #[serde(default)]
    pub public_url: Option<String>,
    /// A session ends after this many seconds without a request.
    #[serde(default = "default_session_idle_seconds")]
    pub session_idle_seconds: u32,
    /// A session ends this many seconds after login, used or not.
    #[serde(default = "default_session_absolute_seconds")]
    pub session_absolute_seconds: u32,
    /// Cloudflare API base URL (`https://api.cloudflare.com/client/v4`).
    pub cloudflare_api_url: String,
    /// Cloudflare account id (32 hex digits).
    pub cloudflare_account_id: Option<String>,
    /// Cloudflare zone id of the base domain (32 hex digits).
    pub cloudflare_zone_id: Option<String>,
    /// Tunnel id (UUID).
    pub tunnel_id: Option<String>,
    /// Tunnel name.
    pub tunnel_name: Option<String>,
    /// Where ingress rules are kept.
    pub tunnel_mode: TunnelMode,
    /// Absolute path of cloudflared's `config.yml` (tunnel mode `local`).
    pub cloudflared_config_path: Option<String>,
    /// How cloudflared is restarted.
    pub cloudflared_restart: CloudflaredRestart,
    /// Container restarted when `cloudflared_restart` is `container`.
    pub cloudflared_container: Option<String>,
    /// Program and arguments run when `cloudflared_restart` is `command` (an argument list,
    /// never a shell line; the program is an absolute path).
    #[serde(default)]
    pub cloudflared_restart_command: Vec<String>,
    /// Seconds between a route being withdrawn (project removed, archived, subdomain changed,
    /// route deleted) and its DNS record and ingress rule being removed; 0 removes at once.
    #[serde(default = "default_route_grace_seconds")]
    pub route_grace_seconds: u64,
    /// Absolute folder under which project workspaces (clones) live.
    pub workspaces_root: String,
    /// How subdomains are chosen.
    pub subdomain_rule: SubdomainRule,
}

/// Default of [`SettingValues::route_grace_seconds`]: 10 minutes.
pub fn default_route_grace_seconds() -> u64 {
    600
}

/// Default idle timeout of a session: 30 minutes.
pub fn default_session_idle_seconds() -> u32 {
    30 * 60
}

/// Default absolute timeout of a session: 8 hours.
pub fn default_session_absolute_seconds() -> u32 {
    8 * 60 * 60
}

/// Every fact about the settings. Serialised externally tagged, e.g.
/// `{"SecretChanged":{"name":"github_token","fingerprint":"1a2b3c4d"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum SettingsEvent {
    /// Non-secret settings changed: `changed` names the fields (sorted), `values` holds every
    /// non-secret setting after the change.
    SettingsChanged { changed: Vec<String>, values: Box<SettingValues> },
    /// A secret setting got a new value, identified only by `fingerprint` (8 hex digits).
    SecretChanged { name: SecretName, fingerprint: String },
    /// A secret setting was removed.
    SecretCleared { name: SecretName },
}

impl SettingsEvent {
    /// Event type names, as stored in `events.event_type`, one per variant.
    pub const TYPES: [&'static str; 3] = ["SettingsChanged", "SecretChanged", "SecretCleared"];
}

impl DomainEvent for SettingsEvent {
    fn event_type(&self) -> String {
        let name = match self {
            SettingsEvent::SettingsChanged { .. } => "SettingsChanged",
            SettingsEvent::SecretChanged { .. } => "SecretChanged",
            SettingsEvent::SecretCleared { .. } => "SecretCleared",
        };
        name.to_owned()
    }

    fn event_version(&self) -> String {
        "1.0".to_owned()
    }
}

//! What the panel publishes and where, read from the runtime settings for each job: the base
//! domain, the zone, the tunnel, the mode and how cloudflared is restarted.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use warp_domain::validate::{Hostname, Subdomain};
use warp_events::settings::{CloudflaredRestart, SecretName, TunnelMode};
use warp_store::settings::CurrentSettings;

use crate::client::{CloudflareApi, CloudflareClient};
use crate::config::RetryPolicy;

/// Marker at the start of the comment of every DNS record the panel creates.
pub const RECORD_COMMENT_PREFIX: &str = "managed by warp-panel";

/// The comment of the DNS record the panel creates for `project_id`.
pub fn record_comment(project_id: uuid::Uuid) -> String {
    format!("{RECORD_COMMENT_PREFIX}: project {project_id}")
}

/// How cloudflared is restarted after its local file changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Restart {
    /// Not restarted (the operator does it).
    None,
    /// This container on the Docker host, through the docker service.
    Container(String),
    /// This program and arguments (no shell).
    Command(Vec<String>),
}

/// Where the tunnel's ingress lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// The tunnel's remote configuration.
    Remote,
    /// This local `config.yml`.
    Local { path: PathBuf, restart: Restart },
}

/// The settings a publish needs, all present.
#[derive(Debug, Clone)]
pub struct TunnelSettings {
    pub base_domain: Hostname,
    pub zone_id: String,
    pub account_id: String,
    pub tunnel_id: String,
    pub mode: Mode,
    /// Grace period before a withdrawn route is unpublished.
    pub grace: Duration,
}

impl TunnelSettings {
    /// The settings from `current`, or a message naming every missing one.
    pub fn from_current(current: &CurrentSettings) -> Result<Self, String> {
        let v = &current.values;
        let mut missing = Vec::new();
        for (name, value) in [
            ("base_domain", &v.base_domain),
            ("cloudflare_zone_id", &v.cloudflare_zone_id),
            ("cloudflare_account_id", &v.cloudflare_account_id),
            ("tunnel_id", &v.tunnel_id),
        ] {
            if value.is_none() {
                missing.push(name);
            }
        }
        if !current.secrets.contains_key(&SecretName::CloudflareApiToken) {
            missing.push("cloudflare_api_token");
        }
        if !missing.is_empty() {
            return Err(format!("the tunnel is not configured: set {} in the settings", missing.join(", ")));
        }
        let base_domain = Hostname::parse("base_domain", v.base_domain.as_deref().unwrap_or_default()).map_err(|e| e.to_string())?;
        let mode = match v.tunnel_mode {
            TunnelMode::Remote => Mode::Remote,
            TunnelMode::Local => {
                let path = v.cloudflared_config_path.clone().ok_or("set cloudflared_config_path for tunnel_mode local")?;
                let restart = match v.cloudflared_restart {
                    CloudflaredRestart::None => Restart::None,
                    CloudflaredRestart::Container => {
                        Restart::Container(v.cloudflared_container.clone().ok_or("set cloudflared_container")?)
                    }
                    CloudflaredRestart::Command => Restart::Command(v.cloudflared_restart_command.clone()),
                };
                Mode::Local { path: PathBuf::from(path), restart }
            }
        };
        Ok(Self {
            base_domain,
            zone_id: v.cloudflare_zone_id.clone().unwrap_or_default(),
            account_id: v.cloudflare_account_id.clone().unwrap_or_default(),
            tunnel_id: v.tunnel_id.clone().unwrap_or_default(),
            mode,
            grace: Duration::from_secs(v.route_grace_seconds),
        })
    }

    /// `<subdomain>.<base domain>` in normal form.
    pub fn hostname(&self, subdomain: &str) -> Result<Hostname, String> {
        let label = Subdomain::try_from(subdomain.to_owned()).map_err(|e| e.to_string())?;
        self.base_domain.with_subdomain(&label).map_err(|e| e.to_string())
    }

    /// What every panel CNAME points at: `<tunnel-id>.cfargotunnel.com`.
    pub fn cname_target(&self) -> String {
        format!("{}.cfargotunnel.com", self.tunnel_id)
    }
}

/// The Cloudflare API with the stored token and base URL, or why there is none.
pub fn api(current: &CurrentSettings, retry: &RetryPolicy) -> Result<Arc<dyn CloudflareApi>, String> {
    let token = current
        .secrets
        .get(&SecretName::CloudflareApiToken)
        .ok_or("set cloudflare_api_token in the settings")?
        .value
        .clone();
    let token: SecretString = token;
    Ok(Arc::new(CloudflareClient::new(&current.values.cloudflare_api_url, token, retry.clone())))
}

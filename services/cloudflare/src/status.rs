//! The read side of the tunnel: status, the configuration the panel would write, health.
//! Nothing here writes anything. The API asks for them over NATS ([`crate::requests`]): only
//! this service reaches Cloudflare and cloudflared's config file.
//!
//! Warnings are given where the panel can see a problem: the local file is edited while
//! cloudflared runs the tunnel with a token (Cloudflare reports `remote_config: true`, or
//! cloudflared's container has `--token`/`TUNNEL_TOKEN`; cloudflared then ignores the file),
//! the local file runs another tunnel than the configured `tunnel_id`, and (when cloudflared is
//! a container the panel restarts) the container does not see the file the panel edits, or
//! was started with another `--config`.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;
use warp_domain::validate::{Hostname, ServiceUrl};
use warp_store::settings::SettingsStore;

use crate::client::{CloudflareApi, TunnelClient};
use crate::config::RetryPolicy;
use crate::ingress::{Ingress, IngressRule};
use crate::tunnel::{self, Mode, TunnelSettings};
use crate::writer::{self, Snapshot};

/// The tunnel as Cloudflare reports it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TunnelView {
    pub id: String,
    pub name: String,
    /// `inactive`, `degraded`, `healthy` or `down`.
    pub status: Option<String>,
    /// Whether cloudflared takes its configuration from Cloudflare (a token-run tunnel).
    pub remote_config: Option<bool>,
}

/// One ingress rule, marked with whether it is the panel's and which project owns it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IngressEntry {
    pub hostname: Option<String>,
    pub path: Option<String>,
    pub service: String,
    /// Whether the panel created this rule (its hostname is in the panel's routes).
    pub panel: bool,
    /// The project the rule is published for, when it is the panel's.
    pub project_id: Option<Uuid>,
}

/// `GET /api/tunnel/status`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TunnelStatus {
    /// `remote` or `local`; `null` when the tunnel is not configured.
    pub mode: Option<String>,
    pub tunnel: Option<TunnelView>,
    /// Connected cloudflared processes (from Cloudflare, both modes).
    pub connections: Vec<TunnelClient>,
    pub ingress: Vec<IngressEntry>,
    /// Whether the ingress is one cloudflared runs with.
    pub config_valid: bool,
    /// Problems that do not stop the tunnel but deserve a look.
    pub warnings: Vec<String>,
    /// What could not be read, and why.
    pub errors: Vec<String>,
}

/// `GET /api/tunnel/config-preview`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ConfigPreview {
    pub mode: String,
    /// The ingress rules the panel would write now.
    pub ingress: Vec<IngressRule>,
    /// Local mode: the whole `config.yml` text it would write.
    pub config_yml: Option<String>,
    /// Remote mode: the whole `config` object it would PUT.
    #[schema(value_type = Option<Object>)]
    pub config: Option<serde_json::Value>,
    /// Whether that differs from what is there now.
    pub differs: bool,
    /// Why the result would be refused, if it would.
    pub invalid: Option<String>,
}

/// `GET /health/tunnel`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TunnelHealth {
    /// `ok` or `unavailable`.
    pub status: String,
    /// Why not `ok`.
    pub reason: Option<String>,
    pub warnings: Vec<String>,
}

async fn context(store: &SettingsStore, retry: &RetryPolicy) -> Result<(TunnelSettings, std::sync::Arc<dyn CloudflareApi>), String> {
    let current = store.load().await.map_err(|e| format!("reading the settings: {e:#}"))?;
    let settings = TunnelSettings::from_current(&current)?;
    Ok((settings.clone(), tunnel::api(&current, retry)?))
}

async fn owners(pool: &PgPool) -> Result<BTreeMap<String, (Uuid, String)>, String> {
    let rows: Vec<(String, Uuid, String)> =
        sqlx::query_as("select hostname, project_id, service_url from cloudflare_routes where unpublish_at is null or unpublish_at > now()")
            .fetch_all(pool)
            .await
            .map_err(|e| e.to_string())?;
    Ok(rows.into_iter().map(|(h, p, s)| (h, (p, s))).collect())
}

fn mode_name(mode: &Mode) -> String {
    match mode {
        Mode::Remote => "remote".into(),
        Mode::Local { .. } => "local".into(),
    }
}

/// Where the docker service that knows cloudflared's container answers.
#[derive(Clone, Copy)]
pub struct DockerHost<'a> {
    pub nats: &'a async_nats::Client,
    pub host: &'a str,
}

/// The tunnel, its connections and its ingress marked by owner, with warnings.
pub async fn status(pool: &PgPool, store: &SettingsStore, retry: &RetryPolicy, docker: DockerHost<'_>) -> TunnelStatus {
    let mut out = TunnelStatus {
        mode: None,
        tunnel: None,
        connections: Vec::new(),
        ingress: Vec::new(),
        config_valid: false,
        warnings: Vec::new(),
        errors: Vec::new(),
    };
    let (settings, api) = match context(store, retry).await {
        Ok(c) => c,
        Err(e) => {
            out.errors.push(e);
            return out;
        }
    };
    out.mode = Some(mode_name(&settings.mode));
    match api.tunnel(&settings.account_id, &settings.tunnel_id).await {
        Ok(t) => {
            out.tunnel = Some(TunnelView { id: t.id, name: t.name, status: t.status, remote_config: t.remote_config });
        }
        Err(e) => out.errors.push(format!("reading the tunnel: {e}")),
    }
    match api.tunnel_connections(&settings.account_id, &settings.tunnel_id).await {
        Ok(c) => out.connections = c,
        Err(e) => out.errors.push(format!("reading the tunnel's connections: {e}")),
    }
    out.warnings = warnings(&settings, out.tunnel.as_ref(), None);
    let owners = match owners(pool).await {
        Ok(o) => o,
        Err(e) => {
            out.errors.push(format!("reading the panel's routes: {e}"));
            BTreeMap::new()
        }
    };
    match writer::read(&settings, api.as_ref()).await.and_then(|s| Ok((s.ingress()?, s))) {
        Ok((ingress, snapshot)) => {
            out.warnings = warnings(&settings, out.tunnel.as_ref(), Some(&snapshot));
            out.config_valid = match ingress.validate() {
                Ok(()) => true,
                Err(e) => {
                    out.errors.push(format!("the tunnel's ingress is not valid for cloudflared: {e}"));
                    false
                }
            };
            out.ingress = ingress
                .rules
                .iter()
                .map(|r| {
                    let owner = r.normal_hostname().filter(|_| r.path.is_none()).and_then(|h| owners.get(&h)).map(|(p, _)| *p);
                    IngressEntry {
                        hostname: r.hostname.clone(),
                        path: r.path.clone(),
                        service: r.service.clone(),
                        panel: owner.is_some(),
                        project_id: owner,
                    }
                })
                .collect();
        }
        Err(e) => out.errors.push(e),
    }
    if let Mode::Local { path, restart: crate::tunnel::Restart::Container(name) } = &settings.mode {
        match crate::docker::info(docker.nats, docker.host, name).await {
            Ok(info) => out.warnings.extend(container_warnings(name, path, &info)),
            Err(e) => out.warnings.push(format!("cloudflared's container {name} could not be inspected: {e}")),
        }
    }
    out
}

/// Where cloudflared looks for `config.yml` when it is started without `--config`.
const DEFAULT_CONFIG_PATHS: [&str; 5] = [
    "/etc/cloudflared/config.yml",
    "/usr/local/etc/cloudflared/config.yml",
    "/root/.cloudflared/config.yml",
    "/home/nonroot/.cloudflared/config.yml",
    "/etc/cloudflared/config.yaml",
];

fn container_warnings(name: &str, path: &std::path::Path, info: &warp_events::docker::ContainerInfo) -> Vec<String> {
    let mut warnings = Vec::new();
    let edited = path.display().to_string();
    if !info.running {
        warnings.push(format!("cloudflared's container {name} is not running"));
    }
    if info.token_run {
        warnings.push(format!(
            "cloudflared's container {name} runs the tunnel with a token (--token or TUNNEL_TOKEN): it takes its \
             configuration from Cloudflare and ignores {edited}, which the panel edits"
        ));
    }
    let inside = info.mounts.iter().find_map(|m| {
        let rest = edited.strip_prefix(m.source.trim_end_matches('/'))?;
        (rest.is_empty() || rest.starts_with('/')).then(|| format!("{}{rest}", m.destination.trim_end_matches('/')))
    });
    let given = info.args.iter().enumerate().find_map(|(i, a)| {
        a.strip_prefix("--config=").map(str::to_owned).or_else(|| (a == "--config").then(|| info.args.get(i + 1).cloned()).flatten())
    });
    match (inside, given) {
        (None, _) => warnings.push(format!("cloudflared's container {name} does not mount {edited}: it cannot see the file the panel edits")),
        (Some(inside), Some(given)) if inside != given => warnings.push(format!(
            "cloudflared in {name} was started with --config {given}, but the panel edits {edited}, which it sees as {inside}"
        )),
        (Some(inside), None) if !DEFAULT_CONFIG_PATHS.contains(&inside.as_str()) => warnings.push(format!(
            "cloudflared in {name} was started without --config, so it does not read {inside} ({edited} on the host)"
        )),
        _ => {}
    }
    warnings
}

fn warnings(settings: &TunnelSettings, tunnel: Option<&TunnelView>, snapshot: Option<&Snapshot>) -> Vec<String> {
    let mut warnings = Vec::new();
    if let Mode::Local { path, .. } = &settings.mode {
        if tunnel.and_then(|t| t.remote_config) == Some(true) {
            warnings.push(format!(
                "cloudflared runs this tunnel with a token and takes its configuration from Cloudflare, so it ignores {} \
                 that the panel edits: set tunnel_mode to remote, or run cloudflared with --config {}",
                path.display(),
                path.display()
            ));
        }
        if let Some(Snapshot::Local { config, .. }) = snapshot {
            if let Some(named) = config.tunnel.as_deref().filter(|t| *t != settings.tunnel_id && tunnel.is_none_or(|v| v.name != *t)) {
                warnings.push(format!(
                    "{} runs tunnel {named}, not the configured tunnel {}: the file the panel edits is not the one this tunnel uses",
                    path.display(),
                    settings.tunnel_id
                ));
            }
        }
    }
    warnings
}

/// What the panel would write now: the current configuration with every published route's
/// rule in place and the catch-all last. Writes nothing.
pub async fn preview(pool: &PgPool, store: &SettingsStore, retry: &RetryPolicy) -> Result<ConfigPreview, String> {
    let (settings, api) = context(store, retry).await?;
    let snapshot = writer::read(&settings, api.as_ref()).await?;
    let before = snapshot.ingress()?;
    let mut ingress: Ingress = before.clone();
    let owners = owners(pool).await?;
    let owned: BTreeSet<String> = owners.keys().cloned().collect();
    let mut invalid = None;
    for (host, (_, service)) in &owners {
        let (Ok(host), Ok(service)) = (Hostname::parse("hostname", host), ServiceUrl::parse("service_url", service)) else { continue };
        if let Err(e) = ingress.upsert(&host, &service, &owned) {
            invalid.get_or_insert(e.to_string());
        }
    }
    ingress.ensure_catch_all();
    if let Err(e) = ingress.validate() {
        invalid.get_or_insert(e.to_string());
    }
    let after = snapshot.with_ingress(&ingress)?;
    let (config_yml, config) = match after {
        Snapshot::Local { text, .. } => (Some(text), None),
        Snapshot::Remote { config } => (None, Some(config)),
    };
    Ok(ConfigPreview {
        mode: mode_name(&settings.mode),
        differs: ingress != before,
        ingress: ingress.rules,
        config_yml,
        config,
        invalid,
    })
}

/// `ok` when the tunnel is reachable, has a connection (or reports `healthy`), and its
/// ingress is valid; else `unavailable` with the first reason.
pub async fn health(pool: &PgPool, store: &SettingsStore, retry: &RetryPolicy, docker: DockerHost<'_>) -> TunnelHealth {
    let status = status(pool, store, retry, docker).await;
    let connected = !status.connections.is_empty()
        || status.tunnel.as_ref().and_then(|t| t.status.as_deref()).is_some_and(|s| s == "healthy" || s == "degraded");
    let reason = if let Some(first) = status.errors.first() {
        Some(first.clone())
    } else if status.tunnel.is_none() {
        Some("the tunnel could not be read".into())
    } else if !connected {
        let state = status.tunnel.as_ref().and_then(|t| t.status.clone()).unwrap_or_else(|| "unknown".into());
        Some(format!("no cloudflared is connected to the tunnel (status {state})"))
    } else if !status.config_valid {
        Some("the tunnel's ingress is not valid for cloudflared".into())
    } else {
        None
    };
    TunnelHealth {
        status: if reason.is_none() { "ok".into() } else { "unavailable".into() },
        reason,
        warnings: status.warnings,
    }
}

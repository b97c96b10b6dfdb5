//! The `Settings` aggregate: the panel's runtime settings, one aggregate with id
//! [`warp_events::settings::AGGREGATE_ID`].
//!
//! The aggregate never sees a secret: a change carries secret *fingerprints* only (the secret
//! values go to the encrypted store in `warp-store`), so events can record that a token changed
//! without revealing it.

mod patch;

use std::collections::BTreeMap;

use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};
use warp_events::settings::{CloudflaredRestart, SecretName, SettingValues, SettingsEvent, SubdomainRule, TunnelMode};

pub use patch::{apply_patch, present, RawField, RawSettingsPatch, SecretChanges, ValidValues, MAX_LIST_LEN};

/// Defaults before anything is configured (and before environment seeds are applied).
pub fn default_values() -> SettingValues {
    SettingValues {
        base_domain: None,
        github_api_url: "https://api.github.com".to_owned(),
        github_web_url: "https://github.com".to_owned(),
        template_repos: Vec::new(),
        allowed_users: Vec::new(),
        allowed_org: None,
        allowed_orgs: Vec::new(),
        admins: Vec::new(),
        github_client_id: None,
        public_url: None,
        session_idle_seconds: warp_events::settings::default_session_idle_seconds(),
        session_absolute_seconds: warp_events::settings::default_session_absolute_seconds(),
        cloudflare_api_url: "https://api.cloudflare.com/client/v4".to_owned(),
        cloudflare_account_id: None,
        cloudflare_zone_id: None,
        tunnel_id: None,
        tunnel_name: None,
        tunnel_mode: TunnelMode::Remote,
        cloudflared_config_path: None,
        cloudflared_restart: CloudflaredRestart::None,
        cloudflared_container: None,
        cloudflared_restart_command: Vec::new(),
        route_grace_seconds: warp_events::settings::default_route_grace_seconds(),
        workspaces_root: "/var/lib/warp/workspaces".to_owned(),
        subdomain_rule: SubdomainRule::Explicit,
    }
}

/// What a command asks of a secret: set it to a value with this fingerprint, or clear it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretUpdate {
    /// The secret now has a value whose fingerprint is this (8 hex digits).
    Set(String),
    /// The secret is removed.
    Clear,
}

/// Commands of the `Settings` aggregate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettingsCommand {
    /// Make the settings exactly `values` and apply the secret updates. Emits one
    /// `SettingsChanged` if any value differs, and one `SecretChanged`/`SecretCleared` per secret
    /// that actually changes; nothing when nothing changes. `expected_version` (the version the
    /// caller read) refuses the change when another one landed in between.
    Change {
        values: ValidValues,
        secrets: BTreeMap<SecretName, SecretUpdate>,
        expected_version: Option<u64>,
    },
}

/// Why the settings refuse a change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    #[error("the settings are at version {actual}, the request expected version {expected}")]
    VersionMismatch { expected: u64, actual: u64 },
}

/// State of the settings, rebuilt from their events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// Number of events applied (0 before any change).
    pub version: u64,
    /// Every non-secret value.
    pub values: SettingValues,
    /// Fingerprint of each secret that is set.
    pub secrets: BTreeMap<SecretName, String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self { version: 0, values: default_values(), secrets: BTreeMap::new() }
    }
}

/// Names of the fields that differ between `a` and `b`, sorted.
pub fn changed_fields(a: &SettingValues, b: &SettingValues) -> Vec<String> {
    let (a, b) = (serde_json::to_value(a).unwrap_or_default(), serde_json::to_value(b).unwrap_or_default());
    let mut changed: Vec<String> = match (a.as_object(), b.as_object()) {
        (Some(a), Some(b)) => b.iter().filter(|(k, v)| a.get(*k) != Some(*v)).map(|(k, _)| k.clone()).collect(),
        _ => Vec::new(),
    };
    changed.sort();
    changed
}

impl Aggregate for Settings {
    const TYPE: &'static str = warp_events::settings::AGGREGATE_TYPE;
    type Command = SettingsCommand;
    type Event = SettingsEvent;
    type Error = SettingsError;
    type Services = ();

    async fn handle(&mut self, command: Self::Command, _: &Self::Services, sink: &EventSink<Self>) -> Result<(), Self::Error> {
        let SettingsCommand::Change { values, secrets, expected_version } = command;
        if let Some(expected) = expected_version.filter(|e| *e != self.version) {
            return Err(SettingsError::VersionMismatch { expected, actual: self.version });
        }
        let changed = changed_fields(&self.values, values.get());
        if !changed.is_empty() {
            let values = Box::new(values.into_inner());
            sink.write(SettingsEvent::SettingsChanged { changed, values }, self).await;
        }
        for (name, update) in secrets {
            let current = self.secrets.get(&name);
            match update {
                SecretUpdate::Set(fingerprint) if current != Some(&fingerprint) => {
                    sink.write(SettingsEvent::SecretChanged { name, fingerprint }, self).await;
                }
                SecretUpdate::Clear if current.is_some() => {
                    sink.write(SettingsEvent::SecretCleared { name }, self).await;
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        self.version += 1;
        match event {
            SettingsEvent::SettingsChanged { values, .. } => self.values = *values,
            SettingsEvent::SecretChanged { name, fingerprint } => {
                self.secrets.insert(name, fingerprint);
            }
            SettingsEvent::SecretCleared { name } => {
                self.secrets.remove(&name);
            }
        }
    }
}

#[cfg(test)]
mod tests;

//! The one serialised writer of the tunnel's ingress, in both modes.
//!
//! Every change (publish, unpublish) takes [`IngressLock`]: a transaction holding the
//! Postgres advisory lock `warp:tunnel-ingress`, so writers in any process run one at a time,
//! and the read-modify-write of one never overwrites another's rule (two routes added at once
//! both survive). The lock goes with the transaction on every exit path. The panel's ownership
//! rows (`cloudflare_routes`) are read and written in the same transaction.
//!
//! - **remote**: `GET` the configuration, edit `config.ingress`, validate, `PUT` it back with
//!   every other key as it was (PUT replaces everything).
//! - **local**: read `config.yml`, edit, validate, write atomically with a backup, restart
//!   cloudflared and check it came back; if not, restore the previous text, restart again, and
//!   fail saying so.

use std::collections::BTreeSet;

use sqlx::{PgConnection, PgPool, Postgres, Transaction};
use warp_jobs::JobContext;

use crate::client::CloudflareApi;
use crate::ingress::{Ingress, IngressError, IngressRule};
use crate::local_config::{self, LocalConfig};
use crate::tunnel::{Mode, TunnelSettings};
use crate::Services;

/// The writer's lock and the transaction the ownership rows are changed in.
pub struct IngressLock {
    tx: Transaction<'static, Postgres>,
}

impl IngressLock {
    /// Waits for the lock.
    pub async fn take(pool: &PgPool) -> sqlx::Result<Self> {
        let mut tx = pool.begin().await?;
        sqlx::query("select pg_advisory_xact_lock(hashtextextended('warp:tunnel-ingress', 0))").execute(&mut *tx).await?;
        Ok(Self { tx })
    }

    /// Hostnames (normal form) whose rules and records are the panel's.
    pub async fn owned(&mut self) -> sqlx::Result<BTreeSet<String>> {
        let rows: Vec<String> = sqlx::query_scalar("select hostname from cloudflare_routes").fetch_all(&mut *self.tx).await?;
        Ok(rows.into_iter().collect())
    }

    /// The transaction, for the ownership rows.
    pub fn conn(&mut self) -> &mut PgConnection {
        &mut self.tx
    }

    /// Commits the ownership changes and releases the lock.
    pub async fn release(self) -> sqlx::Result<()> {
        self.tx.commit().await
    }
}

/// The tunnel's configuration as it is now.
#[derive(Debug, Clone)]
pub enum Snapshot {
    /// The remote configuration's `config` object.
    Remote { config: serde_json::Value },
    /// The local file's text and model.
    Local { text: String, config: LocalConfig },
}

impl Snapshot {
    /// Its ingress rules.
    pub fn ingress(&self) -> Result<Ingress, String> {
        match self {
            Snapshot::Remote { config } => {
                let rules = config.get("ingress").cloned().unwrap_or(serde_json::Value::Array(Vec::new()));
                let rules: Vec<IngressRule> =
                    serde_json::from_value(rules).map_err(|e| format!("the tunnel's remote ingress is unreadable: {e}"))?;
                Ok(Ingress { rules })
            }
            Snapshot::Local { config, .. } => Ok(config.ingress()),
        }
    }

    /// The same configuration with `ingress` instead of its rules, as it would be written.
    pub fn with_ingress(&self, ingress: &Ingress) -> Result<Snapshot, String> {
        match self {
            Snapshot::Remote { config } => {
                let mut config = config.clone();
                if !config.is_object() {
                    config = serde_json::json!({});
                }
                config["ingress"] = serde_json::to_value(&ingress.rules).map_err(|e| e.to_string())?;
                Ok(Snapshot::Remote { config })
            }
            Snapshot::Local { config, .. } => {
                let mut config = config.clone();
                config.ingress = ingress.rules.clone();
                let text = config.to_yaml().map_err(|e| format!("{e:#}"))?;
                Ok(Snapshot::Local { text, config })
            }
        }
    }
}

/// Reads the tunnel's configuration in the configured mode.
pub async fn read(settings: &TunnelSettings, api: &dyn CloudflareApi) -> Result<Snapshot, String> {
    match &settings.mode {
        Mode::Remote => {
            let current = api
                .tunnel_configuration(&settings.account_id, &settings.tunnel_id)
                .await
                .map_err(|e| format!("reading the tunnel configuration: {e}"))?;
            Ok(Snapshot::Remote { config: current.config })
        }
        Mode::Local { path, .. } => {
            let path = path.clone();
            let (text, config) = tokio::task::spawn_blocking(move || local_config::read(&path))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| format!("{e:#}"))?;
            Ok(Snapshot::Local { text, config })
        }
    }
}

/// Applies `edit` to the ingress under `lock` and writes the result if anything changed.
/// Returns whether it changed.
///
/// # Errors
/// A sentence for the job log and the project: an edit refused (a foreign rule), a result
/// cloudflared would not run with, a failed write, or a cloudflared that did not come back
/// (then the previous file is back).
pub async fn write(
    svc: &Services,
    lock: &mut IngressLock,
    settings: &TunnelSettings,
    api: &dyn CloudflareApi,
    job: &JobContext,
    edit: impl FnOnce(&mut Ingress, &BTreeSet<String>) -> Result<bool, IngressError>,
) -> Result<bool, String> {
    let owned = lock.owned().await.map_err(|e| format!("reading the panel's routes: {e}"))?;
    let before = read(settings, api).await?;
    let mut ingress = before.ingress()?;
    if !edit(&mut ingress, &owned).map_err(|e| e.to_string())? {
        job.log.system("the tunnel's ingress already has this rule; nothing to write");
        return Ok(false);
    }
    ingress.ensure_catch_all();
    ingress.validate().map_err(|e| format!("refusing to write an ingress cloudflared would not run with: {e}"))?;
    let after = before.with_ingress(&ingress)?;
    match (&settings.mode, &before, &after) {
        (Mode::Remote, _, Snapshot::Remote { config }) => {
            api.put_tunnel_configuration(&settings.account_id, &settings.tunnel_id, config)
                .await
                .map_err(|e| format!("writing the tunnel configuration: {e}"))?;
            job.log.system(&format!("tunnel configuration written ({} ingress rules)", ingress.rules.len()));
            Ok(true)
        }
        (Mode::Local { path, restart }, Snapshot::Local { text: previous, .. }, Snapshot::Local { text, .. }) => {
            let (p, t, keep) = (path.clone(), text.clone(), svc.config.backups);
            let backup = tokio::task::spawn_blocking(move || local_config::write(&p, &t, keep))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| format!("{e:#}"))?;
            let kept = backup.map(|b| format!(", previous version kept as {}", b.display())).unwrap_or_default();
            job.log.system(&format!("wrote {}{kept}", path.display()));
            let timeout = svc.config.restart_timeout;
            let Err(why) = crate::restart::restart(&svc.nats, &svc.config.docker_host, restart, job, timeout).await else {
                return Ok(true);
            };
            job.log.system(&format!("cloudflared did not come back: {why}; restoring the previous {}", path.display()));
            let (p, t) = (path.clone(), previous.clone());
            tokio::task::spawn_blocking(move || local_config::restore(&p, &t))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| format!("{why}; restoring the previous file failed too: {e:#}"))?;
            let again = crate::restart::restart(&svc.nats, &svc.config.docker_host, restart, job, timeout).await;
            let outcome = match again {
                Ok(()) => "restored the previous config.yml and cloudflared runs with it again".to_owned(),
                Err(e) => format!("restored the previous config.yml, but cloudflared did not come back with it either: {e}"),
            };
            Err(format!("cloudflared did not come back after the change ({why}); {outcome}"))
        }
        _ => Err("the tunnel mode changed while writing; try again".into()),
    }
}

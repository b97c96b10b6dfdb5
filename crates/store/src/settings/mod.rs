//! The settings store: the `Settings` aggregate's command bus, its read model, and the
//! encrypted values of secret settings.
//!
//! A change runs in this order: each new secret value is sealed and stored under
//! `(name, fingerprint)`; the command appends events that carry only fingerprints; the read
//! model is refreshed; values no longer referenced are deleted; the redactor learns the new
//! values. The current value of a secret is always the row whose fingerprint the aggregate
//! holds, so a crash between two steps never yields a wrong value.

mod crypto;
mod current;
pub(crate) mod keyring;

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Context;
use chrono::{DateTime, Utc};
use cqrs_es::AggregateError;
use secrecy::{ExposeSecret, SecretString};
use sqlx::PgPool;
use warp_domain::settings::{SecretChanges, SecretUpdate, ValidValues};
use warp_domain::{Settings, SettingsCommand, SettingsError};
use warp_events::settings::{SecretName, SettingValues, AGGREGATE_ID};
use warp_events::EventMetadata;
use warp_platform::redact::Redactor;
use warp_platform::secret_key::SecretKey;

pub use crypto::{Cipher, OpenError, Sealed};
pub use keyring::{rotate, Keyring, KeyringError};

/// Command bus of the `Settings` aggregate.
pub type SettingsCqrs = Arc<crate::event_store::Cqrs<Settings>>;

/// A secret setting's current value (decrypted) and what is known about it.
#[derive(Clone)]
pub struct SecretValue {
    /// The value. Hand it only to the API it belongs to; never log it.
    pub value: SecretString,
    /// 8 hex digits identifying the value (see [`Keyring::fingerprint`]).
    pub fingerprint: String,
    /// When this value was stored.
    pub updated_at: DateTime<Utc>,
}

impl std::fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretValue").field("fingerprint", &self.fingerprint).finish_non_exhaustive()
    }
}

/// The settings as they are now.
#[derive(Debug, Clone)]
pub struct CurrentSettings {
    /// Aggregate version (number of settings events; 0 before any change).
    pub version: u64,
    /// Every non-secret value.
    pub values: SettingValues,
    /// Every secret that is set.
    pub secrets: BTreeMap<SecretName, SecretValue>,
    /// When the settings last changed.
    pub updated_at: Option<DateTime<Utc>>,
}

/// Why a change was not made.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    /// The aggregate refused or conflicted (stale version, concurrent change) or the event
    /// store failed.
    #[error(transparent)]
    Command(#[from] AggregateError<SettingsError>),
    /// The secret store failed.
    #[error(transparent)]
    Store(#[from] anyhow::Error),
}

/// The settings of one panel; cheap to clone.
#[derive(Clone)]
pub struct SettingsStore {
    pool: PgPool,
    keyring: Keyring,
    cqrs: SettingsCqrs,
    redactor: Redactor,
}

impl SettingsStore {
    /// Opens the store with the master `key` (checking it against the stored keyring) and
    /// registers every secret value with `redactor`.
    ///
    /// # Errors
    /// [`KeyringError::WrongKey`] (inside the `anyhow::Error`) when `key` is not the key the
    /// secrets were encrypted with; nothing is changed then.
    pub async fn open(pool: PgPool, key: &SecretKey, redactor: Redactor) -> anyhow::Result<Self> {
        let keyring = Keyring::open(&pool, key).await?;
        let cqrs = crate::event_store::framework(pool.clone());
        let store = Self { pool, keyring, cqrs, redactor };
        store.load().await.context("loading the settings")?;
        Ok(store)
    }

    /// The keyring (cipher and fingerprint key), for other encrypted stores such as
    /// [`crate::deploy_env`].
    pub fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    /// The redactor every secret value is registered with.
    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// The fingerprint `value` would have as secret `name`.
    pub fn fingerprint(&self, name: SecretName, value: &str) -> String {
        self.keyring.fingerprint(name.as_str(), value)
    }

    /// The current settings with secrets decrypted (and registered with the redactor).
    pub async fn load(&self) -> anyhow::Result<CurrentSettings> {
        let (state, updated_at) = current::state(&self.pool).await?;
        let mut secrets = BTreeMap::new();
        for (name, fingerprint) in &state.secrets {
            let row: Option<(Vec<u8>, Vec<u8>, DateTime<Utc>)> = sqlx::query_as(
                "select nonce, ciphertext, created_at from settings_secrets where name = $1 and fingerprint = $2",
            )
            .bind(name.as_str())
            .bind(fingerprint)
            .fetch_optional(&self.pool)
            .await?;
            let (nonce, ciphertext, stored_at) =
                row.with_context(|| format!("the stored value of {} is missing; set it again", name.as_str()))?;
            let aad = keyring::secret_aad(name.as_str(), fingerprint);
            let plain = self
                .keyring
                .cipher
                .open(&aad, &Sealed { nonce, ciphertext })
                .with_context(|| format!("decrypting {}", name.as_str()))?;
            let text = String::from_utf8(plain.to_vec()).context("a stored secret is not UTF-8")?;
            let value = SecretValue { value: SecretString::from(text), fingerprint: fingerprint.clone(), updated_at: stored_at };
            secrets.insert(*name, value);
        }
        for name in SecretName::ALL {
            let values = secrets.get(&name).map(|s| vec![s.value.expose_secret().to_owned()]).unwrap_or_default();
            self.redactor.set_secrets(&format!("settings.{}", name.as_str()), values);
        }
        Ok(CurrentSettings { version: state.version, values: state.values, secrets, updated_at })
    }

    /// Applies `values` and `secrets` if the settings are still at `expected_version`, records
    /// the events with `metadata`, and returns the settings after the change.
    pub async fn change(
        &self,
        values: ValidValues,
        secrets: SecretChanges,
        expected_version: u64,
        metadata: &EventMetadata,
    ) -> Result<CurrentSettings, ChangeError> {
        let started: DateTime<Utc> = sqlx::query_scalar("select now()").fetch_one(&self.pool).await.map_err(anyhow::Error::from)?;
        let mut updates = BTreeMap::new();
        let changes = [
            (SecretName::GithubToken, secrets.github_token),
            (SecretName::CloudflareApiToken, secrets.cloudflare_api_token),
            (SecretName::GithubClientSecret, secrets.github_client_secret),
            (SecretName::GithubWebhookSecret, secrets.github_webhook_secret),
        ];
        for (name, change) in changes {
            match change {
                None => {}
                Some(None) => {
                    updates.insert(name, SecretUpdate::Clear);
                }
                Some(Some(token)) => {
                    let fingerprint = self.fingerprint(name, token.expose());
                    let sealed = self.keyring.cipher.seal(&keyring::secret_aad(name.as_str(), &fingerprint), token.expose().as_bytes());
                    sqlx::query(
                        "insert into settings_secrets (name, fingerprint, nonce, ciphertext) values ($1, $2, $3, $4)
                         on conflict (name, fingerprint) do nothing",
                    )
                    .bind(name.as_str())
                    .bind(&fingerprint)
                    .bind(&sealed.nonce)
                    .bind(&sealed.ciphertext)
                    .execute(&self.pool)
                    .await
                    .map_err(anyhow::Error::from)?;
                    updates.insert(name, SecretUpdate::Set(fingerprint));
                }
            }
        }
        let command = SettingsCommand::Change { values, secrets: updates, expected_version: Some(expected_version) };
        self.cqrs.execute_with_metadata(AGGREGATE_ID, command, metadata.to_map()).await?;
        let now = self.load().await?;
        self.delete_superseded(&now, started).await?;
        Ok(now)
    }

    /// Deletes stored values that the settings no longer refer to and that were stored before
    /// `before` (a concurrent change's freshly stored value is kept).
    async fn delete_superseded(&self, now: &CurrentSettings, before: DateTime<Utc>) -> anyhow::Result<()> {
        let names: Vec<&str> = now.secrets.keys().map(|n| n.as_str()).collect();
        let fingerprints: Vec<&str> = now.secrets.values().map(|s| s.fingerprint.as_str()).collect();
        sqlx::query(
            "delete from settings_secrets where created_at < $1
               and (name, fingerprint) not in (select * from unnest($2::text[], $3::text[]))",
        )
        .bind(before)
        .bind(&names)
        .bind(&fingerprints)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

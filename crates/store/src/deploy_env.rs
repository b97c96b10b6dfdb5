//! Deploy env values: encrypted beside the event store, like settings secrets.
//!
//! The `Project` aggregate holds only `name → fingerprint`; the value is the row of
//! `project_env_secrets` with that `(project_id, name, fingerprint)`, sealed with
//! XChaCha20-Poly1305 under the master key (associated data binds it to its project, name and
//! fingerprint). Fingerprints are HMACs keyed per panel and salted with the project id, so the
//! same value in two projects has two fingerprints. `warp secrets rotate` re-encrypts these rows
//! too.
//!
//! A change runs like a settings change ([`crate::settings::SettingsStore::change`]): note the
//! database time ([`DeployEnvStore::now`]), store the new values (a value stored again gets a
//! fresh `created_at`), run the command, then [`DeployEnvStore::delete_superseded`] deletes only
//! values that the aggregate, as it is *after* the command, does not refer to and that were
//! stored before the change began. Callers also hold the project's lock
//! ([`crate::project_lock::ProjectLocks`]) from before storing until after deleting, so two
//! concurrent changes never delete each other's values.

use std::collections::BTreeMap;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use sqlx::PgPool;
use uuid::Uuid;
use warp_domain::validate::EnvVarName;

use crate::settings::keyring::deploy_env_aad;
use crate::settings::{Keyring, Sealed};

/// Reads and writes deploy env values of every project; cheap to clone.
#[derive(Clone)]
pub struct DeployEnvStore {
    pool: PgPool,
    keyring: Keyring,
}

impl DeployEnvStore {
    /// A store on `pool` sealing under `keyring` (from [`crate::settings::SettingsStore::keyring`]).
    pub fn new(pool: PgPool, keyring: Keyring) -> Self {
        Self { pool, keyring }
    }

    /// Seals and stores every value of `vars` for `project_id`; returns `name → fingerprint`
    /// for the aggregate. Storing a value that is already stored is a no-op.
    ///
    /// # Errors
    /// When the database refuses the rows.
    pub async fn store(
        &self,
        project_id: Uuid,
        vars: &BTreeMap<EnvVarName, SecretString>,
    ) -> anyhow::Result<BTreeMap<EnvVarName, String>> {
        let mut fingerprints = BTreeMap::new();
        for (name, value) in vars {
            let fingerprint = self.keyring.fingerprint(&format!("deploy_env:{project_id}:{}", name.as_str()), value.expose_secret());
            let sealed = self.keyring.cipher.seal(&deploy_env_aad(project_id, name.as_str(), &fingerprint), value.expose_secret().as_bytes());
            sqlx::query(
                "insert into project_env_secrets (project_id, name, fingerprint, nonce, ciphertext)
                 values ($1, $2, $3, $4, $5)
                 on conflict (project_id, name, fingerprint) do update set created_at = now()",
            )
            .bind(project_id)
            .bind(name.as_str())
            .bind(&fingerprint)
            .bind(&sealed.nonce)
            .bind(&sealed.ciphertext)
            .execute(&self.pool)
            .await
            .context("storing a deploy env value")?;
            fingerprints.insert(name.clone(), fingerprint);
        }
        Ok(fingerprints)
    }

    /// The values of `vars` (`name → fingerprint`, as the aggregate holds them), decrypted.
    ///
    /// # Errors
    /// When a value is missing (deleted or never stored) or does not open under the key.
    pub async fn open(&self, project_id: Uuid, vars: &BTreeMap<String, String>) -> anyhow::Result<BTreeMap<String, SecretString>> {
        let mut values = BTreeMap::new();
        for (name, fingerprint) in vars {
            let row: Option<(Vec<u8>, Vec<u8>)> = sqlx::query_as(
                "select nonce, ciphertext from project_env_secrets where project_id = $1 and name = $2 and fingerprint = $3",
            )
            .bind(project_id)
            .bind(name)
            .bind(fingerprint)
            .fetch_optional(&self.pool)
            .await?;
            let (nonce, ciphertext) = row.with_context(|| format!("the stored value of deploy env {name} is missing; set it again"))?;
            let plain = self
                .keyring
                .cipher
                .open(&deploy_env_aad(project_id, name, fingerprint), &Sealed { nonce, ciphertext })
                .map_err(|_| anyhow::anyhow!("the stored value of deploy env {name} does not open under WARP_SECRET_KEY"))?;
            let text = String::from_utf8(plain.to_vec()).context("a deploy env value is not UTF-8")?;
            values.insert(name.clone(), SecretString::from(text));
        }
        Ok(values)
    }

    /// Registers every stored deploy env value with `redactor` (group `deploy:<project id>`),
    /// so container log lines and errors are masked from start-up on, before any job of the
    /// project ran in this process. Returns how many values were registered.
    ///
    /// # Errors
    /// When the rows cannot be read; a row that does not open is skipped with a warning.
    pub async fn register_all(&self, redactor: &warp_platform::redact::Redactor) -> sqlx::Result<usize> {
        type Row = (Uuid, Option<String>, String, String, Vec<u8>, Vec<u8>);
        // The compose project names the scope of the project's container logs; the read model
        // has it for every project it has seen (one it has not seen yet has run no container).
        let rows: Vec<Row> = sqlx::query_as(
            "select s.project_id, p.compose_project, s.name, s.fingerprint, s.nonce, s.ciphertext
               from project_env_secrets s left join projects p on p.id = s.project_id
              order by s.project_id",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut groups: BTreeMap<(Uuid, Option<String>), Vec<String>> = BTreeMap::new();
        for (project_id, compose_project, name, fingerprint, nonce, ciphertext) in rows {
            match self.keyring.cipher.open(&deploy_env_aad(project_id, &name, &fingerprint), &Sealed { nonce, ciphertext }) {
                Ok(plain) => groups.entry((project_id, compose_project)).or_default().push(String::from_utf8_lossy(&plain).into_owned()),
                Err(_) => tracing::warn!(project.id = %project_id, env.name = %name, "a stored deploy env value does not open"),
            }
        }
        let count = groups.values().map(Vec::len).sum();
        for ((project_id, compose_project), values) in groups {
            redactor.set_project_secrets(&project_id.to_string(), values.clone());
            if let Some(compose_project) = compose_project {
                redactor.set_project_secrets(&compose_project, values);
            }
        }
        Ok(count)
    }

    /// The database's clock: take it before [`DeployEnvStore::store`] and hand it to
    /// [`DeployEnvStore::delete_superseded`].
    pub async fn now(&self) -> sqlx::Result<DateTime<Utc>> {
        sqlx::query_scalar("select now()").fetch_one(&self.pool).await
    }

    /// Deletes the stored values of `project_id` that its aggregate, replayed now, no longer
    /// refers to and that were stored before `change_began` (a concurrent change's freshly
    /// stored value is kept). Call it after the command of the change.
    ///
    /// # Errors
    /// When the project cannot be replayed or the rows cannot be deleted.
    pub async fn delete_superseded(&self, project_id: Uuid, change_began: DateTime<Utc>) -> anyhow::Result<()> {
        let live = crate::event_store::load_project(&self.pool, project_id).await.context("replaying the project")?.env;
        let names: Vec<&str> = live.keys().map(String::as_str).collect();
        let fingerprints: Vec<&str> = live.values().map(String::as_str).collect();
        sqlx::query(
            "delete from project_env_secrets where project_id = $1 and created_at < $4
               and (name, fingerprint) not in (select * from unnest($2::text[], $3::text[]))",
        )
        .bind(project_id)
        .bind(&names)
        .bind(&fingerprints)
        .bind(change_began)
        .execute(&self.pool)
        .await
        .context("deleting superseded deploy env values")?;
        Ok(())
    }

    /// Deletes every stored value of `project_id`: for a project whose creation failed, so no
    /// event refers to them.
    pub async fn delete_all(&self, project_id: Uuid) -> sqlx::Result<()> {
        sqlx::query("delete from project_env_secrets where project_id = $1").bind(project_id).execute(&self.pool).await?;
        Ok(())
    }
}

//! The keyring row: the fingerprint key sealed under the master key. Opening it is the key
//! check at start-up, and [`rotate`] re-encrypts it and every secret under a new key.

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use sqlx::PgPool;
use warp_platform::secret_key::SecretKey;
use zeroize::Zeroizing;

use super::crypto::{Cipher, Sealed};

/// Associated data of the keyring row.
const KEYRING_AAD: &str = "warp:keyring:v1";

/// Why the keyring could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    /// The master key is not the one the stored secrets were encrypted with.
    #[error(
        "WARP_SECRET_KEY does not match the key the stored secrets were encrypted with; \
         nothing was changed. Start with the previous key (or, to replace it, run \
         `warp secrets rotate --new-key <new>` with the previous key in WARP_SECRET_KEY)"
    )]
    WrongKey,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// The cipher of the master key and the fingerprint key it unlocks.
#[derive(Clone)]
pub struct Keyring {
    pub(crate) cipher: Cipher,
    fingerprint_key: Zeroizing<Vec<u8>>,
}

impl Keyring {
    /// Opens the keyring with `key`, creating it on first use.
    ///
    /// # Errors
    /// [`KeyringError::WrongKey`] when `key` does not open the stored keyring.
    pub async fn open(pool: &PgPool, key: &SecretKey) -> Result<Self, KeyringError> {
        let cipher = Cipher::new(key);
        let mut fresh = Zeroizing::new(vec![0u8; 32]);
        rand::rngs::OsRng.fill_bytes(&mut fresh);
        let sealed = cipher.seal(KEYRING_AAD, &fresh);
        sqlx::query("insert into secret_keyring (id, nonce, ciphertext) values (true, $1, $2) on conflict (id) do nothing")
            .bind(&sealed.nonce)
            .bind(&sealed.ciphertext)
            .execute(pool)
            .await?;
        let (nonce, ciphertext): (Vec<u8>, Vec<u8>) =
            sqlx::query_as("select nonce, ciphertext from secret_keyring where id").fetch_one(pool).await?;
        let fingerprint_key = cipher.open(KEYRING_AAD, &Sealed { nonce, ciphertext }).map_err(|_| KeyringError::WrongKey)?;
        Ok(Self { cipher, fingerprint_key })
    }

    /// Short fingerprint of a secret value: the first 8 hex digits of
    /// HMAC-SHA256(fingerprint key, `name` NUL `value`). Stable across key rotation, reveals
    /// nothing about the value without the key.
    pub fn fingerprint(&self, name: &str, value: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.fingerprint_key).expect("HMAC takes any key length");
        mac.update(name.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..4])
    }
}

/// Associated data of one stored secret: binds the ciphertext to its name and fingerprint.
pub(super) fn secret_aad(name: &str, fingerprint: &str) -> String {
    format!("warp:settings_secret:v1:{name}:{fingerprint}")
}

/// Associated data of one deploy env value: binds the ciphertext to its project, variable and
/// fingerprint, so a row copied to another project or variable does not open.
pub(crate) fn deploy_env_aad(project_id: uuid::Uuid, name: &str, fingerprint: &str) -> String {
    format!("warp:deploy_env:v1:{project_id}:{name}:{fingerprint}")
}

/// Re-encrypts the keyring and every stored secret (settings secrets and deploy env values)
/// from `old` to `new` in one transaction.
/// Returns how many secrets were re-encrypted.
///
/// # Errors
/// [`KeyringError::WrongKey`] when `old` does not open the keyring or a secret; then nothing
/// is changed.
pub async fn rotate(pool: &PgPool, old: &SecretKey, new: &SecretKey) -> Result<u64, KeyringError> {
    let (old_cipher, new_cipher) = (Cipher::new(old), Cipher::new(new));
    let mut tx = pool.begin().await?;
    let row: Option<(Vec<u8>, Vec<u8>)> =
        sqlx::query_as("select nonce, ciphertext from secret_keyring where id for update").fetch_optional(&mut *tx).await?;
    let Some((nonce, ciphertext)) = row else {
        // Nothing stored yet: the new key simply becomes the key on the next start.
        return Ok(0);
    };
    let fingerprint_key = old_cipher.open(KEYRING_AAD, &Sealed { nonce, ciphertext }).map_err(|_| KeyringError::WrongKey)?;
    let sealed = new_cipher.seal(KEYRING_AAD, &fingerprint_key);
    sqlx::query("update secret_keyring set nonce = $1, ciphertext = $2, rotated_at = now() where id")
        .bind(&sealed.nonce)
        .bind(&sealed.ciphertext)
        .execute(&mut *tx)
        .await?;
    let rows: Vec<(String, String, Vec<u8>, Vec<u8>)> =
        sqlx::query_as("select name, fingerprint, nonce, ciphertext from settings_secrets for update")
            .fetch_all(&mut *tx)
            .await?;
    let count = rows.len() as u64;
    for (name, fingerprint, nonce, ciphertext) in rows {
        let aad = secret_aad(&name, &fingerprint);
        let plain = old_cipher.open(&aad, &Sealed { nonce, ciphertext }).map_err(|_| KeyringError::WrongKey)?;
        let sealed = new_cipher.seal(&aad, &plain);
        sqlx::query("update settings_secrets set nonce = $3, ciphertext = $4 where name = $1 and fingerprint = $2")
            .bind(&name)
            .bind(&fingerprint)
            .bind(&sealed.nonce)
            .bind(&sealed.ciphertext)
            .execute(&mut *tx)
            .await?;
    }
    type EnvRow = (uuid::Uuid, String, String, Vec<u8>, Vec<u8>);
    let rows: Vec<EnvRow> = sqlx::query_as(
        "select project_id, name, fingerprint, nonce, ciphertext from project_env_secrets for update",
    )
    .fetch_all(&mut *tx)
    .await?;
    let count = count + rows.len() as u64;
    for (project_id, name, fingerprint, nonce, ciphertext) in rows {
        let aad = deploy_env_aad(project_id, &name, &fingerprint);
        let plain = old_cipher.open(&aad, &Sealed { nonce, ciphertext }).map_err(|_| KeyringError::WrongKey)?;
        let sealed = new_cipher.seal(&aad, &plain);
        sqlx::query(
            "update project_env_secrets set nonce = $4, ciphertext = $5
              where project_id = $1 and name = $2 and fingerprint = $3",
        )
        .bind(project_id)
        .bind(&name)
        .bind(&fingerprint)
        .bind(&sealed.nonce)
        .bind(&sealed.ciphertext)
        .execute(&mut *tx)
        .await?;
    }
    // Pending logins live 10 minutes: they are dropped rather than re-sealed.
    sqlx::query("delete from login_attempts").execute(&mut *tx).await?;
    let rows: Vec<(uuid::Uuid, Vec<u8>, Vec<u8>)> =
        sqlx::query_as("select id, token_nonce, token_sealed from sessions where token_sealed is not null for update")
            .fetch_all(&mut *tx)
            .await?;
    let count = count + rows.len() as u64;
    for (id, nonce, ciphertext) in rows {
        let aad = crate::sessions::token_aad(id);
        let plain = old_cipher.open(&aad, &Sealed { nonce, ciphertext }).map_err(|_| KeyringError::WrongKey)?;
        let sealed = new_cipher.seal(&aad, &plain);
        sqlx::query("update sessions set token_nonce = $2, token_sealed = $3 where id = $1")
            .bind(id)
            .bind(&sealed.nonce)
            .bind(&sealed.ciphertext)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(count)
}

//! GitHub login state: pending OAuth attempts (`login_attempts`) and server-side sessions
//! (`sessions`).
//!
//! Secrets are random 32-byte values written as 64 hex digits. Only their SHA-256 is stored (a
//! plain hash suffices for high-entropy random values and keeps lookups a single indexed
//! query). The PKCE verifier and the user's GitHub token are sealed with the settings keyring
//! (associated data names the row, so a ciphertext moved to another row does not open).

use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::RngCore;
use secrecy::SecretString;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

use crate::settings::{Keyring, Sealed};

/// SHA-256 of a presented secret (state, browser binding, session cookie).
pub fn hash(value: &str) -> Vec<u8> {
    Sha256::digest(value.as_bytes()).to_vec()
}

/// 32 random bytes from the OS generator as 64 hex digits (256 bits).
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Whether `value` has the shape of [`random_secret`] (checked before any lookup).
pub fn is_secret_shaped(value: &str) -> bool {
    value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Associated data of a sealed PKCE verifier.
fn verifier_aad(state_hash: &[u8]) -> String {
    format!("warp:login_verifier:v1:{}", hex::encode(state_hash))
}

/// Associated data of a session's sealed GitHub token.
pub(crate) fn token_aad(session: Uuid) -> String {
    format!("warp:session_token:v1:{session}")
}

/// Records a login attempt of the browser holding `browser` (its binding cookie) and returns
/// the new `state`. Expired attempts are deleted on the way.
pub async fn create_attempt(
    pool: &PgPool,
    keyring: &Keyring,
    browser: &str,
    verifier: &str,
    return_to: &str,
    ttl: Duration,
) -> sqlx::Result<String> {
    sqlx::query("delete from login_attempts where expires_at < now()").execute(pool).await?;
    let state = random_secret();
    let state_hash = hash(&state);
    let sealed = keyring.cipher.seal(&verifier_aad(&state_hash), verifier.as_bytes());
    sqlx::query(
        "insert into login_attempts (state_hash, browser_hash, verifier_nonce, verifier_sealed, return_to, expires_at)
         values ($1, $2, $3, $4, $5, now() + make_interval(secs => $6))",
    )
    .bind(&state_hash)
    .bind(hash(browser))
    .bind(&sealed.nonce)
    .bind(&sealed.ciphertext)
    .bind(return_to)
    .bind(ttl.as_secs_f64())
    .execute(pool)
    .await?;
    Ok(state)
}

/// A login attempt taken out of the store by its callback.
pub struct TakenAttempt {
    /// Whether the browser presenting the callback holds the cookie the attempt was bound to.
    pub same_browser: bool,
    /// Whether the attempt was older than its time to live.
    pub expired: bool,
    /// The PKCE verifier. Send it only to GitHub's token endpoint.
    pub verifier: SecretString,
    pub return_to: String,
}

/// Deletes and returns the attempt of `state` (so a state works once), or `None` when there
/// is none (unknown, already used, or deleted after expiry). `browser` is the binding cookie
/// the callback's browser presented.
pub async fn take_attempt(pool: &PgPool, keyring: &Keyring, state: &str, browser: Option<&str>) -> anyhow::Result<Option<TakenAttempt>> {
    let state_hash = hash(state);
    type AttemptRow = (Vec<u8>, Vec<u8>, Vec<u8>, String, bool);
    let row: Option<AttemptRow> = sqlx::query_as(
        "delete from login_attempts where state_hash = $1
         returning browser_hash, verifier_nonce, verifier_sealed, return_to, expires_at < now()",
    )
    .bind(&state_hash)
    .fetch_optional(pool)
    .await?;
    let Some((browser_hash, nonce, ciphertext, return_to, expired)) = row else { return Ok(None) };
    let plain = keyring.cipher.open(&verifier_aad(&state_hash), &Sealed { nonce, ciphertext })?;
    let verifier = SecretString::from(String::from_utf8(plain.to_vec())?);
    let same_browser = browser.is_some_and(|b| hash(b) == browser_hash);
    Ok(Some(TakenAttempt { same_browser, expired, verifier, return_to }))
}

/// A session to store.
pub struct NewSession<'a> {
    /// The `session` aggregate id.
    pub id: Uuid,
    pub github_user_id: u64,
    pub login: &'a str,
    /// `admin` or `member`.
    pub role: &'a str,
    /// The user's GitHub token, kept (sealed) for membership re-checks.
    pub github_token: Option<&'a str>,
    /// The GitHub API base URL the token belongs to (it is never sent anywhere else).
    pub github_api_url: &'a str,
    /// Whether GitHub just confirmed an org membership (admitted through an org). Otherwise the
    /// session has no confirmation to fall back on, and leaving the user lists means asking
    /// GitHub at once.
    pub org_confirmed: bool,
}

/// Stores `session` and returns its cookie value (a fresh random secret every time).
pub async fn create(pool: &PgPool, keyring: &Keyring, session: NewSession<'_>) -> sqlx::Result<String> {
    let cookie = random_secret();
    let sealed = session.github_token.map(|t| keyring.cipher.seal(&token_aad(session.id), t.as_bytes()));
    sqlx::query(
        "insert into sessions (id, cookie_hash, github_user_id, login, role, token_nonce, token_sealed, token_api_url, checked_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, case when $9 then now() else to_timestamp(0) end)",
    )
    .bind(session.id)
    .bind(hash(&cookie))
    .bind(session.github_user_id as i64)
    .bind(session.login)
    .bind(session.role)
    .bind(sealed.as_ref().map(|s| s.nonce.clone()))
    .bind(sealed.map(|s| s.ciphertext))
    .bind(session.github_api_url)
    .bind(session.org_confirmed)
    .execute(pool)
    .await?;
    Ok(cookie)
}

/// A stored session (never its cookie or token).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRow {
    pub id: Uuid,
    pub github_user_id: i64,
    pub login: String,
    pub role: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub checked_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    /// The database's clock when the row was read (timeouts are judged against it).
    pub now: DateTime<Utc>,
}

const COLUMNS: &str = "id, github_user_id, login, role, created_at, last_seen_at, checked_at, ended_at, now() as now";

/// The session whose cookie is `cookie`, ended or not; `None` when there is none.
pub async fn by_cookie(pool: &PgPool, cookie: &str) -> sqlx::Result<Option<SessionRow>> {
    if !is_secret_shaped(cookie) {
        return Ok(None);
    }
    sqlx::query_as(&format!("select {COLUMNS} from sessions where cookie_hash = $1"))
        .bind(hash(cookie))
        .fetch_optional(pool)
        .await
}

/// Session `id`, ended or not.
pub async fn by_id(pool: &PgPool, id: Uuid) -> sqlx::Result<Option<SessionRow>> {
    sqlx::query_as(&format!("select {COLUMNS} from sessions where id = $1")).bind(id).fetch_optional(pool).await
}

/// Records a use of session `id` (renews its idle timeout) and its current `role`.
pub async fn touch(pool: &PgPool, id: Uuid, role: &str) -> sqlx::Result<()> {
    sqlx::query("update sessions set last_seen_at = now(), role = $2 where id = $1 and ended_at is null")
        .bind(id)
        .bind(role)
        .execute(pool)
        .await?;
    Ok(())
}

/// Records that session `id`'s admission was confirmed with GitHub just now.
pub async fn checked(pool: &PgPool, id: Uuid) -> sqlx::Result<()> {
    sqlx::query("update sessions set checked_at = now() where id = $1").bind(id).execute(pool).await?;
    Ok(())
}

/// Ends session `id` with `reason` and forgets its GitHub token; returns whether this call
/// ended it (`false` when it had already ended).
pub async fn end(pool: &PgPool, id: Uuid, reason: &str) -> sqlx::Result<bool> {
    let result = sqlx::query(
        "update sessions set ended_at = now(), end_reason = $2, token_nonce = null, token_sealed = null
          where id = $1 and ended_at is null",
    )
    .bind(id)
    .bind(reason)
    .execute(pool)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// The GitHub token kept for session `id`, if any and if it was issued for `api_url` (a token
/// is never handed to another host, e.g. after `github_api_url` changed). Hand it only to
/// `api_url`.
pub async fn github_token(pool: &PgPool, keyring: &Keyring, id: Uuid, api_url: &str) -> anyhow::Result<Option<SecretString>> {
    type TokenRow = (Option<Vec<u8>>, Option<Vec<u8>>, Option<String>);
    let row: Option<TokenRow> =
        sqlx::query_as("select token_nonce, token_sealed, token_api_url from sessions where id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?;
    let Some((Some(nonce), Some(ciphertext), Some(issued_for))) = row else { return Ok(None) };
    if issued_for != api_url {
        return Ok(None);
    }
    let plain = keyring.cipher.open(&token_aad(id), &Sealed { nonce, ciphertext })?;
    Ok(Some(SecretString::from(String::from_utf8(plain.to_vec())?)))
}

//! API tokens: `Authorization: Bearer <token>`.
//!
//! A token is `warp_` followed by 64 hex digits (32 random bytes from the OS generator). Only
//! its SHA-256 is stored: a plain hash suffices for a high-entropy random secret, and lookup
//! stays a single indexed query. The plaintext is shown once, at creation.

use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

/// Prefix of every token, so leaked tokens are recognisable by secret scanners.
pub const TOKEN_PREFIX: &str = "warp_";

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything, including operator endpoints (audit rebuild, dead letters, every token).
    Admin,
    /// Projects and reads; its own tokens only.
    Member,
}

impl Role {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }

    /// The role named `raw` (`admin`; anything else is `member`).
    pub fn parse(raw: &str) -> Self {
        if raw == "admin" { Role::Admin } else { Role::Member }
    }
}

/// What authenticated a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// An API token (`Authorization: Bearer`), by id.
    Token(Uuid),
    /// A browser session (cookie), by session id (see [`crate::sessions`]).
    Session(Uuid),
}

/// Who a valid token or session belongs to: the same for both, so access rules do not care
/// how the caller authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub credential: Credential,
    pub login: String,
    pub role: Role,
}

/// A token as listed (never the secret).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TokenInfo {
    pub id: Uuid,
    pub login: String,
    pub name: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
    /// Last authenticated request, to the minute (it is written at most once a minute).
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    id: Uuid,
    login: String,
    name: String,
    role: String,
    created_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

impl From<TokenRow> for TokenInfo {
    fn from(row: TokenRow) -> Self {
        TokenInfo {
            id: row.id,
            login: row.login,
            name: row.name,
            role: Role::parse(&row.role),
            created_at: row.created_at,
            last_used_at: row.last_used_at,
            revoked_at: row.revoked_at,
        }
    }
}

fn hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Creates a token for `login` and returns it with the plaintext secret, which is not stored
/// and cannot be shown again.
pub async fn create(pool: &PgPool, login: &str, name: &str, role: Role) -> sqlx::Result<(TokenInfo, String)> {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let secret = format!("{TOKEN_PREFIX}{}", hex::encode(bytes));
    let row: TokenRow = sqlx::query_as(
        "insert into api_tokens (id, login, name, role, token_hash) values ($1, $2, $3, $4, $5)
         returning id, login, name, role, created_at, last_used_at, revoked_at",
    )
    .bind(Uuid::now_v7())
    .bind(login)
    .bind(name)
    .bind(role.as_str())
    .bind(hash(&secret))
    .fetch_one(pool)
    .await?;
    Ok((row.into(), secret))
}

/// The principal of a presented token, or `None` when it is unknown, malformed or revoked
/// (a revocation takes effect on the next request). Records the time of use to the minute:
/// `last_used_at` is written only when it is older than [`LAST_USED_RESOLUTION_SECONDS`], so
/// concurrent requests with one token read its row without queueing on a row lock to update it.
pub async fn authenticate(pool: &PgPool, presented: &str) -> sqlx::Result<Option<Principal>> {
    if !presented.starts_with(TOKEN_PREFIX) || presented.len() != TOKEN_PREFIX.len() + 64 {
        return Ok(None);
    }
    let row: Option<(Uuid, String, String)> = sqlx::query_as(
        "with token as (select id, login, role, last_used_at from api_tokens
                         where token_hash = $1 and revoked_at is null),
              used as (update api_tokens t set last_used_at = now() from token
                        where t.id = token.id and t.revoked_at is null
                          and (token.last_used_at is null or token.last_used_at < now() - make_interval(secs => $2)))
         select id, login, role from token",
    )
    .bind(hash(presented))
    .bind(LAST_USED_RESOLUTION_SECONDS)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|(token_id, login, role)| Principal { credential: Credential::Token(token_id), login, role: Role::parse(&role) }))
}

/// How stale a token's `last_used_at` may be, seconds.
pub const LAST_USED_RESOLUTION_SECONDS: f64 = 60.0;

/// Tokens, newest first; only `login`'s when given.
pub async fn list(pool: &PgPool, login: Option<&str>) -> sqlx::Result<Vec<TokenInfo>> {
    let rows: Vec<TokenRow> = sqlx::query_as(
        "select id, login, name, role, created_at, last_used_at, revoked_at from api_tokens
          where ($1::text is null or login = $1) order by created_at desc, id desc",
    )
    .bind(login)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// Revokes token `id`. With `member_login` (a member revoking), only that login's member
/// tokens qualify: a member never revokes an admin token, even one of the same login. Returns
/// whether a live token was revoked.
pub async fn revoke(pool: &PgPool, id: Uuid, member_login: Option<&str>) -> sqlx::Result<bool> {
    let result = sqlx::query(
        "update api_tokens set revoked_at = now()
          where id = $1 and revoked_at is null and ($2::text is null or (login = $2 and role = 'member'))",
    )
    .bind(id)
    .bind(member_login)
    .execute(pool)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Whether token `id` exists and is not revoked.
pub async fn is_live(pool: &PgPool, id: Uuid) -> sqlx::Result<bool> {
    let live: Option<bool> = sqlx::query_scalar("select revoked_at is null from api_tokens where id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await?;
    Ok(live.unwrap_or(false))
}

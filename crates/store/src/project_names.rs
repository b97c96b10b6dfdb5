//! Unique project names and subdomains: reservation tables beside the event store.
//!
//! A name belongs to one aggregate, so no single aggregate can enforce uniqueness. The API
//! claims a name (case-insensitively) before the command that uses it and releases it when the
//! command fails or the project gives the name up. A claim left behind by a crash between claim
//! and command (its project has no events) is taken over after [`STALE_AFTER_SECONDS`].
//!
//! The same rules hold for subdomains ([`Claims::SUBDOMAINS`], table `subdomain_claims`): two
//! live projects never publish the same hostname. The free functions act on names
//! ([`Claims::NAMES`], table `project_name_claims`).

use sqlx::PgPool;
use uuid::Uuid;

/// Age after which a claim whose project never got an event may be taken over, in seconds.
pub const STALE_AFTER_SECONDS: i64 = 60;

/// Outcome of [`claim`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// The name is now this project's (release it if the command then fails).
    New,
    /// The project already held the name.
    AlreadyHeld,
    /// Another project holds the name.
    Taken,
}

/// One reservation table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claims {
    table: &'static str,
}

impl Claims {
    /// Project names (`project_name_claims`).
    pub const NAMES: Claims = Claims { table: "project_name_claims" };
    /// Subdomains (`subdomain_claims`).
    pub const SUBDOMAINS: Claims = Claims { table: "subdomain_claims" };

    /// Claims `key` (case-insensitively) for `project_id`, in one statement: the key is free,
    /// already this project's, or held by a project that never got an event for
    /// [`STALE_AFTER_SECONDS`] (taken over).
    pub async fn claim(self, pool: &PgPool, key: &str, project_id: Uuid) -> sqlx::Result<Claim> {
        // `prior` reads the table as it was before this statement's insert.
        let claimed: Option<(Uuid, Option<Uuid>)> = sqlx::query_as(&format!(
            "with prior as (select project_id from {table} where name_key = lower($1))
             insert into {table} as c (name_key, project_id) values (lower($1), $2)
             on conflict (name_key) do update set project_id = excluded.project_id, claimed_at = now()
              where c.project_id = excluded.project_id
                 or (c.claimed_at < now() - make_interval(secs => $3)
                     and not exists (select 1 from events e
                                      where e.aggregate_type = 'project' and e.aggregate_id = c.project_id::text))
             returning project_id, (select project_id from prior)",
            table = self.table
        ))
        .bind(key)
        .bind(project_id)
        .bind(STALE_AFTER_SECONDS as f64)
        .fetch_optional(pool)
        .await?;
        Ok(match claimed {
            Some((holder, prior)) if holder == project_id && prior == Some(project_id) => Claim::AlreadyHeld,
            Some((holder, _)) if holder == project_id => Claim::New,
            _ => Claim::Taken,
        })
    }

    /// Releases every key `project_id` holds except `keep` (all of them when `keep` is `None`).
    pub async fn release_others(self, pool: &PgPool, project_id: Uuid, keep: Option<&str>) -> sqlx::Result<()> {
        sqlx::query(&format!(
            "delete from {} where project_id = $1 and ($2::text is null or name_key <> lower($2))",
            self.table
        ))
        .bind(project_id)
        .bind(keep)
        .execute(pool)
        .await?;
        Ok(())
    }

    /// Releases `key` if `project_id` holds it (after a command that needed it failed).
    pub async fn release(self, pool: &PgPool, key: &str, project_id: Uuid) -> sqlx::Result<()> {
        sqlx::query(&format!("delete from {} where name_key = lower($1) and project_id = $2", self.table))
            .bind(key)
            .bind(project_id)
            .execute(pool)
            .await?;
        Ok(())
    }
}

/// Claims `name` (case-insensitively) for `project_id`.
pub async fn claim(pool: &PgPool, name: &str, project_id: Uuid) -> sqlx::Result<Claim> {
    Claims::NAMES.claim(pool, name, project_id).await
}

/// Releases every name `project_id` holds except `keep` (all of them when `keep` is `None`).
pub async fn release_others(pool: &PgPool, project_id: Uuid, keep: Option<&str>) -> sqlx::Result<()> {
    Claims::NAMES.release_others(pool, project_id, keep).await
}

/// Releases `name` if `project_id` holds it (after a command that needed it failed).
pub async fn release(pool: &PgPool, name: &str, project_id: Uuid) -> sqlx::Result<()> {
    Claims::NAMES.release(pool, name, project_id).await
}

/// Claims the name and, when given, the subdomain of a new project `project_id`; on a taken
/// subdomain the name claim is released again. Returns which one was taken, if any.
pub async fn claim_new_project(
    pool: &PgPool,
    name: &str,
    subdomain: Option<&str>,
    project_id: Uuid,
) -> sqlx::Result<Option<Taken>> {
    if claim(pool, name, project_id).await? == Claim::Taken {
        return Ok(Some(Taken::Name));
    }
    if let Some(subdomain) = subdomain {
        if Claims::SUBDOMAINS.claim(pool, subdomain, project_id).await? == Claim::Taken {
            release(pool, name, project_id).await?;
            return Ok(Some(Taken::Subdomain));
        }
    }
    Ok(None)
}

/// Releases what [`claim_new_project`] claimed (the command that needed them failed).
pub async fn release_new_project(pool: &PgPool, name: &str, project_id: Uuid) -> sqlx::Result<()> {
    release(pool, name, project_id).await?;
    Claims::SUBDOMAINS.release_others(pool, project_id, None).await
}

/// Which claim of [`claim_new_project`] another project holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    Name,
    Subdomain,
}

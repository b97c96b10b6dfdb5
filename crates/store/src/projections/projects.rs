//! The `projects` read model: one row per project, at the version of the last event applied.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;
use warp_events::{EventEnvelope, ProjectEvent};

use super::ProjectionError;

/// A project as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ProjectView {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub subdomain: Option<String>,
    pub archived: bool,
    /// Aggregate version: the number of events applied (send it back as `If-Match`).
    pub version: i64,
    pub created_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Applies one project event. Events already applied (sequence ≤ version) are no-ops; an event
/// whose predecessor is missing fails with [`ProjectionError::Gap`] so it is retried later.
pub async fn apply(conn: &mut PgConnection, envelope: &EventEnvelope) -> Result<(), ProjectionError> {
    let Some((id, event)) =
        super::next_event::<ProjectEvent>(conn, "projects", warp_events::project::AGGREGATE_TYPE, envelope).await?
    else {
        return Ok(());
    };
    let at = envelope.recorded_at;
    let seq = envelope.sequence;
    match event {
        ProjectEvent::ProjectCreated { name, description, subdomain } => {
            sqlx::query(
                "insert into projects (id, name, description, subdomain, version, created_by, created_at, updated_at)
                 values ($1, $2, $3, $4, $5, $6, $7, $7)",
            )
            .bind(id)
            .bind(name)
            .bind(description)
            .bind(subdomain)
            .bind(seq)
            .bind(&envelope.metadata.actor)
            .bind(at)
            .execute(&mut *conn)
            .await?;
        }
        ProjectEvent::ProjectRenamed { to, .. } => {
            sqlx::query("update projects set name = $2, version = $3, updated_at = $4 where id = $1")
                .bind(id)
                .bind(to)
                .bind(seq)
                .bind(at)
                .execute(&mut *conn)
                .await?;
        }
        ProjectEvent::ProjectSettingsUpdated { description, subdomain } => {
            sqlx::query(
                "update projects set description = $2, subdomain = $3, version = $4, updated_at = $5 where id = $1",
            )
            .bind(id)
            .bind(description)
            .bind(subdomain)
            .bind(seq)
            .bind(at)
            .execute(&mut *conn)
            .await?;
        }
        ProjectEvent::ProjectArchived {} => {
            sqlx::query("update projects set archived = true, version = $2, updated_at = $3 where id = $1")
                .bind(id)
                .bind(seq)
                .bind(at)
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(())
}

/// Filters of [`list`].
#[derive(Debug, Clone, Default)]
pub struct ProjectFilter {
    /// Include archived projects.
    pub include_archived: bool,
    /// Cursor: only projects created after the one with this id (ordering is creation time, id).
    pub after: Option<Uuid>,
    pub limit: i64,
}

/// Projects ordered by creation time, then id.
pub async fn list(pool: &PgPool, filter: &ProjectFilter) -> sqlx::Result<Vec<ProjectView>> {
    sqlx::query_as(
        "select * from projects p
          where ($1 or not p.archived)
            and ($2::uuid is null or (p.created_at, p.id) > (select created_at, id from projects where id = $2))
          order by p.created_at, p.id
          limit $3",
    )
    .bind(filter.include_archived)
    .bind(filter.after)
    .bind(filter.limit)
    .fetch_all(pool)
    .await
}

/// One project, if the projection has it.
pub async fn get(pool: &PgPool, id: Uuid) -> sqlx::Result<Option<ProjectView>> {
    sqlx::query_as("select * from projects where id = $1").bind(id).fetch_optional(pool).await
}

//! A large event history, written fast: one project is created and renamed through the
//! domain (so its two event rows are exactly what the panel writes), then its rows are copied
//! for fresh project ids with `insert … select` into `events` (the outbox trigger runs as for
//! any append).

use sqlx::PgPool;
use uuid::Uuid;
use warp_domain::ProjectCommand;
use warp_events::EventMetadata;
use warp_store::event_store;

/// Events each project of the history has (`ProjectCreated`, `ProjectUpdated`).
pub const EVENTS_PER_PROJECT: usize = 2;

/// The template project: created and renamed through `cqrs-es`.
pub async fn template(pool: &PgPool) -> anyhow::Result<Uuid> {
    let cqrs = event_store::project_cqrs(pool.clone());
    let metadata = EventMetadata { actor: Some("bench".into()), ..Default::default() };
    let id = Uuid::now_v7();
    let create = ProjectCommand::Create { name: String::from("bench-template").try_into()?, description: None, subdomain: None };
    event_store::execute_project(&cqrs, id, create, &metadata).await?;
    let rename = ProjectCommand::Update {
        name: Some(String::from("bench-renamed").try_into()?),
        description: None,
        subdomain: None,
        deployment: None,
        expected_version: Some(1),
    };
    event_store::execute_project(&cqrs, id, rename, &metadata).await?;
    Ok(id)
}

/// Appends the template's events for `projects` new project ids, in chunks of 10,000 projects
/// (one transaction each). The ids are UUIDv7 in creation order, like the ids the panel gives
/// its aggregates (`Uuid::now_v7`), so indexes over them grow at their right edge as they do
/// in production rather than at random places.
pub async fn append_copies(pool: &PgPool, template: Uuid, projects: usize) -> anyhow::Result<()> {
    let mut left = projects;
    while left > 0 {
        let chunk = left.min(10_000);
        let ids: Vec<Uuid> = (0..chunk).map(|_| Uuid::now_v7()).collect();
        sqlx::query(
            "insert into events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
             select 'project', ids.id::text, t.sequence, t.event_type, t.event_version, t.payload, t.metadata
               from unnest($1::uuid[]) with ordinality as ids(id, g)
              cross join (select sequence, event_type, event_version, payload, metadata
                            from events where aggregate_type = 'project' and aggregate_id = $2) as t
              order by ids.g, t.sequence",
        )
        .bind(&ids)
        .bind(template.to_string())
        .execute(pool)
        .await?;
        left -= chunk;
    }
    Ok(())
}

/// `select count(*)` of `sql`.
pub async fn count(pool: &PgPool, sql: &str) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar::<_, i64>(sql).fetch_one(pool).await?)
}

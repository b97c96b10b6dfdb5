//! The `projects` read model: one row per project, at the version of the last event applied.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;
use warp_events::project::{DeployAction, DeployedService, ProjectSource, QuickServiceTarget};
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
    /// `plain`, `compose` (deploy-existing) or `quick_service`.
    pub kind: String,
    /// The settled state: `created`, `running`, `failed`, `stopped` or `removed`. It changes
    /// only when a job reports an outcome; what is in flight is `last_job_status`.
    pub status: String,
    /// The last action requested (`deploy`, `stop`, `start`, `remove`, `remove_with_volumes`)
    /// and the job carrying it out, with that job's status (`queued`, `running`, `succeeded`,
    /// `failed`, `cancelled`, `timed_out`).
    pub last_action: Option<String>,
    pub last_job_id: Option<Uuid>,
    #[sqlx(default)]
    pub last_job_status: Option<String>,
    /// Compose projects: where the code comes from.
    #[schema(value_type = Option<ProjectSource>)]
    pub source: Option<Json<ProjectSource>>,
    /// Compose projects: the compose file relative to the checkout (`null`: default names).
    pub compose_file: Option<String>,
    /// Compose projects: the `-p` name of every compose command.
    pub compose_project: Option<String>,
    /// Quick services: what is exposed.
    #[schema(value_type = Option<QuickServiceTarget>)]
    pub quick_service: Option<Json<QuickServiceTarget>>,
    /// Names of the deploy env variables (values are never shown).
    pub env_names: Vec<String>,
    /// The last successful deployment.
    #[schema(value_type = Option<DeploymentView>)]
    pub deployment: Option<Json<DeploymentView>>,
    /// Why the last deploy action failed, until one succeeds.
    pub last_error: Option<String>,
    /// Compose policy rules an admin lifted for this project (`privileged`, `bind_mounts`, …).
    pub compose_exceptions: Vec<String>,
    /// The project's route, `null` when it asks for none.
    #[schema(value_type = Option<RouteView>)]
    pub route: Option<Json<RouteView>>,
    /// Projects created from a template: their GitHub repository; `null` otherwise.
    #[schema(value_type = Option<RepositoryView>)]
    #[sqlx(default)]
    pub repository: Option<Json<RepositoryView>>,
    /// GitHub sources: the panel's `push` webhook on the repository, `null` until the panel
    /// tried to create it.
    #[schema(value_type = Option<WebhookView>)]
    pub webhook: Option<Json<WebhookView>>,
}

impl ProjectView {
    /// The row a `ProjectCreated` event inserts (every other column at its default), for the
    /// API to answer a create before the projection has run. Kept beside the insert below, so
    /// the two cannot drift.
    pub fn created(
        id: Uuid,
        name: String,
        description: Option<String>,
        subdomain: Option<String>,
        created_by: Option<String>,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            id,
            name,
            description,
            subdomain,
            archived: false,
            version: 1,
            created_by,
            created_at: at,
            updated_at: at,
            kind: "plain".into(),
            status: "created".into(),
            last_action: None,
            last_job_id: None,
            last_job_status: None,
            source: None,
            compose_file: None,
            compose_project: None,
            quick_service: None,
            env_names: Vec::new(),
            deployment: None,
            last_error: None,
            compose_exceptions: Vec::new(),
            route: None,
            repository: None,
            webhook: None,
        }
    }
}

/// A project's route as `GET /api/projects/{id}` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct RouteView {
    /// The subdomain asked for.
    pub subdomain: Option<String>,
    /// `<subdomain>.<base domain>` in normal form; `null` until a publish job formed it.
    pub hostname: Option<String>,
    /// Where the tunnel sends the traffic, e.g. `http://localhost:8080`.
    pub service_url: Option<String>,
    /// `pending`, `published`, `failed` or `unpublishing`.
    pub state: String,
    /// Why the last publish failed (state `failed`).
    pub message: Option<String>,
    /// When the route is unpublished (state `unpublishing`).
    pub unpublish_at: Option<DateTime<Utc>>,
}

/// The GitHub repository of a project created from a template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct RepositoryView {
    /// The template it is generated from (`owner/name`).
    pub template: String,
    /// `owner/name` once created; until then the name asked for (`owner/name`, or just the name
    /// when the owner is the token's user).
    pub repo: String,
    /// The repository's page on GitHub, once created.
    pub html_url: Option<String>,
    /// `requested`, `created` (on GitHub, not cloned yet), `cloned` (in the project's
    /// workspace) or `failed`.
    pub state: String,
    /// Why the creation failed (state `failed`).
    pub message: Option<String>,
    /// The job failed after it had created the repository: the repository stays on GitHub
    /// (the panel never deletes one), under `repo`.
    pub repo_left: bool,
    /// The commit cloned (state `cloned`).
    pub commit: Option<String>,
}

/// The panel's webhook on a project's GitHub repository, as the last `ensure_webhook` job left
/// it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct WebhookView {
    /// `active` (the hook exists as the panel wants it) or `failed` (see `message`).
    pub state: String,
    /// `owner/name`.
    pub repo: String,
    /// GitHub's id of the hook; kept from the last success when a later attempt failed.
    pub hook_id: Option<u64>,
    /// Where GitHub delivers: `<public_url>/hooks/github`.
    pub url: Option<String>,
    /// What the last success did: `created`, `updated` or `unchanged`.
    #[schema(value_type = Option<String>)]
    pub change: Option<warp_events::github_delivery::WebhookChange>,
    /// Why the last attempt failed (state `failed`).
    pub message: Option<String>,
    /// The job of the last attempt, and when its outcome was recorded.
    pub job_id: Uuid,
    pub checked_at: DateTime<Utc>,
}

/// The last successful deployment of a compose project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct DeploymentView {
    pub job_id: Uuid,
    /// Git commit deployed (`null` for folder sources).
    pub commit: Option<String>,
    /// One entry per container: service, container, image, state, health, published ports.
    pub services: Vec<DeployedService>,
    pub deployed_at: DateTime<Utc>,
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
        ProjectEvent::DeploymentConfigured { source, compose_file, compose_project } => {
            sqlx::query(
                "update projects set kind = 'compose', source = $2, compose_file = $3, compose_project = $4,
                        version = $5, updated_at = $6 where id = $1",
            )
            .bind(id)
            .bind(Json(source))
            .bind(compose_file)
            .bind(compose_project)
            .bind(seq)
            .bind(at)
            .execute(&mut *conn)
            .await?;
        }
        ProjectEvent::QuickServiceConfigured { target } => {
            sqlx::query(
                "update projects set kind = 'quick_service', quick_service = $2, version = $3, updated_at = $4 where id = $1",
            )
            .bind(id)
            .bind(Json(target))
            .bind(seq)
            .bind(at)
            .execute(&mut *conn)
            .await?;
        }
        ProjectEvent::DeployEnvChanged { vars } => {
            let names: Vec<String> = vars.into_keys().collect();
            sqlx::query("update projects set env_names = $2, version = $3, updated_at = $4 where id = $1")
                .bind(id)
                .bind(names)
                .bind(seq)
                .bind(at)
                .execute(&mut *conn)
                .await?;
        }
        ProjectEvent::DeploymentRequested { job_id, action } => {
            let action = match action {
                DeployAction::Deploy => "deploy",
                DeployAction::Stop => "stop",
                DeployAction::Start => "start",
                DeployAction::Remove => "remove",
                DeployAction::RemoveWithVolumes => "remove_with_volumes",
            };
            sqlx::query(
                "update projects set last_job_id = $2, last_action = $3, version = $4, updated_at = $5 where id = $1",
            )
            .bind(id)
            .bind(job_id)
            .bind(action)
            .bind(seq)
            .bind(at)
            .execute(&mut *conn)
            .await?;
        }
        ProjectEvent::DeploymentSucceeded { job_id, commit, services } => {
            let deployment = DeploymentView { job_id, commit, services, deployed_at: at };
            sqlx::query(
                "update projects set status = 'running', deployment = $2, last_error = null,
                        version = $3, updated_at = $4 where id = $1",
            )
            .bind(id)
            .bind(Json(deployment))
            .bind(seq)
            .bind(at)
            .execute(&mut *conn)
            .await?;
        }
        ProjectEvent::DeploymentFailed { message, containers_changed, rolled_back_to, .. } => {
            // One rule: a project with nothing serving (never deployed, failed, removed) is
            // `failed` after any failed action; a serving one is `failed` only when the
            // failure may have replaced what served (containers changed, no rollback), and
            // otherwise keeps its status and shows the error.
            let replaced = containers_changed && rolled_back_to.is_none();
            sqlx::query(
                "update projects set last_error = $2, version = $3, updated_at = $4,
                        status = case when $5 or status in ('created', 'failed', 'removed') then 'failed' else status end
                  where id = $1",
            )
            .bind(id)
            .bind(&message)
            .bind(seq)
            .bind(at)
            .bind(replaced)
            .execute(&mut *conn)
            .await?;
        }
        ProjectEvent::ProjectStopped { services, .. } => {
            set_status(conn, id, "stopped", None, seq, at).await?;
            refresh_services(conn, id, services).await?;
        }
        ProjectEvent::ProjectStarted { services, .. } => {
            set_status(conn, id, "running", None, seq, at).await?;
            refresh_services(conn, id, services).await?;
        }
        ProjectEvent::ProjectRemoved { .. } => {
            sqlx::query(
                "update projects set status = 'removed', deployment = null, last_error = null,
                        version = $2, updated_at = $3 where id = $1",
            )
            .bind(id)
            .bind(seq)
            .bind(at)
            .execute(&mut *conn)
            .await?;
        }
        ProjectEvent::ComposePolicyExceptionsSet { allowed } => {
            let allowed: Vec<&str> = allowed.iter().map(|rule| rule.as_str()).collect();
            sqlx::query("update projects set compose_exceptions = $2, version = $3, updated_at = $4 where id = $1")
                .bind(id)
                .bind(allowed)
                .bind(seq)
                .bind(at)
                .execute(&mut *conn)
                .await?;
        }
        ProjectEvent::RouteRequested { subdomain, service_url } => {
            let route = RouteView {
                subdomain: Some(subdomain),
                hostname: None,
                service_url: Some(service_url),
                state: "pending".into(),
                message: None,
                unpublish_at: None,
            };
            // A quick service whose check passed is running; for compose projects the deploy
            // outcome already said so.
            sqlx::query(
                "update projects set version = $2, updated_at = $3, route = $4,
                        status = case when kind = 'quick_service' then 'running' else status end,
                        last_error = case when kind = 'quick_service' then null else last_error end
                  where id = $1",
            )
                .bind(id)
                .bind(seq)
                .bind(at)
                .bind(Json(route))
                .execute(&mut *conn)
                .await?;
        }
        ProjectEvent::RouteWithdrawn {} => set_route(conn, id, seq, at, "route", &[]).await?,
        ProjectEvent::RoutePublished { hostname, service_url, .. } => {
            let patch = serde_json::json!({"hostname": hostname, "service_url": service_url, "state": "published",
                                           "message": null, "unpublish_at": null});
            set_route(conn, id, seq, at, "coalesce(route, '{}'::jsonb) || $4", &[patch]).await?;
        }
        ProjectEvent::RoutePublishFailed { hostname, message, .. } => {
            let patch = serde_json::json!({"hostname": hostname, "state": "failed", "message": message});
            set_route(conn, id, seq, at, "coalesce(route, '{}'::jsonb) || $4", &[patch]).await?;
        }
        ProjectEvent::RouteUnpublishScheduled { hostname, at: due } => {
            let patch = serde_json::json!({"hostname": hostname, "state": "unpublishing", "unpublish_at": due});
            set_route(conn, id, seq, at, "coalesce(route, '{}'::jsonb) || $4", &[patch]).await?;
        }
        ProjectEvent::RouteUnpublished { hostname, .. } => {
            let expr = "case when route->>'hostname' = $4->>'hostname' and route->>'state' = 'unpublishing'
                             then null else route end";
            set_route(conn, id, seq, at, expr, &[serde_json::json!({"hostname": hostname})]).await?;
        }
        ProjectEvent::RepoCreationRequested { job_id, template, owner, name, .. } => {
            let repo = owner.map_or(name.clone(), |owner| format!("{owner}/{name}"));
            let view = RepositoryView { template, repo, html_url: None, state: "requested".into(), message: None, repo_left: false, commit: None };
            sqlx::query(
                "update projects set repository = $2, last_job_id = $3, last_action = 'create_from_template',
                        version = $4, updated_at = $5 where id = $1",
            )
            .bind(id)
            .bind(Json(view))
            .bind(job_id)
            .bind(seq)
            .bind(at)
            .execute(&mut *conn)
            .await?;
        }
        ProjectEvent::RepoCreated { repo, html_url, .. } => {
            let patch = serde_json::json!({"repo": repo, "html_url": html_url, "state": "created"});
            set_repository(conn, id, seq, at, patch, None).await?;
        }
        ProjectEvent::RepoCloned { commit, .. } => {
            set_repository(conn, id, seq, at, serde_json::json!({"state": "cloned", "commit": commit}), None).await?;
        }
        ProjectEvent::RepoCreationFailed { message, repo_left, .. } => {
            let mut patch = serde_json::json!({"state": "failed", "message": message, "repo_left": repo_left.is_some()});
            if let Some(repo) = repo_left {
                patch["repo"] = serde_json::Value::String(repo);
            }
            set_repository(conn, id, seq, at, patch, Some(&message)).await?;
        }
        ProjectEvent::GithubWebhookEnsured { job_id, repo, hook_id, url, change, .. } => {
            let webhook = WebhookView {
                state: "active".into(),
                repo,
                hook_id: Some(hook_id),
                url: Some(url),
                change: Some(change),
                message: None,
                job_id,
                checked_at: at,
            };
            set_webhook(conn, id, seq, at, "$4", Json(serde_json::to_value(webhook).expect("a webhook view serialises"))).await?;
        }
        ProjectEvent::GithubWebhookFailed { job_id, repo, message } => {
            // A failure keeps what the last success found (hook id, URL) beside the message.
            let patch = serde_json::json!({"state": "failed", "repo": repo, "message": message, "job_id": job_id,
                                           "checked_at": at});
            set_webhook(conn, id, seq, at, "coalesce(webhook, '{}'::jsonb) || $4", Json(patch)).await?;
        }
    }
    Ok(())
}

/// Merges `patch` into `repository`, with the version; with `failed`, the project's status
/// becomes `failed` with that error (nothing serves yet).
async fn set_repository(
    conn: &mut PgConnection,
    id: Uuid,
    seq: i64,
    at: DateTime<Utc>,
    patch: serde_json::Value,
    failed: Option<&str>,
) -> Result<(), ProjectionError> {
    sqlx::query(
        "update projects set repository = coalesce(repository, '{}'::jsonb) || $4, version = $2, updated_at = $3,
                status = case when $5::text is null then status else 'failed' end,
                last_error = coalesce($5, last_error)
          where id = $1",
    )
    .bind(id)
    .bind(seq)
    .bind(at)
    .bind(Json(patch))
    .bind(failed)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Replaces the containers shown under `deployment.services` with `services`, the engine's
/// view after a stop or start (older events carry none: the copy then stays).
async fn refresh_services(
    conn: &mut PgConnection,
    id: Uuid,
    services: Option<Vec<warp_events::project::DeployedService>>,
) -> Result<(), ProjectionError> {
    let Some(services) = services else { return Ok(()) };
    sqlx::query(
        "update projects set deployment = jsonb_set(deployment, '{services}', $2)
          where id = $1 and deployment is not null",
    )
    .bind(id)
    .bind(Json(services))
    .execute(conn)
    .await?;
    Ok(())
}

/// Sets `webhook = <expr>` (which may use `$4`, `arg`) with the version.
async fn set_webhook(
    conn: &mut PgConnection,
    id: Uuid,
    seq: i64,
    at: DateTime<Utc>,
    expr: &str,
    arg: Json<serde_json::Value>,
) -> Result<(), ProjectionError> {
    let sql = format!("update projects set webhook = {expr}, version = $2, updated_at = $3 where id = $1");
    sqlx::query(&sql).bind(id).bind(seq).bind(at).bind(arg).execute(&mut *conn).await?;
    Ok(())
}

/// Sets `route = <expr>` (which may use `$4`, the one JSON argument) with the version.
async fn set_route(
    conn: &mut PgConnection,
    id: Uuid,
    seq: i64,
    at: DateTime<Utc>,
    expr: &str,
    args: &[serde_json::Value],
) -> Result<(), ProjectionError> {
    let sql = format!("update projects set route = {expr}, version = $2, updated_at = $3 where id = $1");
    let mut query = sqlx::query(&sql).bind(id).bind(seq).bind(at);
    for arg in args {
        query = query.bind(Json(arg.clone()));
    }
    query.execute(&mut *conn).await?;
    Ok(())
}

/// Sets `status`, and `last_error` to `error` (a success clears it).
async fn set_status(
    conn: &mut PgConnection,
    id: Uuid,
    status: &str,
    error: Option<&str>,
    seq: i64,
    at: DateTime<Utc>,
) -> Result<(), ProjectionError> {
    sqlx::query(
        "update projects set status = $2,
                last_error = $3,
                version = $4, updated_at = $5 where id = $1",
    )
    .bind(id)
    .bind(status)
    .bind(error)
    .bind(seq)
    .bind(at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Filters of [`list`].
#[derive(Debug, Clone, Default)]
pub struct ProjectFilter {
    /// Include archived projects.
    pub include_archived: bool,
    /// Cursor: only projects created after the one with this id (ordering is creation time, id).
    pub after: Option<Uuid>,
    /// Only projects this login created (`None`: everyone's).
    pub created_by: Option<String>,
    pub limit: i64,
}

/// Projects ordered by creation time, then id.
pub async fn list(pool: &PgPool, filter: &ProjectFilter) -> sqlx::Result<Vec<ProjectView>> {
    sqlx::query_as(
        "select p.*, j.status as last_job_status from projects p left join jobs j on j.id = p.last_job_id
          where ($1 or not p.archived)
            and ($2::uuid is null or (p.created_at, p.id) > (select created_at, id from projects
                                                              where id = $2 and ($4::text is null or created_by = $4)))
            and ($4::text is null or p.created_by = $4)
          order by p.created_at, p.id
          limit $3",
    )
    .bind(filter.include_archived)
    .bind(filter.after)
    .bind(filter.limit)
    .bind(&filter.created_by)
    .fetch_all(pool)
    .await
}

/// One project, if the projection has it.
pub async fn get(pool: &PgPool, id: Uuid) -> sqlx::Result<Option<ProjectView>> {
    sqlx::query_as(
        "select p.*, j.status as last_job_status from projects p left join jobs j on j.id = p.last_job_id where p.id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await
}

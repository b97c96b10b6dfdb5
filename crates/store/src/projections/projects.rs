//! The `projects` read model: one row per project, at the version of the last event applied.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize as _, Serialize};
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

/// Columns of the `projects` table (every field of [`ProjectView`] but `last_job_status`,
/// which comes from `jobs`).
const COLUMNS: &str = "id, name, description, subdomain, archived, version, created_by, created_at, updated_at, kind,
    status, last_action, last_job_id, source, compose_file, compose_project, quick_service, env_names, deployment,
    last_error, compose_exceptions, route, repository, webhook";

/// Applies one project event (see [`apply_all`]).
pub async fn apply(conn: &mut PgConnection, envelope: &EventEnvelope) -> Result<(), ProjectionError> {
    apply_all(conn, &[envelope]).await
}

/// Applies `envelopes` in the order given (stream order) with one read and one write,
/// whatever their number: the rows they touch are locked and read (`for update`, in id order),
/// the events are folded into them ([`fold`]), and the changed rows are written back in one
/// upsert. Events of other aggregate types or with a non-UUID aggregate id are left out; events
/// already applied (sequence ≤ the row's `version`) are no-ops.
///
/// # Errors
/// [`ProjectionError::Gap`] when an event's predecessor is neither applied nor earlier in
/// `envelopes` (it is retried later); [`ProjectionError::Malformed`] when a payload is not a
/// `ProjectEvent`. Nothing is written then.
pub async fn apply_all(conn: &mut PgConnection, envelopes: &[&EventEnvelope]) -> Result<(), ProjectionError> {
    let mut events = Vec::with_capacity(envelopes.len());
    for &envelope in envelopes {
        if envelope.aggregate_type != warp_events::project::AGGREGATE_TYPE {
            continue;
        }
        let Ok(id) = envelope.aggregate_id.parse::<Uuid>() else { continue };
        let event = ProjectEvent::deserialize(&envelope.payload)
            .map_err(|source| ProjectionError::Malformed { event_type: envelope.event_type.clone(), source })?;
        events.push((id, envelope, event));
    }
    if events.is_empty() {
        return Ok(());
    }
    let mut ids: Vec<Uuid> = events.iter().map(|(id, ..)| *id).collect();
    ids.sort_unstable();
    ids.dedup();
    let stored: Vec<ProjectView> =
        sqlx::query_as(&format!("select {COLUMNS} from projects where id = any($1) order by id for update"))
            .bind(&ids)
            .fetch_all(&mut *conn)
            .await?;
    let mut rows: HashMap<Uuid, ProjectView> = stored.into_iter().map(|row| (row.id, row)).collect();
    let mut changed = HashSet::new();
    for (id, envelope, event) in events {
        let current = rows.get(&id).map_or(0, |row| row.version);
        if envelope.sequence <= current {
            continue;
        }
        if envelope.sequence != current + 1 {
            return Err(ProjectionError::Gap {
                aggregate_id: envelope.aggregate_id.clone(),
                sequence: envelope.sequence,
                expected: current + 1,
            });
        }
        if let Some(row) = fold(rows.remove(&id), id, envelope, event) {
            changed.insert(id);
            rows.insert(id, row);
        }
    }
    let changed: Vec<&ProjectView> = ids.iter().filter(|id| changed.contains(*id)).filter_map(|id| rows.get(id)).collect();
    if changed.is_empty() {
        return Ok(());
    }
    let updates = COLUMNS
        .split(',')
        .map(str::trim)
        .filter(|column| *column != "id")
        .map(|column| format!("{column} = excluded.{column}"))
        .collect::<Vec<_>>()
        .join(", ");
    // The version guard keeps a row from going back should another writer have moved it on.
    sqlx::query(&format!(
        "insert into projects ({COLUMNS})
         select {COLUMNS} from jsonb_populate_recordset(null::projects, $1)
         on conflict (id) do update set {updates} where projects.version < excluded.version"
    ))
    .bind(Json(changed))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The row after `event` (the next event of project `id`), from the row before it (`None`: no
/// row yet). Every rule of the read model is here; `None` when there is still no row (an
/// event before `ProjectCreated`, which the aggregate never emits).
fn fold(row: Option<ProjectView>, id: Uuid, envelope: &EventEnvelope, event: ProjectEvent) -> Option<ProjectView> {
    let at = envelope.recorded_at;
    let mut row = match (row, event) {
        (_, ProjectEvent::ProjectCreated { name, description, subdomain }) => {
            ProjectView::created(id, name, description, subdomain, envelope.metadata.actor.clone(), at)
        }
        (None, _) => return None,
        (Some(mut row), event) => {
            change(&mut row, event, at);
            row
        }
    };
    row.version = envelope.sequence;
    row.updated_at = at;
    Some(row)
}

/// What `event` (anything but `ProjectCreated`) changes in `row`, recorded at `at`.
fn change(row: &mut ProjectView, event: ProjectEvent, at: DateTime<Utc>) {
    match event {
        ProjectEvent::ProjectCreated { .. } => {}
        ProjectEvent::ProjectRenamed { to, .. } => row.name = to,
        ProjectEvent::ProjectSettingsUpdated { description, subdomain } => {
            row.description = description;
            row.subdomain = subdomain;
        }
        ProjectEvent::ProjectArchived {} => row.archived = true,
        ProjectEvent::DeploymentConfigured { source, compose_file, compose_project } => {
            row.kind = "compose".into();
            row.source = Some(Json(source));
            row.compose_file = compose_file;
            row.compose_project = Some(compose_project);
        }
        ProjectEvent::QuickServiceConfigured { target } => {
            row.kind = "quick_service".into();
            row.quick_service = Some(Json(target));
        }
        ProjectEvent::DeployEnvChanged { vars } => row.env_names = vars.into_keys().collect(),
        ProjectEvent::DeploymentRequested { job_id, action } => {
            let action = match action {
                DeployAction::Deploy => "deploy",
                DeployAction::Stop => "stop",
                DeployAction::Start => "start",
                DeployAction::Remove => "remove",
                DeployAction::RemoveWithVolumes => "remove_with_volumes",
            };
            row.last_job_id = Some(job_id);
            row.last_action = Some(action.into());
        }
        ProjectEvent::DeploymentSucceeded { job_id, commit, services } => {
            row.status = "running".into();
            row.deployment = Some(Json(DeploymentView { job_id, commit, services, deployed_at: at }));
            row.last_error = None;
        }
        ProjectEvent::DeploymentFailed { message, containers_changed, rolled_back_to, .. } => {
            // One rule: a project with nothing serving (never deployed, failed, removed) is
            // `failed` after any failed action; a serving one is `failed` only when the
            // failure may have replaced what served (containers changed, no rollback), and
            // otherwise keeps its status and shows the error.
            let replaced = containers_changed && rolled_back_to.is_none();
            if replaced || ["created", "failed", "removed"].contains(&row.status.as_str()) {
                row.status = "failed".into();
            }
            row.last_error = Some(message);
        }
        ProjectEvent::ProjectStopped { services, .. } => {
            row.status = "stopped".into();
            row.last_error = None;
            refresh_services(row, services);
        }
        ProjectEvent::ProjectStarted { services, .. } => {
            row.status = "running".into();
            row.last_error = None;
            refresh_services(row, services);
        }
        ProjectEvent::ProjectRemoved { .. } => {
            row.status = "removed".into();
            row.deployment = None;
            row.last_error = None;
        }
        ProjectEvent::ComposePolicyExceptionsSet { allowed } => {
            row.compose_exceptions = allowed.iter().map(|rule| rule.as_str().to_owned()).collect();
        }
        ProjectEvent::RouteRequested { subdomain, service_url } => {
            row.route = Some(Json(RouteView {
                subdomain: Some(subdomain),
                hostname: None,
                service_url: Some(service_url),
                state: "pending".into(),
                message: None,
                unpublish_at: None,
            }));
            // A quick service whose check passed is running; for compose projects the deploy
            // outcome already said so.
            if row.kind == "quick_service" {
                row.status = "running".into();
                row.last_error = None;
            }
        }
        ProjectEvent::RouteWithdrawn {} => {}
        ProjectEvent::RoutePublished { hostname, service_url, .. } => {
            let route = route_mut(row);
            route.hostname = Some(hostname);
            route.service_url = Some(service_url);
            route.state = "published".into();
            route.message = None;
            route.unpublish_at = None;
        }
        ProjectEvent::RoutePublishFailed { hostname, message, .. } => {
            let route = route_mut(row);
            route.hostname = hostname;
            route.state = "failed".into();
            route.message = Some(message);
        }
        ProjectEvent::RouteUnpublishScheduled { hostname, at: due } => {
            let route = route_mut(row);
            route.hostname = Some(hostname);
            route.state = "unpublishing".into();
            route.unpublish_at = Some(due);
        }
        ProjectEvent::RouteUnpublished { hostname, .. } => {
            let unpublishing = row
                .route
                .as_ref()
                .is_some_and(|route| route.hostname.as_deref() == Some(hostname.as_str()) && route.state == "unpublishing");
            if unpublishing {
                row.route = None;
            }
        }
        ProjectEvent::RepoCreationRequested { job_id, template, owner, name, .. } => {
            let repo = owner.map_or(name.clone(), |owner| format!("{owner}/{name}"));
            row.repository =
                Some(Json(RepositoryView { template, repo, html_url: None, state: "requested".into(), message: None, repo_left: false, commit: None }));
            row.last_job_id = Some(job_id);
            row.last_action = Some("create_from_template".into());
        }
        ProjectEvent::RepoCreated { repo, html_url, .. } => {
            let view = repository_mut(row);
            view.repo = repo;
            view.html_url = Some(html_url);
            view.state = "created".into();
        }
        ProjectEvent::RepoCloned { commit, .. } => {
            let view = repository_mut(row);
            view.state = "cloned".into();
            view.commit = Some(commit);
        }
        ProjectEvent::RepoCreationFailed { message, repo_left, .. } => {
            let view = repository_mut(row);
            view.state = "failed".into();
            view.message = Some(message.clone());
            view.repo_left = repo_left.is_some();
            if let Some(repo) = repo_left {
                view.repo = repo;
            }
            // Nothing serves yet: the project failed with that error.
            row.status = "failed".into();
            row.last_error = Some(message);
        }
        ProjectEvent::GithubWebhookEnsured { job_id, repo, hook_id, url, change, .. } => {
            row.webhook = Some(Json(WebhookView {
                state: "active".into(),
                repo,
                hook_id: Some(hook_id),
                url: Some(url),
                change: Some(change),
                message: None,
                job_id,
                checked_at: at,
            }));
        }
        ProjectEvent::GithubWebhookFailed { job_id, repo, message } => {
            // A failure keeps what the last success found (hook id, URL) beside the message.
            let last = row.webhook.take().map(|webhook| webhook.0);
            row.webhook = Some(Json(WebhookView {
                state: "failed".into(),
                repo,
                hook_id: last.as_ref().and_then(|w| w.hook_id),
                url: last.as_ref().and_then(|w| w.url.clone()),
                change: last.and_then(|w| w.change),
                message: Some(message),
                job_id,
                checked_at: at,
            }));
        }
    }
}

/// The row's repository view, an empty one when it has none yet (the aggregate always records
/// `RepoCreationRequested` first, so this only guards against a malformed history).
fn repository_mut(row: &mut ProjectView) -> &mut RepositoryView {
    row.repository.get_or_insert_with(|| {
        Json(RepositoryView {
            template: String::new(),
            repo: String::new(),
            html_url: None,
            state: String::new(),
            message: None,
            repo_left: false,
            commit: None,
        })
    })
}

/// Replaces the containers shown under `deployment.services` with `services`, the engine's
/// view after a stop or start (older events carry none: the copy then stays).
fn refresh_services(row: &mut ProjectView, services: Option<Vec<DeployedService>>) {
    if let (Some(deployment), Some(services)) = (row.deployment.as_mut(), services) {
        deployment.services = services;
    }
}

/// The row's route, an empty one (no fields, no state) when it has none yet: a publish
/// outcome fills in what it knows.
fn route_mut(row: &mut ProjectView) -> &mut RouteView {
    row.route.get_or_insert_with(|| {
        Json(RouteView { subdomain: None, hostname: None, service_url: None, state: String::new(), message: None, unpublish_at: None })
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Folds `events` (sequence 1, 2, …) into a fresh row, the way a batch does.
    fn replay(events: Vec<ProjectEvent>) -> Option<ProjectView> {
        let id = Uuid::now_v7();
        let mut row = None;
        for (n, event) in events.into_iter().enumerate() {
            let envelope = EventEnvelope {
                aggregate_type: warp_events::project::AGGREGATE_TYPE.into(),
                aggregate_id: id.to_string(),
                sequence: n as i64 + 1,
                event_type: String::new(),
                event_version: "1.0".into(),
                global_position: n as i64 + 1,
                recorded_at: Utc::now(),
                payload: serde_json::Value::Null,
                metadata: warp_events::EventMetadata { actor: Some("octocat".into()), ..Default::default() },
            };
            row = fold(row, id, &envelope, event);
        }
        row
    }

    fn created() -> ProjectEvent {
        ProjectEvent::ProjectCreated { name: "shop".into(), description: None, subdomain: None }
    }

    #[test]
    fn events_before_the_creation_make_no_row() {
        assert!(replay(vec![ProjectEvent::ProjectArchived {}]).is_none());
        let row = replay(vec![created(), ProjectEvent::ProjectArchived {}]).unwrap();
        assert!(row.archived);
        assert_eq!((row.version, row.created_by.as_deref()), (2, Some("octocat")));
    }

    #[test]
    fn a_failed_deploy_fails_a_project_only_when_nothing_served_or_what_served_was_replaced() {
        let job_id = Uuid::now_v7();
        let failed = |containers_changed, rolled_back_to: Option<&str>| ProjectEvent::DeploymentFailed {
            job_id,
            message: "boom".into(),
            containers_changed,
            rolled_back_to: rolled_back_to.map(Into::into),
        };
        let succeeded = || ProjectEvent::DeploymentSucceeded { job_id, commit: None, services: Vec::new() };
        assert_eq!(replay(vec![created(), failed(false, None)]).unwrap().status, "failed");
        let kept = replay(vec![created(), succeeded(), failed(false, None)]).unwrap();
        assert_eq!((kept.status.as_str(), kept.last_error.as_deref()), ("running", Some("boom")));
        assert_eq!(replay(vec![created(), succeeded(), failed(true, Some("abc"))]).unwrap().status, "running");
        assert_eq!(replay(vec![created(), succeeded(), failed(true, None)]).unwrap().status, "failed");
    }

    #[test]
    fn a_route_is_cleared_only_by_the_unpublish_of_the_hostname_it_was_unpublishing() {
        let job_id = Uuid::now_v7();
        let failed = ProjectEvent::RoutePublishFailed { job_id, hostname: None, message: "no base domain".into() };
        let route = replay(vec![created(), failed.clone()]).unwrap().route.unwrap().0;
        assert_eq!((route.state.as_str(), route.hostname, route.message.as_deref()), ("failed", None, Some("no base domain")));

        let scheduled = ProjectEvent::RouteUnpublishScheduled { hostname: "a.example.com".into(), at: Utc::now() };
        let other = ProjectEvent::RouteUnpublished { job_id, hostname: "b.example.com".into() };
        let same = ProjectEvent::RouteUnpublished { job_id, hostname: "a.example.com".into() };
        assert!(replay(vec![created(), scheduled.clone(), other]).unwrap().route.is_some());
        assert!(replay(vec![created(), scheduled, same]).unwrap().route.is_none());
    }
}

//! Ownership checks a deploy makes on the host: a folder source belongs to one live project,
//! and failure messages never name another user's project.

use std::path::Path;

use sqlx::PgPool;
use uuid::Uuid;
use warp_jobs::JobFailure;

use super::workspace::{folder_source, STATE_DIR};

/// Refuses the folder `dir` (the resolved folder source of project `id`, owned by `owner`)
/// when, with symlinks followed, it lies in the panel's state folder `<root>/.warp/`, or is,
/// contains or lies inside the folder source of another live project. The other project is
/// named only when `owner` owns it too.
///
/// # Errors
/// [`JobFailure::Failed`] saying which folder is whose.
pub async fn check_folder(pool: &PgPool, root: &Path, id: Uuid, dir: &Path, owner: Option<&str>) -> Result<(), JobFailure> {
    let dir = dir.canonicalize().map_err(|e| JobFailure::failed(format!("source.folder: {e}")))?;
    if let Ok(state) = root.join(STATE_DIR).canonicalize() {
        if dir.starts_with(&state) {
            return Err(JobFailure::failed(format!("source.folder: resolves into {STATE_DIR}/, which holds the panel's own files")));
        }
    }
    let others: Vec<(String, Option<String>, String)> = sqlx::query_as(
        "select name, created_by, source->'folder'->>'path' from projects
          where not archived and id <> $1 and source->'folder'->>'path' is not null",
    )
    .bind(id)
    .fetch_all(pool)
    .await
    .map_err(|e| JobFailure::failed(format!("reading the other projects' folders: {e}")))?;
    for (name, created_by, path) in others {
        let Ok(other) = folder_source(root, &path).and_then(|p| p.canonicalize().map_err(|e| e.to_string())) else { continue };
        if dir.starts_with(&other) || other.starts_with(&dir) {
            let whose = match (owner, created_by.as_deref()) {
                (Some(a), Some(b)) if a == b => format!("project {name}"),
                _ => "another user's project".to_owned(),
            };
            return Err(JobFailure::failed(format!(
                "source.folder: {} overlaps the folder of {whose}; a folder belongs to one project",
                dir.display()
            )));
        }
    }
    Ok(())
}

/// The login that created project `id` (the actor of its first event), from the event store.
pub async fn owner(pool: &PgPool, id: Uuid) -> Option<String> {
    sqlx::query_scalar(
        "select metadata->>'actor' from events where aggregate_type = 'project' and aggregate_id = $1 and sequence = 1",
    )
    .bind(id.to_string())
    .fetch_optional(pool)
    .await
    .ok()
    .flatten()
}

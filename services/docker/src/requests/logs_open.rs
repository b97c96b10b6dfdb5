//! `logs.open`: start a log session over the matching running containers.

use bollard::query_parameters::ListContainersOptionsBuilder;
use warp_events::docker::{ContainerRef, DockerFailure, LogsOpen, LogsOpened};

use super::bad_request;
use crate::client::container_name;
use crate::follow::Session;
use crate::Context;

/// Longest filter, in characters.
pub const MAX_FILTER_CHARS: usize = 128;

/// Whether `filter` is 1-128 characters of `[A-Za-z0-9_.-]` (the API checks the same).
pub fn valid_filter(filter: &str) -> bool {
    (1..=MAX_FILTER_CHARS).contains(&filter.len())
        && filter.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// Registers the session, starts following the matching running containers (with the
/// request's `tail` and `since`) and watching for matching containers that start later.
pub async fn handle(ctx: &Context, request: LogsOpen) -> Result<LogsOpened, DockerFailure> {
    if let Some(filter) = request.filter.as_deref().filter(|f| !valid_filter(f)) {
        return Err(bad_request(format!("filter {filter:?} must be 1-128 characters of A-Z a-z 0-9 _ . -")));
    }
    let docker = ctx.client.engine().await?;
    let watch_from = chrono::Utc::now().timestamp() - 1;
    let options = ListContainersOptionsBuilder::default().all(false).build();
    let listed = match tokio::time::timeout(crate::client::CALL_TIMEOUT, docker.list_containers(Some(options))).await {
        Ok(Ok(listed)) => listed,
        Ok(Err(error)) => return Err(ctx.client.failure(error).await),
        Err(_) => return Err(ctx.client.failure(bollard::errors::Error::RequestTimeoutError).await),
    };
    let cancel = ctx.sessions.insert(request.session_id, &ctx.shutdown);
    let (session_id, tail, filter) = (request.session_id, request.tail, request.filter.clone());
    let session = Session::new(docker, ctx.nats.clone(), request, cancel, ctx.config.redactor.clone());
    let containers: Vec<ContainerRef> = listed
        .into_iter()
        .map(|c| ContainerRef {
            compose_project: c.labels.as_ref().and_then(|l| l.get(crate::jobs::steps::ready::PROJECT_LABEL)).cloned(),
            id: c.id.unwrap_or_default(),
            name: container_name(c.names.as_ref()),
        })
        .filter(|c| session.matches(c))
        .collect();
    for container in &containers {
        session.follow(container.clone(), tail, None);
    }
    tokio::spawn(session.watch_starts(watch_from));
    tracing::info!(session.id = %session_id, filter = ?filter, containers = containers.len(), "log session opened");
    Ok(LogsOpened { containers })
}

#[cfg(test)]
mod tests {
    use super::valid_filter;

    #[test]
    fn filters_are_short_names_or_ids() {
        assert!(valid_filter("web-1.app_x"));
        assert!(!valid_filter(""));
        assert!(!valid_filter("a b"));
        assert!(!valid_filter("a/b"));
        assert!(!valid_filter(&"a".repeat(129)));
    }
}

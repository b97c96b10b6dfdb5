//! NATS names: the event stream, its subjects, live-log subjects and message ids.
//!
//! Subject tokens may not contain `.`, `*`, `>` or whitespace (NATS subject rules), so every
//! variable token goes through [`token`].

/// Default JetStream stream holding every event.
pub const EVENTS_STREAM: &str = "WARP_EVENTS";
/// Default subject prefix of the event stream; events are `<prefix>.<type>.<id>.<event_type>`.
pub const EVENTS_SUBJECT_PREFIX: &str = "warp.events";
/// Prefix of live job log subjects: `warp.logs.job.<job_id>`.
pub const JOB_LOGS_PREFIX: &str = "warp.logs.job";
/// Prefix of live container log subjects: `warp.logs.container.<container_id>.<session_id>`.
pub const CONTAINER_LOGS_PREFIX: &str = "warp.logs.container";
/// Prefix of request-reply subjects answered by a docker service:
/// `warp.docker.<host>.<action>` (core NATS, not the event stream).
pub const DOCKER_REQUEST_PREFIX: &str = "warp.docker";
/// Docker action: list running containers (request `{}`, reply `DockerReply<ContainerList>`).
pub const DOCKER_CONTAINERS: &str = "containers";
/// Docker action: engine and compose health (request `{}`, reply `DockerReply<DockerHealth>`).
pub const DOCKER_HEALTH: &str = "health";
/// Docker action: who holds a host port (request `PortQuery`, reply `DockerReply<PortStatus>`).
pub const DOCKER_PORTS: &str = "ports";
/// Docker action: open a log session (request `LogsOpen`, reply `DockerReply<LogsOpened>`).
pub const DOCKER_LOGS_OPEN: &str = "logs.open";
/// Docker action: keep a log session alive (request `LogsSession`, reply `DockerReply<LogsKeptAlive>`).
pub const DOCKER_LOGS_KEEPALIVE: &str = "logs.keepalive";
/// Docker action: close a log session (request `LogsSession`, reply `DockerReply<LogsKeptAlive>`).
pub const DOCKER_LOGS_CLOSE: &str = "logs.close";
/// Docker action: restart a container and report whether it stays running (cloudflared after
/// its local config changed).
pub const DOCKER_RESTART_CONTAINER: &str = "restart_container";
/// Docker action: a container's arguments (token values masked), mounts and networks.
pub const DOCKER_CONTAINER_INFO: &str = "container_info";
/// Docker action: attach a container to a network (cloudflared to a routed service's).
pub const DOCKER_CONNECT_NETWORK: &str = "connect_network";

/// Prefix of request-reply subjects answered by the github service: `warp.github.<action>`
/// (core NATS, not the event stream).
pub const GITHUB_REQUEST_PREFIX: &str = "warp.github";
/// GitHub action: the repositories the panel's token can see (request `RepoQuery`, reply
/// `GithubReply<RepoPage>`, see [`crate::github`]).
pub const GITHUB_REPOS: &str = "repos";

/// Request subject of `action` (e.g. [`GITHUB_REPOS`]) on the github service:
/// `warp.github.<action>`.
pub fn github_request_subject(action: &str) -> String {
    format!("{GITHUB_REQUEST_PREFIX}.{action}")
}

/// Everything the github service answers: `warp.github.>`.
pub const GITHUB_REQUESTS_WILDCARD: &str = "warp.github.>";

/// The JetStream deduplication header (`Nats-Msg-Id`).
pub const MSG_ID_HEADER: &str = "Nats-Msg-Id";
/// Header carrying the correlation id into consumer spans.
pub const CORRELATION_HEADER: &str = "Warp-Correlation-Id";

/// Idempotency key of one event: `"<aggregate_type>:<aggregate_id>:<sequence>"`. Sent as
/// `Nats-Msg-Id` and used as the consumer inbox key.
pub fn message_id(aggregate_type: &str, aggregate_id: &str, sequence: i64) -> String {
    format!("{aggregate_type}:{aggregate_id}:{sequence}")
}

/// Subject of one event under `prefix`: `<prefix>.<aggregate_type>.<aggregate_id>.<event_type>`.
pub fn event_subject(prefix: &str, aggregate_type: &str, aggregate_id: &str, event_type: &str) -> String {
    format!("{prefix}.{}.{}.{}", token(aggregate_type), token(aggregate_id), token(event_type))
}

/// Subject of a job's live log lines.
pub fn job_logs_subject(job_id: &str) -> String {
    format!("{JOB_LOGS_PREFIX}.{}", token(job_id))
}

/// Subject of one container's live log lines within one log session:
/// `warp.logs.container.<container_id>.<session_id>`.
pub fn container_logs_subject(container_id: &str, session_id: &str) -> String {
    format!("{CONTAINER_LOGS_PREFIX}.{}.{}", token(container_id), token(session_id))
}

/// Wildcard over every container of one log session: `warp.logs.container.*.<session_id>`.
pub fn container_logs_session_wildcard(session_id: &str) -> String {
    format!("{CONTAINER_LOGS_PREFIX}.*.{}", token(session_id))
}

/// Request subject of `action` (e.g. [`DOCKER_LOGS_OPEN`]) on the docker service of `host`:
/// `warp.docker.<host>.<action>`. The action may span several tokens (`logs.open`).
pub fn docker_request_subject(host: &str, action: &str) -> String {
    format!("{DOCKER_REQUEST_PREFIX}.{}.{action}", token(host))
}

/// Everything the docker service of `host` answers: `warp.docker.<host>.>`.
pub fn docker_requests_wildcard(host: &str) -> String {
    format!("{DOCKER_REQUEST_PREFIX}.{}.>", token(host))
}

/// Makes `raw` a valid single NATS subject token: characters other than ASCII letters, digits,
/// `-` and `_` become `_`; an empty value becomes `_`.
pub fn token(raw: &str) -> String {
    if raw.is_empty() {
        return "_".to_owned();
    }
    raw.chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_tokens_cannot_add_levels_or_wildcards() {
        assert_eq!(
            event_subject("warp.events", "project", "a.b>*c d", "ProjectCreated"),
            "warp.events.project.a_b__c_d.ProjectCreated"
        );
        assert_eq!(token(""), "_");
    }

    #[test]
    fn docker_subjects_keep_host_and_session_in_one_token_each() {
        assert_eq!(docker_request_subject("my.host", DOCKER_LOGS_OPEN), "warp.docker.my_host.logs.open");
        assert_eq!(docker_requests_wildcard("local"), "warp.docker.local.>");
        assert_eq!(container_logs_subject("abc", "s-1"), "warp.logs.container.abc.s-1");
        assert_eq!(container_logs_session_wildcard("s-1"), "warp.logs.container.*.s-1");
    }

    #[test]
    fn message_id_names_type_id_and_sequence() {
        assert_eq!(message_id("project", "42", 3), "project:42:3");
    }
}

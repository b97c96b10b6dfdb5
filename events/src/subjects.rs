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
/// Prefix of live container log subjects: `warp.logs.container.<container_id>`.
pub const CONTAINER_LOGS_PREFIX: &str = "warp.logs.container";

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

/// Subject of a container's live log lines.
pub fn container_logs_subject(container_id: &str) -> String {
    format!("{CONTAINER_LOGS_PREFIX}.{}", token(container_id))
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
    fn message_id_names_type_id_and_sequence() {
        assert_eq!(message_id("project", "42", 3), "project:42:3");
    }
}

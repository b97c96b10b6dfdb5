//! One log session at work: follow the logs of every matching running container, and of each
//! matching container that starts later, and publish their lines.
//!
//! Logs are read only with `GET /containers/{id}/logs?follow=true&timestamps=true` (never
//! attach, never a signal). Containers that start later come from `GET /events` filtered to
//! container `start` events; that stream is opened with `since` one second before the
//! container list is read, so a start in between is replayed rather than missed (a container
//! already followed is not followed twice). A container whose log ends (it stopped) leaves the
//! followed set, so a restart joins again.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use bollard::container::LogOutput;
use bollard::query_parameters::{EventsOptionsBuilder, LogsOptions, LogsOptionsBuilder};
use bollard::Docker;
use futures::StreamExt;
use tokio_util::sync::CancellationToken;
use warp_events::docker::{ContainerLogLine, ContainerRef, LogsOpen};
use warp_events::logs::LogStream;
use warp_events::subjects;

use crate::frames::LineAssembler;

/// What every stream of one session shares.
#[derive(Clone)]
pub struct Session {
    pub docker: Docker,
    pub nats: async_nats::Client,
    pub request: Arc<LogsOpen>,
    pub cancel: CancellationToken,
    redactor: warp_platform::redact::Redactor,
    followed: Arc<Mutex<HashSet<String>>>,
}

impl Session {
    pub fn new(
        docker: Docker,
        nats: async_nats::Client,
        request: LogsOpen,
        cancel: CancellationToken,
        redactor: warp_platform::redact::Redactor,
    ) -> Self {
        Self { docker, nats, request: Arc::new(request), cancel, redactor, followed: Default::default() }
    }

    /// Whether `container` belongs to this session: its name or id contains the filter.
    /// Whether the session follows `container`: its name or id contains the filter, and it
    /// belongs to one of the session's compose projects when the session names them.
    pub fn matches(&self, container: &ContainerRef) -> bool {
        let named = self.request.filter.as_deref().is_none_or(|f| container.name.contains(f) || container.id.contains(f));
        let owned = self.request.compose_projects.as_ref().is_none_or(|allowed| {
            container.compose_project.as_ref().is_some_and(|project| allowed.contains(project))
        });
        named && owned
    }

    /// Starts following `container` unless it is already followed; `since` overrides the
    /// session's (unix seconds), `tail` is `None` for every line.
    pub fn follow(&self, container: ContainerRef, tail: Option<u32>, since: Option<i64>) {
        if !self.followed.lock().expect("followed lock").insert(container.id.clone()) {
            return;
        }
        let mut options = LogsOptionsBuilder::default().follow(true).stdout(true).stderr(true).timestamps(true);
        options = options.tail(&tail.map_or_else(|| "all".to_owned(), |n| n.to_string()));
        if let Some(since) = since.or(self.request.since) {
            options = options.since(i32::try_from(since.max(0)).unwrap_or(i32::MAX));
        }
        tokio::spawn(self.clone().stream(container, options.build()));
    }

    /// Publishes `container`'s lines until its log ends or the session is cancelled.
    async fn stream(self, container: ContainerRef, options: LogsOptions) {
        let subject = subjects::container_logs_subject(&container.id, &self.request.session_id.to_string());
        let mut logs = self.docker.logs(&container.id, Some(options));
        let mut lines = LineAssembler::new(self.request.ansi);
        tracing::debug!(container.name = %container.name, session.id = %self.request.session_id, "following container logs");
        loop {
            let output = tokio::select! {
                _ = self.cancel.cancelled() => return,
                output = logs.next() => output,
            };
            let (stream, bytes) = match output {
                Some(Ok(LogOutput::StdOut { message } | LogOutput::Console { message })) => (LogStream::Stdout, message),
                Some(Ok(LogOutput::StdErr { message })) => (LogStream::Stderr, message),
                Some(Ok(LogOutput::StdIn { .. })) => continue,
                Some(Err(error)) => {
                    tracing::info!(container.name = %container.name, error = %error, "container log stream ended");
                    break;
                }
                None => break,
            };
            for line in lines.push(stream, &bytes) {
                self.publish(&subject, &container, line).await;
            }
        }
        for line in lines.finish() {
            self.publish(&subject, &container, line).await;
        }
        self.followed.lock().expect("followed lock").remove(&container.id);
    }

    async fn publish(&self, subject: &str, container: &ContainerRef, line: crate::frames::Line) {
        // The panel's secrets and those of the container's own project, no other project's.
        let redactor = self.redactor.for_project(container.compose_project.as_deref());
        let message = ContainerLogLine {
            container_id: container.id.clone(),
            container_name: container.name.clone(),
            compose_project: container.compose_project.clone(),
            stream: line.stream,
            timestamp: line.timestamp,
            line: redactor.redact(&line.text),
        };
        let payload = serde_json::to_vec(&message).expect("a log line serialises");
        if let Err(error) = self.nats.publish(subject.to_owned(), payload.into()).await {
            tracing::warn!(error = %error, "publishing a container log line failed");
        }
    }

    /// Follows containers that start from `since` (unix seconds) on, until cancelled.
    pub async fn watch_starts(self, since: i64) {
        let filters = HashMap::from([("type", vec!["container"]), ("event", vec!["start"])]);
        let options = EventsOptionsBuilder::default().since(&since.to_string()).filters(&filters).build();
        let mut events = self.docker.events(Some(options));
        loop {
            let event = tokio::select! {
                _ = self.cancel.cancelled() => return,
                event = events.next() => event,
            };
            let Some(Ok(event)) = event else {
                tracing::warn!(session.id = %self.request.session_id, "docker event stream ended; late containers no longer join");
                return;
            };
            let Some(actor) = event.actor else { continue };
            let attribute = |key: &str| actor.attributes.as_ref().and_then(|a| a.get(key)).cloned();
            let (name, compose_project) = (attribute("name").unwrap_or_default(), attribute(crate::jobs::steps::ready::PROJECT_LABEL));
            let container = ContainerRef { id: actor.id.unwrap_or_default(), name, compose_project };
            if !container.id.is_empty() && self.matches(&container) {
                // Everything it printed since this start: it is new to the session.
                self.follow(container, None, event.time.or(Some(since)));
            }
        }
    }
}


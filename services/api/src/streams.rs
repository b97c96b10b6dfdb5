//! Bounds on live streams (Server-Sent Events).
//!
//! - Memory: every event queued for a client takes permits worth its size from a per-stream
//!   budget ([`StreamConfig::stream_bytes`]) and from one budget for the whole process
//!   ([`StreamConfig::total_bytes`]); they are given back when the event is handed to the
//!   connection. The task that feeds a stream never waits for a slow client: it keeps reading
//!   NATS (so NATS never buffers for it) and, when the budget is used up, drops container log
//!   lines, counting them; the client then gets a `dropped` event (`{"count": n}`) before the
//!   next line. Job logs are never dropped: their stream falls behind and catches up from the
//!   stored lines. A slow client is logged once per stream.
//! - Sessions: log streams (job logs and container logs) are capped per user
//!   ([`StreamConfig::sessions_per_user`]) and in total ([`StreamConfig::sessions`]); past a
//!   cap the request is answered 429 `too_many_streams`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::response::sse::Event;
use futures::Stream;
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio_stream::wrappers::UnboundedReceiverStream;
use tokio_stream::StreamExt as _;

use crate::error::ApiError;

/// The bounds; [`StreamConfig::default`] is what the panel runs with.
#[derive(Debug, Clone, Copy)]
pub struct StreamConfig {
    /// Bytes queued for one client at most (1 MiB).
    pub stream_bytes: usize,
    /// Bytes queued for all clients together at most (64 MiB).
    pub total_bytes: usize,
    /// Open log streams of one user at most (8).
    pub sessions_per_user: usize,
    /// Open log streams in total at most (64).
    pub sessions: usize,
}

impl Default for StreamConfig {
    fn default() -> Self {
        Self { stream_bytes: 1 << 20, total_bytes: 64 << 20, sessions_per_user: 8, sessions: 64 }
    }
}

/// The stream bounds of one API process; cheap to clone.
#[derive(Clone)]
pub struct StreamLimits {
    config: StreamConfig,
    total: Arc<Semaphore>,
    sessions: Arc<Semaphore>,
    per_user: Arc<Mutex<HashMap<String, usize>>>,
}

impl Default for StreamLimits {
    fn default() -> Self {
        Self::new(StreamConfig::default())
    }
}

impl StreamLimits {
    /// Limits with `config`.
    pub fn new(config: StreamConfig) -> Self {
        Self {
            config,
            total: Arc::new(Semaphore::new(config.total_bytes)),
            sessions: Arc::new(Semaphore::new(config.sessions)),
            per_user: Default::default(),
        }
    }

    /// Opens a log session for `login`; hold it as long as the stream lasts.
    ///
    /// # Errors
    /// [`ApiError::TooManyStreams`] past either cap.
    pub fn open_log_session(&self, login: &str) -> Result<LogSession, ApiError> {
        let mut per_user = self.per_user.lock().expect("never poisoned");
        let open = per_user.get(login).copied().unwrap_or(0);
        if open >= self.config.sessions_per_user {
            return Err(ApiError::TooManyStreams(format!(
                "{login} already has {open} log streams open (at most {}); close one first",
                self.config.sessions_per_user
            )));
        }
        let permit = self.sessions.clone().try_acquire_owned().map_err(|_| {
            ApiError::TooManyStreams(format!("the panel has {} log streams open, its limit; try again later", self.config.sessions))
        })?;
        per_user.insert(login.to_owned(), open + 1);
        Ok(LogSession { login: login.to_owned(), per_user: self.per_user.clone(), _permit: permit })
    }

    /// A bounded queue for one stream: the sender for the feeding task and the events for the
    /// SSE body. `what` names the stream in the slow-client log line.
    pub fn channel(&self, what: String) -> (BoundedSender, impl Stream<Item = Event> + Send + 'static) {
        let (tx, rx) = mpsc::unbounded_channel::<(Event, Permits)>();
        let sender = BoundedSender {
            tx,
            stream: Arc::new(Semaphore::new(self.config.stream_bytes)),
            total: self.total.clone(),
            stream_bytes: self.config.stream_bytes,
            dropped: 0,
            warned: false,
            what,
        };
        (sender, UnboundedReceiverStream::new(rx).map(|(event, _permits)| event))
    }
}

/// One open log stream of a user (see [`StreamLimits::open_log_session`]).
pub struct LogSession {
    login: String,
    per_user: Arc<Mutex<HashMap<String, usize>>>,
    _permit: OwnedSemaphorePermit,
}

impl Drop for LogSession {
    fn drop(&mut self) {
        let mut per_user = self.per_user.lock().expect("never poisoned");
        if let Some(open) = per_user.get_mut(&self.login) {
            *open -= 1;
            if *open == 0 {
                per_user.remove(&self.login);
            }
        }
    }
}

type Permits = (OwnedSemaphorePermit, OwnedSemaphorePermit);

/// The client went away.
#[derive(Debug)]
pub struct Closed;

/// The feeding end of a bounded stream.
pub struct BoundedSender {
    tx: mpsc::UnboundedSender<(Event, Permits)>,
    stream: Arc<Semaphore>,
    total: Arc<Semaphore>,
    stream_bytes: usize,
    dropped: u64,
    warned: bool,
    what: String,
}

impl BoundedSender {
    /// Queues `event` (about `bytes` big) if both budgets have room: `Ok(false)` when not
    /// (nothing queued; the first time, the slow client is logged).
    pub fn try_send(&mut self, event: Event, bytes: usize) -> Result<bool, Closed> {
        if self.tx.is_closed() {
            return Err(Closed);
        }
        let cost = u32::try_from(bytes.clamp(1, self.stream_bytes)).unwrap_or(u32::MAX);
        let Ok(own) = self.stream.clone().try_acquire_many_owned(cost) else {
            self.slow();
            return Ok(false);
        };
        let Ok(shared) = self.total.clone().try_acquire_many_owned(cost) else {
            self.slow();
            return Ok(false);
        };
        self.tx.send((event, (own, shared))).map_err(|_| Closed)?;
        Ok(true)
    }

    /// Queues `event`, or drops it and counts it when the budget is used up. Before the next
    /// event that fits, the client gets `dropped` (`{"count": n}`).
    pub fn send_or_drop(&mut self, event: Event, bytes: usize) -> Result<(), Closed> {
        if self.dropped > 0 {
            let notice = Event::default().event("dropped").data(serde_json::json!({ "count": self.dropped }).to_string());
            if !self.try_send(notice, 64)? {
                self.dropped += 1;
                return Ok(());
            }
            self.dropped = 0;
        }
        if !self.try_send(event, bytes)? {
            self.dropped += 1;
        }
        Ok(())
    }

    /// Whether at least half of this stream's budget is free.
    pub fn has_room(&self) -> bool {
        self.stream.available_permits() >= self.stream_bytes / 2
    }

    /// Resolves when the client went away.
    pub async fn closed(&self) {
        self.tx.closed().await
    }

    fn slow(&mut self) {
        if !self.warned {
            self.warned = true;
            tracing::warn!(stream = %self.what, buffer_bytes = self.stream_bytes, "a stream client is not keeping up; its stream is held back");
        }
    }
}

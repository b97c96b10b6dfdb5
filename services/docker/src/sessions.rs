//! The registry of open log sessions and their keep-alive clocks.
//!
//! A session lives while its API keeps sending `logs.keepalive`; one that has not been kept
//! alive for [`crate::config::DockerConfig::session_idle`] (15 s) is cancelled by
//! [`Sessions::reap`], which stops every log stream of it. `logs.close` cancels it at once.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Open log sessions by id.
#[derive(Debug)]
pub struct Sessions {
    open: Mutex<HashMap<Uuid, Entry>>,
    idle: Duration,
}

#[derive(Debug)]
struct Entry {
    last_seen: Instant,
    cancel: CancellationToken,
}

impl Sessions {
    /// An empty registry whose sessions expire after `idle` without a keep-alive.
    pub fn new(idle: Duration) -> Self {
        Self { open: Mutex::new(HashMap::new()), idle }
    }

    /// Registers `id` and returns the token that stops its streams. An id already open is
    /// replaced (its streams stop).
    pub fn insert(&self, id: Uuid, parent: &CancellationToken) -> CancellationToken {
        let cancel = parent.child_token();
        let entry = Entry { last_seen: Instant::now(), cancel: cancel.clone() };
        if let Some(old) = self.open.lock().expect("sessions lock").insert(id, entry) {
            old.cancel.cancel();
        }
        cancel
    }

    /// Marks `id` as alive now; false when it is unknown (expired, closed, never opened).
    pub fn keep_alive(&self, id: Uuid) -> bool {
        match self.open.lock().expect("sessions lock").get_mut(&id) {
            Some(entry) => {
                entry.last_seen = Instant::now();
                true
            }
            None => false,
        }
    }

    /// Stops and forgets `id`; false when it was unknown.
    pub fn close(&self, id: Uuid) -> bool {
        let entry = self.open.lock().expect("sessions lock").remove(&id);
        entry.map(|e| e.cancel.cancel()).is_some()
    }

    /// Stops and forgets every session idle for longer than the limit, or already cancelled;
    /// returns how many.
    pub fn reap(&self) -> usize {
        let mut open = self.open.lock().expect("sessions lock");
        let before = open.len();
        open.retain(|id, entry| {
            let keep = !entry.cancel.is_cancelled() && entry.last_seen.elapsed() <= self.idle;
            if !keep {
                tracing::info!(session.id = %id, "log session closed: no keep-alive");
                entry.cancel.cancel();
            }
            keep
        });
        before - open.len()
    }

    /// How many sessions are open.
    pub fn len(&self) -> usize {
        self.open.lock().expect("sessions lock").len()
    }

    /// Whether no session is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_without_keep_alive_is_reaped_and_its_streams_stop() {
        let sessions = Sessions::new(Duration::from_millis(30));
        let root = CancellationToken::new();
        let (kept, idle) = (Uuid::new_v4(), Uuid::new_v4());
        let kept_token = sessions.insert(kept, &root);
        let idle_token = sessions.insert(idle, &root);
        std::thread::sleep(Duration::from_millis(40));
        assert!(sessions.keep_alive(kept));
        assert_eq!(sessions.reap(), 1);
        assert!(idle_token.is_cancelled() && !kept_token.is_cancelled());
        assert!(!sessions.keep_alive(idle), "an expired session is unknown");
        assert!(sessions.close(kept) && kept_token.is_cancelled());
        assert!(sessions.is_empty());
    }
}

//! The job log: every line redacted, numbered, stored in `job_logs`, then published live.
//!
//! Store-then-publish is what lets a reader subscribe first, read stored lines second, and
//! miss nothing: any line published before the subscription was stored before it.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use sqlx::PgPool;
use uuid::Uuid;
use warp_events::logs::{JobLogLine, JobLogMessage, LogStream};
use warp_events::subjects;
use warp_platform::redact::Redactor;

/// Lines per stored batch and per live message.
const BATCH: usize = 500;
/// Most lines held in memory while the log store is unreachable; later lines are counted and
/// reported as dropped instead of growing memory without bound.
pub const MAX_PENDING: usize = 50_000;
/// Output lines (stdout, stderr) [`JobLog::tail`] remembers.
pub const TAIL_LINES: usize = 40;
/// How often buffered lines are stored and published.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(50);

/// One job's log. Cheap to clone; lines are buffered and flushed every [`FLUSH_INTERVAL`] by
/// [`JobLog::spawn_flusher`], and on [`JobLog::end`].
#[derive(Clone)]
pub struct JobLog {
    inner: Arc<Inner>,
}

struct Inner {
    job_id: Uuid,
    pool: PgPool,
    nats: async_nats::Client,
    redactor: Redactor,
    state: Mutex<State>,
    flushing: tokio::sync::Mutex<()>,
}

struct State {
    next_seq: i64,
    pending: Vec<JobLogLine>,
    /// Lines dropped since the buffer was last full.
    dropped: u64,
    /// The last [`TAIL_LINES`] process output lines (redacted), for failure messages.
    tail: VecDeque<String>,
}

impl State {
    /// Queues a system line saying how many lines were dropped, if any were.
    fn report_dropped(&mut self) {
        if self.dropped > 0 {
            let line = format!("{} lines dropped: the log store was unreachable", std::mem::take(&mut self.dropped));
            let seq = self.next_seq;
            self.next_seq += 1;
            self.pending.push(JobLogLine { seq, at: Utc::now(), stream: LogStream::System, line });
        }
    }
}

impl JobLog {
    /// Opens the log of `job_id`, continuing after the lines an earlier attempt stored.
    pub async fn open(job_id: Uuid, pool: PgPool, nats: async_nats::Client, redactor: Redactor) -> sqlx::Result<Self> {
        let last = warp_store::job_logs::last_seq(&pool, job_id).await?;
        let state = State { next_seq: last + 1, pending: Vec::new(), dropped: 0, tail: VecDeque::new() };
        let inner = Inner { job_id, pool, nats, redactor, state: Mutex::new(state), flushing: Default::default() };
        Ok(Self { inner: Arc::new(inner) })
    }

    /// Appends one line (redacted here).
    pub fn line(&self, stream: LogStream, text: &str) {
        let line = self.inner.redactor.redact(text);
        let mut state = self.inner.state.lock().unwrap_or_else(|e| e.into_inner());
        if stream != LogStream::System {
            if state.tail.len() == TAIL_LINES {
                state.tail.pop_front();
            }
            state.tail.push_back(line.clone());
        }
        if state.pending.len() >= MAX_PENDING {
            state.dropped += 1;
            return;
        }
        state.report_dropped();
        let seq = state.next_seq;
        state.next_seq += 1;
        state.pending.push(JobLogLine { seq, at: Utc::now(), stream, line });
    }

    /// The last `n` (at most [`TAIL_LINES`]) output lines of the job's processes, redacted,
    /// oldest first; [`JobLog::clear_tail`] forgets them (e.g. before the next step).
    pub fn tail(&self, n: usize) -> Vec<String> {
        let state = self.inner.state.lock().unwrap_or_else(|e| e.into_inner());
        state.tail.iter().skip(state.tail.len().saturating_sub(n)).cloned().collect()
    }

    /// Forgets the remembered output lines.
    pub fn clear_tail(&self) {
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner()).tail.clear();
    }

    /// Appends a line written by the panel itself.
    pub fn system(&self, text: &str) {
        self.line(LogStream::System, text);
    }

    /// Stores then publishes everything buffered. On a database error the lines stay buffered
    /// for the next flush.
    pub async fn flush(&self) -> sqlx::Result<()> {
        let _one_at_a_time = self.inner.flushing.lock().await;
        loop {
            let batch: Vec<JobLogLine> = {
                let state = self.inner.state.lock().unwrap_or_else(|e| e.into_inner());
                state.pending.iter().take(BATCH).cloned().collect()
            };
            if batch.is_empty() {
                return Ok(());
            }
            warp_store::job_logs::insert(&self.inner.pool, self.inner.job_id, &batch).await?;
            {
                let mut state = self.inner.state.lock().unwrap_or_else(|e| e.into_inner());
                state.pending.drain(..batch.len());
            }
            self.publish(&JobLogMessage::Lines { lines: batch }).await;
        }
    }

    /// Flushes, then announces the end of the log with the job's final `status`.
    pub async fn end(&self, status: &str) {
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner()).report_dropped();
        for attempt in 0..5u32 {
            match self.flush().await {
                Ok(()) => break,
                Err(error) => {
                    tracing::warn!(job.id = %self.inner.job_id, error = %error, attempt, "storing job log lines failed");
                    tokio::time::sleep(Duration::from_millis(200 * 2u64.pow(attempt))).await;
                }
            }
        }
        let last_seq = self.inner.state.lock().unwrap_or_else(|e| e.into_inner()).next_seq - 1;
        self.publish(&JobLogMessage::End { status: status.to_owned(), last_seq }).await;
        let _ = self.inner.nats.flush().await;
    }

    /// Flushes every [`FLUSH_INTERVAL`] until the returned handle is aborted.
    pub fn spawn_flusher(&self) -> tokio::task::JoinHandle<()> {
        let log = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(FLUSH_INTERVAL).await;
                if let Err(error) = log.flush().await {
                    tracing::warn!(job.id = %log.inner.job_id, error = %error, "storing job log lines failed; will retry");
                }
            }
        })
    }

    async fn publish(&self, message: &JobLogMessage) {
        let subject = subjects::job_logs_subject(&self.inner.job_id.to_string());
        let Ok(body) = serde_json::to_vec(message) else { return };
        // Live delivery is best effort: readers fill gaps from the stored lines.
        if let Err(error) = self.inner.nats.publish(subject, body.into()).await {
            tracing::debug!(job.id = %self.inner.job_id, error = %error, "live log publish failed");
        }
    }
}

//! Live log messages on `warp.logs.job.<job_id>` (core NATS, not the event stream).

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Which output a log line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum LogStream {
    Stdout,
    Stderr,
    /// Written by the panel itself (step headers, outcome).
    System,
}

impl LogStream {
    /// The lower-case name (as stored in `job_logs.stream`).
    pub fn as_str(self) -> &'static str {
        match self {
            LogStream::Stdout => "stdout",
            LogStream::Stderr => "stderr",
            LogStream::System => "system",
        }
    }
}

/// One stored, redacted log line of a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, utoipa::ToSchema)]
pub struct JobLogLine {
    /// 1-based, gap-free order of the line within its job.
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub stream: LogStream,
    pub line: String,
}

/// A message on a job's live log subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum JobLogMessage {
    /// Lines just stored, in order.
    Lines { lines: Vec<JobLogLine> },
    /// The job ended with `status` after line `last_seq`; no more lines follow.
    End { status: String, last_seq: i64 },
}

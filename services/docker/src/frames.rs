//! From Docker's log frames to whole lines.
//!
//! `GET /containers/{id}/logs?timestamps=true` answers (for a container without a TTY) with
//! multiplexed frames: an 8-byte header (stream type, payload length) and a payload that
//! bollard hands over as one [`bollard::container::LogOutput`] each. Every payload starts with
//! the RFC 3339 timestamp of its log message and a space. The engine splits a line longer
//! than 16 KiB into several messages (each with its own frame and the same timestamp); only
//! the last one ends in `\n`.
//!
//! [`LineAssembler`] strips the timestamps and feeds the rest, per stream, to a
//! [`warp_jobs::lines::LineSplitter`] capped at [`MAX_LINE_BYTES`]: split lines are joined,
//! `\n`, `\r\n` and a bare `\r` end a line, invalid UTF-8 becomes U+FFFD, and a line over the
//! cap is cut with [`warp_jobs::lines::TRUNCATED`]. Each line carries the timestamp of the
//! frame it began in. With [`AnsiMode::Strip`] escape sequences are removed.

use chrono::{DateTime, Utc};
use warp_events::docker::AnsiMode;
use warp_events::logs::LogStream;
use warp_jobs::lines::LineSplitter;

/// Longest container log line kept, in bytes (before the truncation marker).
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// A finished line of one stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub stream: LogStream,
    pub timestamp: DateTime<Utc>,
    pub text: String,
}

/// Joins one container's log frames into lines, per stream.
#[derive(Debug)]
pub struct LineAssembler {
    stdout: StreamState,
    stderr: StreamState,
    ansi: AnsiMode,
}

#[derive(Debug)]
struct StreamState {
    splitter: LineSplitter,
    /// Timestamp of the frame the unfinished line began in.
    started: Option<DateTime<Utc>>,
}

impl StreamState {
    fn new() -> Self {
        Self { splitter: LineSplitter::with_max_line_bytes(MAX_LINE_BYTES), started: None }
    }
}

impl LineAssembler {
    pub fn new(ansi: AnsiMode) -> Self {
        Self { stdout: StreamState::new(), stderr: StreamState::new(), ansi }
    }

    /// Feeds one frame's payload of `stream`; returns the lines it completed. A payload
    /// without a leading timestamp is taken whole, stamped with the current time.
    pub fn push(&mut self, stream: LogStream, payload: &[u8]) -> Vec<Line> {
        let (timestamp, rest) = split_timestamp(payload);
        let timestamp = timestamp.unwrap_or_else(Utc::now);
        let ansi = self.ansi;
        let state = self.state(stream);
        let first = state.started.unwrap_or(timestamp);
        let texts = state.splitter.push(rest);
        let done = !texts.is_empty();
        let lines = texts
            .into_iter()
            .enumerate()
            .map(|(i, text)| Line { stream, timestamp: if i == 0 { first } else { timestamp }, text: clean(text, ansi) })
            .collect();
        state.started = match (state.splitter.has_partial_line(), done) {
            (false, _) => None,
            (true, true) => Some(timestamp),
            (true, false) => Some(first),
        };
        lines
    }

    /// The unfinished lines (stdout first), when the log ends.
    pub fn finish(&mut self) -> Vec<Line> {
        let ansi = self.ansi;
        [LogStream::Stdout, LogStream::Stderr]
            .into_iter()
            .filter_map(|stream| {
                let state = self.state(stream);
                let timestamp = state.started.take().unwrap_or_else(Utc::now);
                state.splitter.finish().map(|text| Line { stream, timestamp, text: clean(text, ansi) })
            })
            .collect()
    }

    fn state(&mut self, stream: LogStream) -> &mut StreamState {
        match stream {
            LogStream::Stderr => &mut self.stderr,
            _ => &mut self.stdout,
        }
    }
}

fn clean(text: String, ansi: AnsiMode) -> String {
    match ansi {
        AnsiMode::Keep => text,
        AnsiMode::Strip => strip_ansi_escapes::strip_str(&text),
    }
}

/// Splits `2024-05-01T10:00:00.123456789Z <rest>` into the time and the rest.
pub fn split_timestamp(payload: &[u8]) -> (Option<DateTime<Utc>>, &[u8]) {
    let head = &payload[..payload.len().min(48)];
    let Some(space) = head.iter().position(|b| *b == b' ') else { return (None, payload) };
    let parsed = std::str::from_utf8(&payload[..space]).ok().and_then(|t| DateTime::parse_from_rfc3339(t).ok());
    match parsed {
        Some(time) => (Some(time.with_timezone(&Utc)), &payload[space + 1..]),
        None => (None, payload),
    }
}

#[cfg(test)]
mod tests;

//! A small Server-Sent Events reader over a streaming `reqwest` body.

use std::pin::Pin;
use std::time::Duration;

use futures::{Stream, StreamExt};

/// One SSE message (comments such as keep-alives are skipped).
#[derive(Debug, Clone, Default)]
pub struct SseMessage {
    pub id: Option<String>,
    pub event: Option<String>,
    pub data: String,
}

type Body = Pin<Box<dyn Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>;

/// Reads messages from an open `text/event-stream` response.
pub struct SseReader {
    body: Body,
    buffer: String,
}

impl SseReader {
    pub fn new(response: reqwest::Response) -> Self {
        Self { body: Box::pin(response.bytes_stream()), buffer: String::new() }
    }

    /// The next message within `timeout`, or `None` when none came (or the stream ended).
    pub async fn next(&mut self, timeout: Duration) -> Option<SseMessage> {
        tokio::time::timeout(timeout, self.next_message()).await.ok().flatten()
    }

    async fn next_message(&mut self) -> Option<SseMessage> {
        loop {
            if let Some(message) = self.take_message() {
                return Some(message);
            }
            let chunk = self.body.next().await?.ok()?;
            self.buffer.push_str(&String::from_utf8_lossy(&chunk).replace("\r\n", "\n"));
        }
    }

    /// Parses the first complete message out of the buffer; skips comment-only blocks.
    fn take_message(&mut self) -> Option<SseMessage> {
        while let Some(end) = self.buffer.find("\n\n") {
            let block: String = self.buffer.drain(..end + 2).collect();
            let mut message = SseMessage::default();
            let mut has_field = false;
            for line in block.lines().filter(|l| !l.is_empty() && !l.starts_with(':')) {
                let (field, value) = line.split_once(':').unwrap_or((line, ""));
                let value = value.strip_prefix(' ').unwrap_or(value).to_owned();
                has_field = true;
                match field {
                    "id" => message.id = Some(value),
                    "event" => message.event = Some(value),
                    "data" if message.data.is_empty() => message.data = value,
                    "data" => message.data = format!("{}\n{value}", message.data),
                    _ => {}
                }
            }
            if has_field {
                return Some(message);
            }
        }
        None
    }
}

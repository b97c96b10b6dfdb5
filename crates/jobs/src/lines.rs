//! Turning raw process output into lines.
//!
//! - `\n`, `\r\n` and a bare `\r` (progress bars) each end a line.
//! - Invalid UTF-8 is replaced (U+FFFD), never an error.
//! - A line longer than the splitter's cap ([`MAX_LINE_BYTES`] by default, see
//!   [`LineSplitter::with_max_line_bytes`]) is cut there and ends with [`TRUNCATED`]; the rest
//!   of that line is dropped.

/// Longest line kept by default (job logs), in bytes (before the marker).
pub const MAX_LINE_BYTES: usize = 16 * 1024;
/// Appended to a cut line.
pub const TRUNCATED: &str = " …[truncated]";

/// Splits a byte stream into lines across chunk boundaries.
#[derive(Debug)]
pub struct LineSplitter {
    current: Vec<u8>,
    truncated: bool,
    /// The previous chunk ended in `\r`: a leading `\n` belongs to it.
    after_cr: bool,
    /// Longest line kept, in bytes.
    max_line_bytes: usize,
}

impl Default for LineSplitter {
    fn default() -> Self {
        Self::with_max_line_bytes(MAX_LINE_BYTES)
    }
}

impl LineSplitter {
    /// A splitter that cuts lines after `max_line_bytes` bytes (container logs use 64 KiB).
    pub fn with_max_line_bytes(max_line_bytes: usize) -> Self {
        Self { current: Vec::new(), truncated: false, after_cr: false, max_line_bytes }
    }

    /// Whether bytes of an unfinished line are waiting for their line ending.
    pub fn has_partial_line(&self) -> bool {
        !self.current.is_empty() || self.truncated
    }

    /// Feeds `chunk`; returns the lines it completed.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<String> {
        let mut out = Vec::new();
        for &byte in chunk {
            let after_cr = std::mem::take(&mut self.after_cr);
            match byte {
                b'\n' if after_cr => {}
                b'\n' => out.push(self.take()),
                b'\r' => {
                    out.push(self.take());
                    self.after_cr = true;
                }
                _ if self.current.len() >= self.max_line_bytes => self.truncated = true,
                _ => self.current.push(byte),
            }
        }
        out
    }

    /// The last, unterminated line, if any.
    pub fn finish(&mut self) -> Option<String> {
        (!self.current.is_empty() || self.truncated).then(|| self.take())
    }

    fn take(&mut self) -> String {
        let mut line = String::from_utf8_lossy(&self.current).into_owned();
        if std::mem::take(&mut self.truncated) {
            line.push_str(TRUNCATED);
        }
        self.current.clear();
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newlines_carriage_returns_and_crlf_each_end_one_line() {
        let mut s = LineSplitter::default();
        assert_eq!(s.push(b"a\nb\r\nc\rd"), vec!["a", "b", "c"]);
        assert_eq!(s.push(b"\r"), vec!["d"]);
        assert_eq!(s.push(b"\ne\n"), vec!["e"], "a \\n right after \\r is not an empty line");
        assert_eq!(s.finish(), None);
    }

    #[test]
    fn lines_continue_across_chunks_and_invalid_utf8_is_replaced() {
        let mut s = LineSplitter::default();
        assert!(s.push(b"hel").is_empty());
        assert_eq!(s.push(b"lo \xff\n"), vec!["hello \u{fffd}"]);
        assert!(s.push(b"tail").is_empty());
        assert_eq!(s.finish().as_deref(), Some("tail"));
    }

    #[test]
    fn a_very_long_line_is_cut_with_a_visible_marker() {
        let mut s = LineSplitter::default();
        let long = vec![b'x'; MAX_LINE_BYTES + 100];
        let lines = s.push(&[long.as_slice(), b"\nnext\n"].concat());
        assert_eq!(lines.len(), 2);
        assert!(lines[0].ends_with(TRUNCATED));
        assert_eq!(lines[0].len(), MAX_LINE_BYTES + TRUNCATED.len());
        assert_eq!(lines[1], "next");
    }

    #[test]
    fn the_cap_is_configurable_and_the_default_stays_16_kib() {
        let mut s = LineSplitter::with_max_line_bytes(64 * 1024);
        let long = vec![b'y'; 40_000];
        assert!(s.push(&long).is_empty());
        assert!(s.has_partial_line());
        assert_eq!(s.push(b"\n"), vec!["y".repeat(40_000)]);
        assert!(!s.has_partial_line());
        assert_eq!(LineSplitter::default().max_line_bytes, MAX_LINE_BYTES);
    }
}

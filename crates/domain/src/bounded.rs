//! Byte limits on every free-text field of every event, enforced by the aggregates in
//! `handle`, so every event is publishable by construction (see `docs/ARCHITECTURE.md`,
//! "Bounds").
//!
//! Texts that come from outside the panel's validation (container log lines, compose and git
//! error output, Docker Engine answers) are cleaned: control characters other than line
//! breaks and tabs are removed, each line and the whole text are cut on a `char` boundary, and
//! only the last lines are kept. What was cut is marked with [`CUT_MARK`]. The largest event
//! these limits allow stays far below [`warp_events::MAX_ENVELOPE_BYTES`], which in turn is well
//! under NATS' default 1 MiB `max_payload` (a test in `project/tests.rs` checks the bound).

use warp_events::docker::PublishedPort;
use warp_events::project::DeployedService;

/// Appended where a text was cut.
pub const CUT_MARK: &str = "…[cut]";
/// Longest failure message or requeue reason, bytes (after cleaning, mark included).
pub const MAX_MESSAGE_BYTES: usize = 8 * 1024;
/// Most lines a failure message keeps (its last ones: container logs quote the end).
pub const MAX_MESSAGE_LINES: usize = 40;
/// Longest line of a failure message, bytes.
pub const MAX_LINE_BYTES: usize = 1024;
/// Longest short field (worker name, commit, image, container name, state, URL…), bytes.
pub const MAX_SHORT_BYTES: usize = 256;
/// Longest name-like field of a deployed service (service, container name and id, image id,
/// state, health), bytes.
pub const MAX_NAME_BYTES: usize = 128;
/// Most services a deployment records.
pub const MAX_SERVICES: usize = 32;
/// Most published ports recorded per service.
pub const MAX_PORTS_PER_SERVICE: usize = 16;

/// A multi-line message (failure messages, reasons): cleaned, each line at most
/// [`MAX_LINE_BYTES`], the last [`MAX_MESSAGE_LINES`] lines, at most [`MAX_MESSAGE_BYTES`].
pub fn message(raw: &str) -> String {
    let lines: Vec<String> = raw.split('\n').map(|line| cut(&clean(line, false), MAX_LINE_BYTES)).collect();
    if lines.len() <= MAX_MESSAGE_LINES {
        return cut(&lines.join("\n"), MAX_MESSAGE_BYTES);
    }
    // The first line usually says what failed: keep it and the last lines, and say how many
    // lines between them were cut.
    let tail = lines.len() - (MAX_MESSAGE_LINES - 1);
    let kept = format!("{}\n…[{} lines cut]\n{}", lines[0], tail - 1, lines[tail..].join("\n"));
    cut(&kept, MAX_MESSAGE_BYTES)
}

/// A one-line field: cleaned (no control characters at all), at most [`MAX_SHORT_BYTES`].
pub fn short(raw: &str) -> String {
    cut(&clean(raw, true), MAX_SHORT_BYTES)
}

/// [`short`] on an optional field.
pub fn short_opt(raw: Option<String>) -> Option<String> {
    raw.map(|s| short(&s))
}

/// Deployed services with every text field cleaned and cut ([`MAX_NAME_BYTES`], the image
/// [`MAX_SHORT_BYTES`], a port's address 64 and protocol 16), at most [`MAX_SERVICES`] of them
/// and [`MAX_PORTS_PER_SERVICE`] ports each.
pub fn services(raw: Vec<DeployedService>) -> Vec<DeployedService> {
    raw.into_iter()
        .take(MAX_SERVICES)
        .map(|s| DeployedService {
            service: name(&s.service),
            container_id: name(&s.container_id),
            container_name: name(&s.container_name),
            image: short(&s.image),
            image_id: name(&s.image_id),
            state: name(&s.state),
            health: s.health.as_deref().map(name),
            ports: s
                .ports
                .into_iter()
                .take(MAX_PORTS_PER_SERVICE)
                .map(|p| PublishedPort { host_ip: cut(&clean(&p.host_ip, true), 64), protocol: cut(&clean(&p.protocol, true), 16), ..p })
                .collect(),
        })
        .collect()
}

fn name(raw: &str) -> String {
    cut(&clean(raw, true), MAX_NAME_BYTES)
}

/// Removes control characters (Unicode category Cc, which includes ANSI escape's ESC and
/// DEL) except tabs, and line breaks unless `one_line`.
fn clean(raw: &str, one_line: bool) -> String {
    raw.chars().filter(|c| !c.is_control() || *c == '\t' || (!one_line && *c == '\n')).collect()
}

/// `text` cut to at most `max` bytes on a `char` boundary, [`CUT_MARK`] included.
fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max - CUT_MARK.len();
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{CUT_MARK}", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_is_cleaned_cut_on_char_boundaries_and_keeps_its_first_and_last_lines() {
        let line = format!("\u{1b}[31m{}\u{7}\r", "é".repeat(5000));
        let raw = format!("compose up failed\n{}", vec![line; 100].join("\n"));
        let bounded = message(&raw);
        assert!(bounded.len() <= MAX_MESSAGE_BYTES, "{}", bounded.len());
        assert!(bounded.starts_with("compose up failed\n…[61 lines cut]\n"), "{}", &bounded[..80]);
        assert!(!bounded.chars().any(|c| c.is_control() && c != '\n'), "no control characters are left");
        assert!(bounded.ends_with(CUT_MARK));
        assert_eq!(message("short\nand sweet"), "short\nand sweet");
    }

    #[test]
    fn a_short_field_has_no_line_breaks_and_at_most_its_limit() {
        assert_eq!(short("main\n\u{0}x"), "mainx");
        let long = short(&"ü".repeat(1000));
        assert!(long.len() <= MAX_SHORT_BYTES && long.ends_with(CUT_MARK));
    }
}

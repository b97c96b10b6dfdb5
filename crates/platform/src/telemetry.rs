//! `tracing` set-up: `WARP_LOG` filter (default `info`), `WARP_LOG_FORMAT=json` for JSON lines,
//! written to stderr.

use tracing_subscriber::EnvFilter;

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, with span fields (request id, correlation id) included.
    Json,
}

/// Installs the global subscriber. Call once per process; later calls are ignored.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_env("WARP_LOG").unwrap_or_else(|_| EnvFilter::new("info,sqlx::postgres::notice=warn"));
    // Logs go to stderr so command output on stdout (a new token) can be captured alone.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(true)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).with_span_list(false).try_init(),
    };
}

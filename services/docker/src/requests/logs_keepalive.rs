//! `logs.keepalive`: the API still has a client for this session.

use warp_events::docker::{LogsKeptAlive, LogsSession};

use crate::Context;

/// Resets the session's idle clock; `known: false` when it expired or never existed.
pub fn handle(ctx: &Context, request: LogsSession) -> LogsKeptAlive {
    LogsKeptAlive { known: ctx.sessions.keep_alive(request.session_id) }
}

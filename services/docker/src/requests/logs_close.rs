//! `logs.close`: the API's client left; stop the session's streams now.

use warp_events::docker::{LogsKeptAlive, LogsSession};

use crate::Context;

/// Cancels the session; `known: false` when it had already ended.
pub fn handle(ctx: &Context, request: LogsSession) -> LogsKeptAlive {
    let known = ctx.sessions.close(request.session_id);
    if known {
        tracing::info!(session.id = %request.session_id, "log session closed by the api");
    }
    LogsKeptAlive { known }
}

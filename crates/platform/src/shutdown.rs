//! Graceful shutdown: one token every task watches.

use tokio_util::sync::CancellationToken;

/// A cancellation token tripped once, by a signal or by the caller. Cloning shares it.
pub type Shutdown = CancellationToken;

/// A token that trips on Ctrl-C (SIGINT) or SIGTERM.
pub fn on_signals() -> Shutdown {
    let token = CancellationToken::new();
    let trip = token.clone();
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .expect("install SIGTERM handler");
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
        tracing::info!("shutdown requested");
        trip.cancel();
    });
    token
}

//! The relay service: publishes the transactional outbox to JetStream.
//!
//! # Layout
//! - [`RelayArgs`]: its settings (`WARP_RELAY_*`).
//! - [`run`]: connects, applies the stream definition and runs [`warp_store::relay::Relay`]
//!   until shutdown. Start several: one is active, the others stand by and take over.

use std::time::Duration;

use warp_platform::{nats, Shutdown};
use warp_store::relay::{Relay, RelayConfig};

/// Relay settings.
#[derive(Debug, Clone, clap::Args)]
pub struct RelayArgs {
    /// Most outbox rows published per transaction.
    #[arg(long = "relay-batch", env = "WARP_RELAY_BATCH", default_value_t = 256)]
    pub batch_size: i64,
    /// Fallback poll interval in milliseconds (the relay normally wakes on NOTIFY).
    #[arg(long = "relay-poll-ms", env = "WARP_RELAY_POLL_MS", default_value_t = 2000)]
    pub poll_ms: u64,
}

impl RelayArgs {
    /// The relay tuning these settings give.
    pub fn config(&self) -> RelayConfig {
        RelayConfig {
            batch_size: self.batch_size.max(1),
            poll_interval: Duration::from_millis(self.poll_ms.max(10)),
            ..RelayConfig::default()
        }
    }
}

/// Runs the relay until `shutdown`.
pub async fn run(
    pool: sqlx::PgPool,
    client: async_nats::Client,
    names: warp_platform::NatsNames,
    args: &RelayArgs,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let js = async_nats::jetstream::new(client);
    // The relay owns the stream; each consumer service creates its own consumers.
    nats::ensure_stream(&js, &names, Duration::from_secs(60)).await?;
    Relay::new(pool, js, names, args.config()).run(shutdown).await
}

//! Settings every service shares, read from the environment (or flags, for the CLI).

use std::fmt;
use std::path::PathBuf;

use anyhow::Context;
use secrecy::SecretString;

use crate::nats_auth::NatsUser;

/// A database URL. Its `Debug`/`Display` hide the password so it can sit in logged structs.
#[derive(Clone)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// The URL to hand to the driver. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for DatabaseUrl {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for DatabaseUrl {
    /// Prints the URL with any `user:password@` part replaced by `***@`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.0.find("://"), self.0.rfind('@')) {
            (Some(scheme_end), Some(at)) if at > scheme_end => {
                write!(f, "{}***{}", &self.0[..scheme_end + 3], &self.0[at..])
            }
            _ => f.write_str(&self.0),
        }
    }
}

/// Postgres connection settings.
#[derive(Debug, Clone, clap::Args)]
pub struct DatabaseArgs {
    /// Postgres URL of the event store and projections.
    #[arg(long = "database-url", env = "WARP_DATABASE_URL", value_parser = parse_database_url)]
    pub database_url: Option<DatabaseUrl>,
    /// Most connections the pool opens. `warp all` shares one pool among the API, the relay,
    /// the consumers and the job runners; 32 leaves room under Postgres' default
    /// `max_connections` (100) for a second process and operators' sessions.
    #[arg(long, env = "WARP_DATABASE_MAX_CONNECTIONS", default_value_t = 32)]
    pub database_max_connections: u32,
}

fn parse_database_url(raw: &str) -> Result<DatabaseUrl, String> {
    if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
        Ok(DatabaseUrl(raw.to_owned()))
    } else {
        Err("must start with postgres:// or postgresql://".to_owned())
    }
}

/// NATS connection settings and the names of the event stream.
#[derive(Debug, Clone, clap::Args)]
pub struct NatsArgs {
    /// NATS server URL (JetStream enabled, nats-server >= 2.10).
    #[arg(long = "nats-url", env = "WARP_NATS_URL", default_value = "nats://127.0.0.1:4222")]
    pub nats_url: String,
    /// JetStream stream holding every event.
    #[arg(long = "nats-stream", env = "WARP_NATS_STREAM", default_value = warp_events::subjects::EVENTS_STREAM)]
    pub stream: String,
    /// Subject prefix of the event stream.
    #[arg(long = "nats-subject-prefix", env = "WARP_NATS_SUBJECT_PREFIX", default_value = warp_events::subjects::EVENTS_SUBJECT_PREFIX)]
    pub subject_prefix: String,
    /// Folder holding this host's NATS user seeds, one `<user>.nk` file (mode 0600) per service
    /// the process runs (`api.nk`, `relay.nk`, `read-models.nk`, `docker.nk`, `cloudflare.nk`). Written by
    /// `warp nats-auth`; `make run` uses `.stack/nats/keys`.
    #[arg(long = "nats-keys-dir", env = "WARP_NATS_KEYS_DIR")]
    pub keys_dir: Option<PathBuf>,
}

impl NatsArgs {
    /// The stream names these settings select.
    pub fn names(&self) -> NatsNames {
        NatsNames { stream: self.stream.clone(), subject_prefix: self.subject_prefix.clone() }
    }

    /// The login of `user`: its seed read from the keys folder.
    ///
    /// # Errors
    /// When no keys folder is set, or it holds no valid seed for `user`.
    pub fn login(&self, user: NatsUser) -> anyhow::Result<NatsLogin> {
        let dir = self.keys_dir.as_deref().with_context(|| {
            format!(
                "WARP_NATS_KEYS_DIR is not set: every service connects to NATS as its own user, with the seed in <dir>/{}.nk (written by `warp nats-auth`)",
                user.name()
            )
        })?;
        Ok(NatsLogin { user, seed: crate::nats_auth::read_seed(dir, user)? })
    }

    /// Connects to the server as `user` (see [`crate::nats::connect`]).
    pub async fn connect(&self, user: NatsUser) -> anyhow::Result<async_nats::Client> {
        crate::nats::connect(&self.nats_url, &self.login(user)?).await
    }
}

/// How one service signs in to NATS: its user and that user's nkey seed. `Debug` never shows
/// the seed.
#[derive(Clone)]
pub struct NatsLogin {
    pub user: NatsUser,
    pub seed: SecretString,
}

impl fmt::Debug for NatsLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NatsLogin").field("user", &self.user).field("seed", &"[REDACTED]").finish()
    }
}

/// Which stream and subject prefix carry events. Production uses the defaults; each test uses
/// its own pair so tests sharing one NATS server never see each other's events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatsNames {
    pub stream: String,
    pub subject_prefix: String,
}

impl Default for NatsNames {
    fn default() -> Self {
        Self {
            stream: warp_events::subjects::EVENTS_STREAM.to_owned(),
            subject_prefix: warp_events::subjects::EVENTS_SUBJECT_PREFIX.to_owned(),
        }
    }
}

impl NatsNames {
    /// The wildcard covering every event subject: `<prefix>.>`.
    pub fn all_events(&self) -> String {
        format!("{}.>", self.subject_prefix)
    }

    /// The subject of one event.
    pub fn event_subject(&self, aggregate_type: &str, aggregate_id: &str, event_type: &str) -> String {
        warp_events::subjects::event_subject(&self.subject_prefix, aggregate_type, aggregate_id, event_type)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_url_display_hides_credentials() {
        let url = DatabaseUrl::from("postgres://warp:hunter2@db:5432/warp".to_owned());
        assert_eq!(url.to_string(), "postgres://***@db:5432/warp");
        assert!(!format!("{url:?}").contains("hunter2"));
    }
}

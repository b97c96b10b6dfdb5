//! Command line and environment settings.

use std::net::SocketAddr;

use clap::{Parser, Subcommand};
use warp_platform::telemetry::LogFormat;
use warp_platform::secret_key::SecretKeyArgs;
use warp_platform::{DatabaseArgs, NatsArgs};
use warp_relay::RelayArgs;

/// Warp Panel: a self-hosted deploy panel.
#[derive(Debug, Parser)]
#[command(name = "warp", version)]
pub struct Cli {
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(flatten)]
    pub nats: NatsArgs,
    #[command(flatten)]
    pub secret_key: SecretKeyArgs,
    #[command(flatten)]
    pub seed: crate::secrets::SeedArgs,
    /// Log line format.
    #[arg(long, env = "WARP_LOG_FORMAT", value_enum, default_value = "text", global = true)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

/// HTTP settings.
#[derive(Debug, Clone, clap::Args)]
pub struct ApiArgs {
    /// Address the API listens on.
    #[arg(long, env = "WARP_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// The Docker host whose docker service answers container reads.
    #[command(flatten)]
    pub docker: warp_docker::DockerHostArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP API.
    Api(ApiArgs),
    /// Run the outbox relay (one is active at a time; extra ones stand by).
    Relay(RelayArgs),
    /// Run the read-model service: the consumers that keep the audit trail (`audit_log`) and
    /// the projects read model (`projects`) from the event stream; or rebuild read models.
    ReadModels {
        #[command(subcommand)]
        action: Option<ReadModelAction>,
    },
    /// Audit trail operations.
    Audit {
        #[command(subcommand)]
        action: AuditAction,
    },
    /// Run the docker service: the only process that talks to the Docker Engine. With
    /// WARP_DATABASE_URL (and the secret key) it also runs this host's deploy jobs; without,
    /// it answers container reads and log streams only.
    Docker {
        #[command(flatten)]
        host: warp_docker::DockerHostArgs,
        #[command(flatten)]
        socket: warp_docker::DockerSocketArgs,
        #[command(flatten)]
        jobs: warp_docker::DockerJobArgs,
    },
    /// Run the cloudflare service: publishes each project at its subdomain through the
    /// Cloudflare Tunnel (consumer `cloudflare`, the publish/unpublish job runner).
    Cloudflare {
        /// The Docker host whose docker service restarts a cloudflared container.
        #[command(flatten)]
        host: warp_docker::DockerHostArgs,
        #[command(flatten)]
        args: warp_cloudflare::CloudflareArgs,
    },
    /// Run the github service: creates projects' repositories from templates and clones them
    /// (consumer `github`, the `create_from_template` job runner), and answers the API's
    /// repository listings (`warp.github.>`).
    Github {
        #[command(flatten)]
        args: warp_github::GithubArgs,
    },
    /// Run every service in one process.
    All {
        #[command(flatten)]
        api: ApiArgs,
        #[command(flatten)]
        relay: RelayArgs,
        #[command(flatten)]
        docker_socket: warp_docker::DockerSocketArgs,
        #[command(flatten)]
        jobs: warp_docker::DockerJobArgs,
        #[command(flatten)]
        cloudflare: warp_cloudflare::CloudflareArgs,
        #[command(flatten)]
        github: warp_github::GithubArgs,
    },
    /// Apply database migrations and JetStream definitions, then exit. The stream is applied
    /// as the relay's NATS user, each consumer as its owner's (users whose key is missing here
    /// are skipped: their service creates its consumers when it starts).
    Migrate,
    /// Write the nats-server authorization config (one nkey user per service, with its
    /// permissions) and create the missing user seeds in WARP_NATS_KEYS_DIR (mode 0600).
    /// Needs neither a database nor a running server.
    NatsAuth {
        /// Where to write the nats-server config (public keys and permissions only; include it
        /// from the server's config or pass it with `-c`).
        #[arg(long)]
        config_out: std::path::PathBuf,
        /// Replace every seed with a new one. Then reload the server (`nats-server --signal
        /// reload`, or SIGHUP) and restart the services.
        #[arg(long)]
        rotate: bool,
        /// The shared test server's variant: the same table over any stream and any
        /// `<token>.events` prefix (tests use names of their own), plus a `test` user that may
        /// do anything. Never for production.
        #[arg(long)]
        test_server: bool,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        action: TokenAction,
    },
    /// List dead letters (messages consumers gave up on), or re-drive them.
    DeadLetters {
        #[command(subcommand)]
        action: Option<DeadLetterAction>,
        /// Only this consumer's.
        #[arg(long)]
        consumer: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// Inspect outbox rows the relay can never publish, and retry or skip them.
    Outbox {
        #[command(subcommand)]
        action: OutboxAction,
    },
    /// Manage the encryption of secrets at rest.
    Secrets {
        #[command(subcommand)]
        action: crate::secrets::SecretsAction,
    },
    /// Write the generated JSON Schema of events and the OpenAPI document into `schema/`.
    Schema {
        /// Folder to write into.
        #[arg(long, default_value = "schema")]
        out: std::path::PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditAction {
    /// Replay the event store into a fresh audit table and swap it in; prints the replay rate.
    Rebuild,
}

#[derive(Debug, Subcommand)]
pub enum DeadLetterAction {
    /// Apply each dead letter's event again through its consumer's handler (inbox rules, in
    /// stream order); applied ones are removed, failing ones stay with their new error.
    Retry {
        /// Only this consumer's (`audit`, `projections`); default: every consumer's.
        #[arg(long)]
        consumer: Option<String>,
        /// Only the dead letter with this id.
        #[arg(long)]
        id: Option<i64>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ReadModelAction {
    /// Replay the event store into fresh read-model tables and swap them in.
    Rebuild {
        /// Only this read model (`projects` or `jobs`); default: every one.
        #[arg(long)]
        only: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum OutboxAction {
    /// List stuck rows: events that can never be published as they are.
    Stuck,
    /// Let the relay try stuck rows again (e.g. after raising NATS' max_payload).
    Retry {
        /// Only this outbox row; default: every stuck row.
        #[arg(long)]
        id: Option<i64>,
    },
    /// Never publish this stuck row; its aggregate's later events go on. Consumers then see a
    /// gap: run `warp read-models rebuild` and `warp audit rebuild` afterwards.
    Skip {
        /// The outbox row (from `warp outbox stuck`).
        #[arg(long)]
        id: i64,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenAction {
    /// Create a token and print it once (only its hash is stored).
    Create {
        /// GitHub login the token acts as.
        #[arg(long)]
        login: String,
        /// A label to recognise the token by.
        #[arg(long, default_value = "cli")]
        name: String,
        /// Give the token operator rights (audit rebuild, dead letters, every token).
        #[arg(long)]
        admin: bool,
    },
    /// List tokens (never their secrets).
    List {
        /// Only this login's.
        #[arg(long)]
        login: Option<String>,
    },
    /// Revoke a token by id.
    Revoke { id: uuid::Uuid },
}

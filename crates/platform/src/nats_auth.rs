//! Who may do what on NATS: one user per service, each authenticated with an nkey, each
//! allowed only its own subjects.
//!
//! An nkey is an Ed25519 key pair (NATS "nkeys", <https://docs.nats.io/running-a-nats-service/configuration/securing_nats/auth_intro/nkey_auth>):
//! the server's config holds only public keys (`U…`), each service holds its seed (`SU…`) in
//! `<keys dir>/<user>.nk` (mode 0600) and signs the server's nonce with it, so no shared
//! secret is stored on the server. [`server_config`] renders the `authorization` block of a
//! nats-server config from [`NatsUser::permissions`]; `warp nats-auth` writes it and creates
//! missing seeds.
//!
//! Subject rules (NATS authorization, <https://docs.nats.io/running-a-nats-service/configuration/securing_nats/authorization>):
//! `*` matches one token, `>` the rest; `allow_responses` lets a user publish only to the reply
//! subject of a request it received. Every user has its own inbox prefix
//! (`_INBOX.<user>`, set by [`crate::nats::connect`]) so no service can read another's replies.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};
use warp_events::subjects::{
    CONTAINER_LOGS_PREFIX, DOCKER_CONNECT_NETWORK, DOCKER_CONTAINER_INFO, DOCKER_REQUEST_PREFIX, DOCKER_RESTART_CONTAINER,
    GITHUB_REQUEST_PREFIX, JOB_LOGS_PREFIX,
};

use crate::NatsNames;

/// A NATS user: one per service, plus `test` (everything; only on the test stack's server).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum NatsUser {
    /// The HTTP API: asks the docker services, reads live logs and the event stream.
    Api,
    /// The outbox relay: the only publisher of events; owns the event stream.
    Relay,
    /// The read-model service: consumers `audit` and `projections`.
    ReadModels,
    /// A docker service: answers `warp.docker.>`, publishes container and job logs, consumer
    /// `docker-jobs`.
    Docker,
    /// The cloudflare service: consumer `cloudflare`, publishes its jobs' logs, asks docker
    /// services for three actions only (container info, connect a network, restart a
    /// container: the cloudflared container).
    Cloudflare,
    /// The github service: answers `warp.github.>` (the API's repository listing), publishes
    /// its jobs' logs, consumer `github`.
    Github,
    /// Tests only: may publish and subscribe everything. Never in a production config.
    Test,
}

/// The users a production server knows (every service, not [`NatsUser::Test`]).
pub const SERVICE_USERS: [NatsUser; 6] =
    [NatsUser::Api, NatsUser::Relay, NatsUser::ReadModels, NatsUser::Docker, NatsUser::Cloudflare, NatsUser::Github];

/// What one user may publish and subscribe to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Permissions {
    pub publish_allow: Vec<String>,
    pub publish_deny: Vec<String>,
    pub subscribe_allow: Vec<String>,
    /// May publish to the reply subject of a request it received (request-reply services).
    pub allow_responses: bool,
}

/// The stream and subject prefix that permissions are written for. [`NatsScope::exact`] for a
/// production server; [`NatsScope::test_server`] for the shared test server, where each test
/// uses a stream `T_<id>` and a prefix `t<id>.events` of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatsScope {
    /// Stream name, or `*` for any.
    pub stream: String,
    /// Event subject prefix; may hold `*` tokens.
    pub subject_prefix: String,
}

impl NatsScope {
    /// Exactly the configured stream and prefix.
    pub fn exact(names: &NatsNames) -> Self {
        Self { stream: names.stream.clone(), subject_prefix: names.subject_prefix.clone() }
    }

    /// Any stream, and any prefix `<one token>.events` (covers `warp.events` and every test's
    /// `t<id>.events`): the same table, widened only over the names tests vary.
    pub fn test_server() -> Self {
        Self { stream: "*".into(), subject_prefix: "*.events".into() }
    }
}

impl NatsUser {
    /// The user's name: the seed file's stem and the client name's suffix.
    pub fn name(self) -> &'static str {
        match self {
            NatsUser::Api => "api",
            NatsUser::Relay => "relay",
            NatsUser::ReadModels => "read-models",
            NatsUser::Docker => "docker",
            NatsUser::Cloudflare => "cloudflare",
            NatsUser::Github => "github",
            NatsUser::Test => "test",
        }
    }

    /// Prefix of this user's reply inboxes: `_INBOX.<user>`.
    pub fn inbox_prefix(self) -> String {
        format!("_INBOX.{}", self.name())
    }

    /// The durable consumers (`nats/consumers/<name>.json`) this user reads and creates.
    pub fn consumers(self) -> &'static [&'static str] {
        match self {
            NatsUser::ReadModels => &["audit", "projections"],
            NatsUser::Docker => &["docker-jobs"],
            NatsUser::Cloudflare => &["cloudflare"],
            NatsUser::Github => &["github"],
            NatsUser::Api | NatsUser::Relay | NatsUser::Test => &[],
        }
    }

    /// Every durable consumer, whoever owns it.
    fn all_consumers() -> impl Iterator<Item = &'static str> {
        SERVICE_USERS.into_iter().flat_map(|user| user.consumers().iter().copied())
    }

    /// What this user may do on `scope`'s stream. JetStream API subjects
    /// (<https://docs.nats.io/reference/reference-protocols/nats_api_reference>) are scoped to
    /// the stream and to the user's own consumers.
    pub fn permissions(self, scope: &NatsScope) -> Permissions {
        let (s, prefix) = (&scope.stream, &scope.subject_prefix);
        let mut p = Permissions { subscribe_allow: vec![format!("{}.>", self.inbox_prefix())], ..Permissions::default() };
        for durable in self.consumers() {
            p.publish_allow.extend([
                format!("$JS.API.CONSUMER.CREATE.{s}.{durable}"),
                format!("$JS.API.CONSUMER.CREATE.{s}.{durable}.>"),
                format!("$JS.API.CONSUMER.INFO.{s}.{durable}"),
                format!("$JS.API.CONSUMER.MSG.NEXT.{s}.{durable}"),
                format!("$JS.ACK.{s}.{durable}.>"),
            ]);
        }
        match self {
            NatsUser::Relay => p.publish_allow.extend([
                format!("{prefix}.>"),
                format!("$JS.API.STREAM.CREATE.{s}"),
                format!("$JS.API.STREAM.UPDATE.{s}"),
                format!("$JS.API.STREAM.INFO.{s}"),
            ]),
            NatsUser::ReadModels => p.publish_allow.push(format!("$JS.API.STREAM.INFO.{s}")),
            NatsUser::Docker => {
                p.publish_allow.extend([
                    format!("$JS.API.STREAM.INFO.{s}"),
                    format!("{CONTAINER_LOGS_PREFIX}.>"),
                    format!("{JOB_LOGS_PREFIX}.>"),
                ]);
                p.subscribe_allow.push(format!("{DOCKER_REQUEST_PREFIX}.>"));
                p.allow_responses = true;
            }
            NatsUser::Cloudflare => {
                p.publish_allow.extend([format!("$JS.API.STREAM.INFO.{s}"), format!("{JOB_LOGS_PREFIX}.>")]);
                p.publish_allow.extend(
                    [DOCKER_CONTAINER_INFO, DOCKER_CONNECT_NETWORK, DOCKER_RESTART_CONTAINER]
                        .map(|action| format!("{DOCKER_REQUEST_PREFIX}.*.{action}")),
                );
            }
            NatsUser::Github => {
                p.publish_allow.extend([format!("$JS.API.STREAM.INFO.{s}"), format!("{JOB_LOGS_PREFIX}.>")]);
                p.subscribe_allow.push(format!("{GITHUB_REQUEST_PREFIX}.>"));
                p.allow_responses = true;
            }
            NatsUser::Api => {
                // Requests to docker services and the github service; the event feed through ephemeral ordered
                // consumers (created without a name, so never a durable: the server refuses a
                // durable name on `CONSUMER.CREATE.<stream>`), which may not read or ack the
                // durables.
                p.publish_allow.extend([
                    format!("{DOCKER_REQUEST_PREFIX}.>"),
                    format!("{GITHUB_REQUEST_PREFIX}.>"),
                    format!("$JS.API.STREAM.INFO.{s}"),
                    format!("$JS.API.CONSUMER.CREATE.{s}"),
                    format!("$JS.API.CONSUMER.INFO.{s}.*"),
                    format!("$JS.API.CONSUMER.MSG.NEXT.{s}.*"),
                ]);
                p.publish_deny.extend(Self::all_consumers().flat_map(|durable| {
                    [format!("$JS.API.CONSUMER.MSG.NEXT.{s}.{durable}"), format!("$JS.API.CONSUMER.INFO.{s}.{durable}")]
                }));
                p.subscribe_allow.push("warp.logs.>".to_owned());
            }
            NatsUser::Test => {
                p.publish_allow = vec![">".into()];
                p.subscribe_allow = vec![">".into()];
            }
        }
        p
    }
}

/// The `authorization` block of a nats-server config: one `nkey` user per entry of `users`
/// (user and public key), with [`NatsUser::permissions`] on `scope`. No `no_auth_user`: a
/// client without a known key is refused.
pub fn server_config(users: &[(NatsUser, String)], scope: &NatsScope) -> String {
    let list = |items: &[String]| items.iter().map(|s| format!("\"{s}\"")).collect::<Vec<_>>().join(", ");
    let mut out = String::from(
        "# Written by `warp nats-auth`; edits are lost. One nkey user per Warp service\n\
         # (public keys only; each service holds its seed). See docs/ARCHITECTURE.md, NATS security.\n\
         authorization {\n  users = [\n",
    );
    for (user, public_key) in users {
        let p = user.permissions(scope);
        out.push_str(&format!("    # {}\n    {{\n      nkey: \"{public_key}\"\n      permissions: {{\n", user.name()));
        out.push_str(&format!("        publish: {{ allow: [{}]", list(&p.publish_allow)));
        if !p.publish_deny.is_empty() {
            out.push_str(&format!(", deny: [{}]", list(&p.publish_deny)));
        }
        out.push_str(" }\n");
        out.push_str(&format!("        subscribe: {{ allow: [{}] }}\n", list(&p.subscribe_allow)));
        if p.allow_responses {
            out.push_str("        allow_responses: true\n");
        }
        out.push_str("      }\n    }\n");
    }
    out.push_str("  ]\n}\n");
    out
}

/// The seed file of `user` under `dir`: `<dir>/<user>.nk`.
pub fn seed_path(dir: &Path, user: NatsUser) -> PathBuf {
    dir.join(format!("{}.nk", user.name()))
}

/// Reads `user`'s seed from `dir`.
///
/// # Errors
/// When the file is missing or unreadable, or holds no valid user seed; the error names the
/// path, never the content.
pub fn read_seed(dir: &Path, user: NatsUser) -> anyhow::Result<SecretString> {
    let path = seed_path(dir, user);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading the NATS key of user {} from {}", user.name(), path.display()))?;
    let seed = SecretString::from(text.trim().to_owned());
    public_key(&seed).with_context(|| format!("{} does not hold a NATS user seed (SU…)", path.display()))?;
    Ok(seed)
}

/// Reads `user`'s seed from `dir`, or creates one (folder 0700, file 0600) when there is none.
/// With `rotate`, always writes a fresh seed.
pub fn ensure_seed(dir: &Path, user: NatsUser, rotate: bool) -> anyhow::Result<SecretString> {
    let path = seed_path(dir, user);
    if !rotate && path.exists() {
        return read_seed(dir, user);
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .with_context(|| format!("making {} private", dir.display()))?;
    let seed = SecretString::from(nkeys::KeyPair::new_user().seed().context("encoding a new nkey seed")?);
    let tmp = dir.join(format!(".{}.nk.tmp", user.name()));
    let _ = std::fs::remove_file(&tmp);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("creating {}", tmp.display()))?;
    file.write_all(format!("{}\n", seed.expose_secret()).as_bytes()).with_context(|| format!("writing {}", tmp.display()))?;
    file.sync_all()?;
    std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))?;
    Ok(seed)
}

/// The public key (`U…`) of a user seed.
///
/// # Errors
/// When `seed` is not a valid nkey seed (the error does not repeat it).
pub fn public_key(seed: &SecretString) -> anyhow::Result<String> {
    let pair = nkeys::KeyPair::from_seed(seed.expose_secret()).map_err(|_| anyhow::anyhow!("not a valid nkey seed"))?;
    anyhow::ensure!(pair.public_key().starts_with('U'), "not a user seed");
    Ok(pair.public_key())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn production() -> NatsScope {
        NatsScope::exact(&NatsNames::default())
    }

    #[test]
    fn only_the_relay_may_publish_events() {
        for user in SERVICE_USERS {
            let p = user.permissions(&production());
            let publishes_events = p.publish_allow.iter().any(|s| s.starts_with("warp.events") || s == ">");
            assert_eq!(publishes_events, user == NatsUser::Relay, "{user:?}: {:?}", p.publish_allow);
        }
    }

    #[test]
    fn only_the_docker_service_may_subscribe_to_docker_requests_and_answer() {
        for user in SERVICE_USERS {
            let p = user.permissions(&production());
            let answers = p.subscribe_allow.iter().any(|s| s.starts_with("warp.docker") || s == ">");
            assert_eq!(answers, user == NatsUser::Docker, "{user:?}");
            assert_eq!(p.allow_responses, matches!(user, NatsUser::Docker | NatsUser::Github), "{user:?}");
        }
    }

    #[test]
    fn only_the_github_service_answers_github_requests_and_it_asks_nobody() {
        for user in SERVICE_USERS {
            let p = user.permissions(&production());
            let answers = p.subscribe_allow.iter().any(|s| s.starts_with("warp.github") || s == ">");
            assert_eq!(answers, user == NatsUser::Github, "{user:?}");
        }
        let github = NatsUser::Github.permissions(&production());
        assert_eq!(
            github.publish_allow,
            [
                "$JS.API.CONSUMER.CREATE.WARP_EVENTS.github",
                "$JS.API.CONSUMER.CREATE.WARP_EVENTS.github.>",
                "$JS.API.CONSUMER.INFO.WARP_EVENTS.github",
                "$JS.API.CONSUMER.MSG.NEXT.WARP_EVENTS.github",
                "$JS.ACK.WARP_EVENTS.github.>",
                "$JS.API.STREAM.INFO.WARP_EVENTS",
                "warp.logs.job.>",
            ]
        );
        assert_eq!(github.subscribe_allow, ["_INBOX.github.>", "warp.github.>"]);
        let api = NatsUser::Api.permissions(&production());
        assert!(api.publish_allow.contains(&"warp.github.>".to_owned()));
        assert!(api.publish_deny.contains(&"$JS.API.CONSUMER.MSG.NEXT.WARP_EVENTS.github".to_owned()));
    }

    #[test]
    fn consumers_are_reachable_only_by_their_owner() {
        let p = NatsUser::ReadModels.permissions(&production());
        assert!(p.publish_allow.contains(&"$JS.API.CONSUMER.MSG.NEXT.WARP_EVENTS.audit".to_owned()));
        assert!(p.publish_allow.contains(&"$JS.ACK.WARP_EVENTS.projections.>".to_owned()));
        assert!(!p.publish_allow.iter().any(|s| s.contains("docker-jobs")));
        let api = NatsUser::Api.permissions(&production());
        assert!(api.publish_deny.contains(&"$JS.API.CONSUMER.MSG.NEXT.WARP_EVENTS.docker-jobs".to_owned()));
        assert!(!api.publish_allow.iter().any(|s| s.starts_with("$JS.ACK")));
    }

    #[test]
    fn the_cloudflare_service_may_ask_docker_services_only_for_its_three_actions() {
        let p = NatsUser::Cloudflare.permissions(&production());
        let docker: Vec<_> = p.publish_allow.iter().filter(|s| s.starts_with("warp.docker")).collect();
        assert_eq!(docker, ["warp.docker.*.container_info", "warp.docker.*.connect_network", "warp.docker.*.restart_container"]);
        assert!(p.publish_allow.contains(&"$JS.API.CONSUMER.MSG.NEXT.WARP_EVENTS.cloudflare".to_owned()));
    }

    #[test]
    fn a_seed_never_shows_in_debug_output_or_errors() {
        let dir = std::env::temp_dir().join(format!("warp-nk-canary-{}", std::process::id()));
        let seed = ensure_seed(&dir, NatsUser::Api, false).unwrap();
        let login = crate::NatsLogin { user: NatsUser::Api, seed: seed.clone() };
        assert!(!format!("{login:?}").contains(seed.expose_secret()));
        // A file that holds something else than a seed: the error names the file, not the text.
        let canary = "SUcanary-not-a-seed-4242";
        std::fs::write(seed_path(&dir, NatsUser::Api), canary).unwrap();
        let error = format!("{:#}", read_seed(&dir, NatsUser::Api).unwrap_err());
        assert!(error.contains("api.nk") && !error.contains(canary), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_server_config_lists_public_keys_and_no_seed() {
        let dir = std::env::temp_dir().join(format!("warp-nk-{}", std::process::id()));
        let seed = ensure_seed(&dir, NatsUser::Relay, false).unwrap();
        let mode = std::fs::metadata(seed_path(&dir, NatsUser::Relay)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(read_seed(&dir, NatsUser::Relay).unwrap().expose_secret(), seed.expose_secret());
        let key = public_key(&seed).unwrap();
        let config = server_config(&[(NatsUser::Relay, key.clone())], &production());
        assert!(config.contains(&key) && !config.contains(seed.expose_secret()), "{config}");
        assert!(config.contains("\"warp.events.>\""), "{config}");
        let rotated = ensure_seed(&dir, NatsUser::Relay, true).unwrap();
        assert_ne!(rotated.expose_secret(), seed.expose_secret());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

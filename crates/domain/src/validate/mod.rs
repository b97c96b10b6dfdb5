//! The validation layer: raw strings become domain types here, or a [`ValidationError`] that
//! names the field and says what is wrong. Every entry point (HTTP handlers, settings seeded
//! from the environment, the CLI, consumers) parses through these types before a command is
//! built or a process is started.
//!
//! Rules are deliberately narrow (allow-lists of characters, bounded lengths) because values
//! travel on to compose project names, hostnames, git arguments and file paths. One module per
//! rule family:
//! - [`names`]: project names, subdomains, descriptions, GitHub logins.
//! - [`hostname`]: hostnames and the base domain (RFC 1123).
//! - [`port`]: ports 1-65535.
//! - [`git`]: git remote URLs (https, ssh, scp-like) and ref names (git check-ref-format).
//! - [`path`]: absolute and relative paths, and resolving under a root without symlink escape.
//! - [`env`]: environment variable names.
//! - [`container`]: Docker container names and ids, compose project names.
//! - [`github`]: repository slugs; [`url`]: API base URLs; [`cloudflare`]: Cloudflare ids.
//! - [`login`]: GitHub login: allowlist entries (ids or logins), the OAuth client id, the
//!   panel's public URL, `return_to` paths (no open redirects).
//! - [`secret`]: API tokens (shape only; never printed).
//! - [`service_url`]: where a route sends traffic (cloudflared's service rules).

pub mod cloudflare;
pub mod container;
pub mod env;
pub mod git;
pub mod github;
pub mod hostname;
pub mod login;
mod names;
pub mod path;
pub mod port;
pub mod secret;
pub mod service_url;
pub mod url;

pub use cloudflare::{CloudflareId, TunnelId, TunnelName};
pub use container::{ComposeProjectName, ContainerId, ContainerName};
pub use env::EnvVarName;
pub use git::{GitRef, GitUrl};
pub use github::{RepoName, RepoSlug};
pub use hostname::{Hostname, IngressHostname};
pub use login::{GithubUserRef, OauthClientId, PublicUrl, ReturnPath};
pub use names::{Description, GithubLogin, ProjectName, Subdomain};
pub use path::{resolve_under, AbsolutePath, RelativePath};
pub use port::Port;
pub use secret::ApiToken;
pub use service_url::ServiceUrl;
pub use url::ApiBaseUrl;

/// A value that failed validation: `field` is the JSON field name as the client sent it,
/// `message` says what is wrong in words a user can act on. Messages never repeat the rejected
/// value, so they are safe to log and to return.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    pub field: String,
    pub message: String,
}

impl ValidationError {
    /// An error for `field` with `message`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }

    /// The same error reported under another field name (e.g. when a type is reused).
    pub fn for_field(mut self, field: impl Into<String>) -> Self {
        self.field = field.into();
        self
    }
}

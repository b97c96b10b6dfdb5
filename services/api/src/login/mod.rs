//! GitHub login and server-side sessions (the parts the `/auth` routes and the auth
//! middleware share).
//!
//! # Layout
//! - [`github`]: the OAuth web flow with PKCE and the REST calls made with the user's token.
//! - [`cookies`]: cookie names, reading them, `Set-Cookie` values.
//! - [`session`]: checking a presented session (timeouts, allowlist, membership re-check) and
//!   ending one (with its `SessionEnded` event).
//! - [`csrf`]: the cross-site request forgery rule for cookie-authenticated requests.

pub mod cookies;
pub mod csrf;
pub mod github;
pub mod session;

use std::time::Duration;

use secrecy::SecretString;
use warp_domain::session::Allowlist;
use warp_domain::validate::PublicUrl;
use warp_events::SecretName;
use warp_store::settings::CurrentSettings;

use crate::error::ApiError;

/// Tunables of login that are not runtime settings (tests shorten them).
#[derive(Debug, Clone)]
pub struct LoginOptions {
    /// How long a `GET /auth/login` state stays valid: 10 minutes.
    pub state_ttl: Duration,
    /// How often a live session admitted through an org is re-checked with GitHub (at its
    /// next request or stream check): 5 minutes.
    pub recheck_every: Duration,
    /// Longest wait for one GitHub call: 10 s.
    pub github_timeout: Duration,
}

impl Default for LoginOptions {
    fn default() -> Self {
        Self { state_ttl: Duration::from_secs(600), recheck_every: Duration::from_secs(300), github_timeout: Duration::from_secs(10) }
    }
}

/// What the login flow needs from the settings; only built when login is configured.
#[derive(Debug, Clone)]
pub struct LoginConfig {
    pub client_id: String,
    /// The OAuth app's client secret. Send it only to GitHub's token endpoint.
    pub client_secret: SecretString,
    /// `github_web_url` (authorize and token endpoints).
    pub web_url: String,
    /// `github_api_url` (`/user`, org memberships).
    pub api_url: String,
    pub public_url: PublicUrl,
    pub absolute_seconds: u32,
    pub allowlist: Allowlist,
}

impl LoginConfig {
    /// The login configuration of `current`.
    ///
    /// # Errors
    /// 503 `unavailable` naming the missing settings when `github_client_id`,
    /// `github_client_secret` or `public_url` is not set.
    pub fn of(current: &CurrentSettings) -> Result<Self, ApiError> {
        let v = &current.values;
        let secret = current.secrets.get(&SecretName::GithubClientSecret);
        let public_url = v.public_url.as_deref().and_then(|u| PublicUrl::parse("public_url", u).ok());
        let missing: Vec<&str> = [
            (v.github_client_id.is_none(), "github_client_id"),
            (secret.is_none(), "github_client_secret"),
            (public_url.is_none(), "public_url"),
        ]
        .into_iter()
        .filter_map(|(missing, name)| missing.then_some(name))
        .collect();
        let (Some(client_id), Some(secret), Some(public_url)) = (v.github_client_id.clone(), secret, public_url) else {
            return Err(ApiError::Unavailable(format!(
                "GitHub login is not configured: an admin must set {} (PUT /api/settings)",
                missing.join(", ")
            )));
        };
        Ok(Self {
            client_id,
            client_secret: secret.value.clone(),
            web_url: v.github_web_url.clone(),
            api_url: v.github_api_url.clone(),
            public_url,
            absolute_seconds: v.session_absolute_seconds,
            allowlist: Allowlist::of(v),
        })
    }

    /// `<public_url>/auth/callback`: the OAuth app's callback URL.
    pub fn callback_url(&self) -> String {
        format!("{}/auth/callback", self.public_url.as_str())
    }
}

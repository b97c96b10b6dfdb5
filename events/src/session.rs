//! Events of the `Session` aggregate: GitHub logins (aggregate type `session`, one aggregate
//! per login attempt that reached GitHub, id a UUIDv7).
//!
//! An attempt either ends in [`SessionEvent::LoginRefused`] (its only event) or starts a
//! session ([`SessionEvent::SessionStarted`]) that later ends ([`SessionEvent::SessionEnded`]).
//! No event carries a secret: the session cookie, the OAuth client secret and the user's GitHub
//! token stay in the API (the cookie only as a SHA-256 hash, the GitHub token sealed).

use chrono::{DateTime, Utc};
use cqrs_es::DomainEvent;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Aggregate type under which session events are stored and published.
pub const AGGREGATE_TYPE: &str = "session";

/// Why a login was admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AdmittedBy {
    /// The user's id or login is in `allowed_users`.
    AllowedUser,
    /// The user's id or login is in `admins`.
    Admin,
    /// The user is an active member of an org in `allowed_orgs` (checked with their token).
    OrgMember,
}

/// Why a login was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RefusalReason {
    /// The user is in no allowlist (users, admins, or an allowed org's active members).
    NotAllowlisted,
    /// GitHub refused the code exchange (e.g. `bad_verification_code`: wrong or reused code,
    /// or a PKCE verifier that does not match).
    CodeRejected,
    /// The user cancelled on GitHub (`error=access_denied` on the callback).
    DeniedOnGithub,
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// `POST /auth/logout`.
    Logout,
    /// No request for longer than the idle timeout.
    IdleTimeout,
    /// Older than the absolute timeout.
    AbsoluteTimeout,
    /// The user left every allowlist (settings changed, removed from the org, or the GitHub
    /// token no longer works).
    AccessRevoked,
}

/// Every fact about a login. Serialised externally tagged, e.g.
/// `{"SessionEnded":{"reason":"logout"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum SessionEvent {
    /// A GitHub user was admitted and a session started.
    SessionStarted {
        /// Numeric GitHub user id.
        github_user_id: u64,
        /// GitHub login at the time of login.
        login: String,
        /// `admin` or `member`.
        role: String,
        /// Which rule admitted the user.
        admitted_by: AdmittedBy,
        /// The org whose membership admitted the user (for `org_member`).
        org: Option<String>,
        /// When the session ends at the latest (absolute timeout).
        expires_at: DateTime<Utc>,
    },
    /// A login was refused; no session exists.
    LoginRefused {
        /// Numeric GitHub user id, when GitHub said who it was.
        github_user_id: Option<u64>,
        /// GitHub login, when GitHub said who it was.
        login: Option<String>,
        reason: RefusalReason,
        /// What GitHub answered, when it refused (e.g. `bad_verification_code`).
        detail: Option<String>,
    },
    /// The session ended; its cookie no longer works.
    SessionEnded { reason: EndReason },
}

impl SessionEvent {
    /// Event type names, as stored in `events.event_type`, one per variant.
    pub const TYPES: [&'static str; 3] = ["SessionStarted", "LoginRefused", "SessionEnded"];
}

impl DomainEvent for SessionEvent {
    fn event_type(&self) -> String {
        let name = match self {
            SessionEvent::SessionStarted { .. } => "SessionStarted",
            SessionEvent::LoginRefused { .. } => "LoginRefused",
            SessionEvent::SessionEnded { .. } => "SessionEnded",
        };
        name.to_owned()
    }

    fn event_version(&self) -> String {
        "1.0".to_owned()
    }
}

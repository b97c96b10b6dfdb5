//! Messages between the API and the github service (`warp.github.<action>`, core NATS, not
//! the event stream). Every reply is a [`GithubReply`]: `{"ok":…}` or
//! `{"error":{"kind":…,"message":…,"reset_at":…}}`.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The answer to every github request: the result, or why there is none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum GithubReply<T> {
    Ok(T),
    Error(GithubFailure),
}

/// Why a github request failed. Messages never hold the token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct GithubFailure {
    pub kind: GithubFailureKind,
    /// A sentence for people.
    pub message: String,
    /// `rate_limited`: when GitHub's rate limit resets (`x-ratelimit-reset`).
    #[serde(default)]
    pub reset_at: Option<DateTime<Utc>>,
}

/// What kind of failure a [`GithubFailure`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum GithubFailureKind {
    /// No `github_token` is set, or GitHub refuses it (401).
    NotConfigured,
    /// GitHub's rate limit is used up (403/429 with `x-ratelimit-remaining: 0`).
    RateLimited,
    /// GitHub did not answer, or answered something unexpected.
    Unavailable,
    /// The request could not be read.
    BadRequest,
}

/// Request of `repos`: one page of the repositories the panel's token can see, whose full
/// name contains `q` (case-insensitive), sorted by full name (case-insensitive), after
/// `cursor` (a full name from `next_cursor`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RepoQuery {
    pub q: Option<String>,
    pub cursor: Option<String>,
    /// 1-500.
    pub limit: u32,
}

/// Reply of `repos`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, utoipa::ToSchema)]
pub struct RepoPage {
    pub items: Vec<RepoSummary>,
    /// The full name to pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
    /// How many repositories match `q` in all.
    pub total: usize,
    /// Whether the list came from the cache (the token's repositories are read from GitHub
    /// at most once per cache period, every page of them).
    pub cached: bool,
    /// When the list was read from GitHub.
    pub fetched_at: DateTime<Utc>,
    /// GitHub's rate limit after that read.
    pub rate_limit: RateLimitInfo,
}

/// One repository the token can see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, utoipa::ToSchema)]
pub struct RepoSummary {
    /// `owner/name`: what `deploy-existing` takes as `{"github":{"repo":…}}`.
    pub full_name: String,
    pub private: bool,
    pub html_url: String,
    pub default_branch: String,
    pub description: Option<String>,
    /// Whether it is a template repository.
    pub is_template: bool,
}

/// GitHub's rate limit headers (`x-ratelimit-limit`, `-remaining`, `-reset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, utoipa::ToSchema, Default)]
pub struct RateLimitInfo {
    pub limit: Option<u64>,
    pub remaining: Option<u64>,
    pub reset_at: Option<DateTime<Utc>>,
}

//! The GitHub REST API, as far as the panel uses it.
//!
//! [`GithubApi`] is what jobs and requests call; [`GithubClient`] implements it with octocrab
//! against `{github_api_url}` (`base_uri`; tests point it at the fake GitHub in
//! `warp-test-support`, and GitHub Enterprise's `/api/v3` works the same way).
//!
//! Endpoints (GitHub REST, `Accept: application/vnd.github+json`):
//! - `POST /repos/{template_owner}/{template_repo}/generate` with
//!   `{"owner","name","private","include_all_branches":false}` ("Create a repository using a
//!   template"): 201 with the new repository; 422 `Validation Failed` when the name exists on
//!   that account (`errors[].message` "Name already exists on this account"); 404 when the
//!   template is unknown, invisible to the token, or not a template.
//! - `GET /repos/{owner}/{repo}`: 200 with the repository, 404.
//! - `GET /user/repos?per_page=&page=`: one page of the repositories the token can see; the
//!   next page is the `Link` header's `rel="next"`.
//!
//! - `GET /repos/{owner}/{repo}/hooks`, `POST /repos/{owner}/{repo}/hooks`,
//!   `PATCH /repos/{owner}/{repo}/hooks/{hook_id}` ("REST API endpoints for repository
//!   webhooks"): the repository's webhooks; all need admin rights on the repository (404 or 403
//!   without them); a create answers 422 "Hook already exists on this repository" when a hook
//!   with that URL exists. GitHub shows a hook's secret only as `********`.
//!
//! Every answer's `x-ratelimit-remaining` / `x-ratelimit-reset` (UTC epoch seconds) are read
//! ([`RateLimit`]); a 403 or 429 with `x-ratelimit-remaining: 0` (or with `retry-after`) is
//! [`GithubError::RateLimited`]. The token goes only to the configured base URL as
//! `Authorization: Bearer …`, redirects are not followed, and it is never part of an error.

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use http::HeaderMap;
use http_body_util::BodyExt as _;
use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};
use warp_domain::validate::RepoSlug;

/// A repository as the panel uses it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Repo {
    /// `owner/name`.
    pub full_name: String,
    pub private: bool,
    /// The repository's page.
    pub html_url: String,
    /// The https clone URL (`https://github.com/owner/name.git`).
    pub clone_url: String,
    pub default_branch: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Whether it is a template repository.
    #[serde(default)]
    pub is_template: bool,
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
}

/// GitHub's rate limit as the last answer reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct RateLimit {
    /// `x-ratelimit-remaining`: requests left in the window.
    pub remaining: Option<u64>,
    /// `x-ratelimit-limit`: requests per window.
    pub limit: Option<u64>,
    /// `x-ratelimit-reset`: when the window resets.
    pub reset_at: Option<DateTime<Utc>>,
}

impl RateLimit {
    /// The rate limit headers of an answer.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let number = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok());
        Self {
            remaining: number("x-ratelimit-remaining"),
            limit: number("x-ratelimit-limit"),
            reset_at: number("x-ratelimit-reset").and_then(|s| DateTime::from_timestamp(i64::try_from(s).ok()?, 0)),
        }
    }
}

/// One page of `GET /user/repos`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReposPage {
    pub repos: Vec<Repo>,
    /// The page number of `Link: <…&page=N>; rel="next"`, `None` on the last page.
    pub next_page: Option<u32>,
    pub rate: RateLimit,
}

/// Why a GitHub call failed. Messages never hold the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GithubError {
    /// 422 on generate: a repository with that name exists on the owner's account.
    #[error("conflict: a repository named {0} already exists on GitHub")]
    NameExists(String),
    /// 404: unknown, invisible to the token, or (for generate) not a template.
    #[error("{0}")]
    NotFound(String),
    /// 422 on a webhook create: a hook with that URL exists on the repository.
    #[error("a webhook with that URL already exists on the repository")]
    HookExists,
    /// 401: GitHub does not accept the token.
    #[error("GitHub refused the token (401 Bad credentials); set github_token in the settings")]
    BadCredentials,
    /// 403/429 because the rate limit is used up; `reset_at` says when it resets.
    #[error("GitHub's rate limit is used up{}", .reset_at.map(|at| format!(" until {}", at.to_rfc3339())).unwrap_or_default())]
    RateLimited { reset_at: Option<DateTime<Utc>>, retry_after: Option<Duration> },
    /// Any other answer: status and GitHub's message.
    #[error("GitHub answered {status}: {message}")]
    Api { status: u16, message: String },
    /// GitHub could not be reached or its answer could not be read.
    #[error("GitHub could not be reached at {url}: {message}")]
    Unreachable { url: String, message: String },
}

/// A repository webhook as GitHub shows it (the fields the panel compares).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hook {
    pub id: u64,
    pub active: bool,
    pub events: Vec<String>,
    pub config: HookConfig,
}

/// A webhook's `config`. GitHub answers `secret` as `********` when one is set; the panel
/// sends the real one.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct HookConfig {
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub content_type: Option<String>,
    #[serde(default)]
    pub insecure_ssl: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl std::fmt::Debug for HookConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HookConfig")
            .field("url", &self.url)
            .field("content_type", &self.content_type)
            .field("insecure_ssl", &self.insecure_ssl)
            .field("secret_set", &self.secret.is_some())
            .finish()
    }
}

/// The body of a webhook create or update: `name` `web`, `config`, `events`, `active`.
#[derive(Clone, Serialize)]
pub struct HookRequest {
    pub name: &'static str,
    pub active: bool,
    pub events: Vec<String>,
    pub config: HookConfig,
}

/// What the panel asks of GitHub.
pub trait GithubApi: Send + Sync {
    /// The webhooks of `repo` (first page of 100: a repository holds at most 20 hooks per
    /// event).
    fn hooks<'a>(&'a self, repo: &'a RepoSlug) -> BoxFuture<'a, Result<Vec<Hook>, GithubError>>;

    /// Creates a webhook on `repo`. A hook with the same URL answers [`GithubError::HookExists`].
    fn create_hook<'a>(&'a self, repo: &'a RepoSlug, hook: &'a HookRequest) -> BoxFuture<'a, Result<Hook, GithubError>>;

    /// Replaces the settings of webhook `id` of `repo`.
    fn update_hook<'a>(&'a self, repo: &'a RepoSlug, id: u64, hook: &'a HookRequest) -> BoxFuture<'a, Result<Hook, GithubError>>;

    /// Creates `name` (owned by `owner`, or the token's user) from `template`, with only the
    /// template's default branch.
    fn generate<'a>(
        &'a self,
        template: &'a RepoSlug,
        owner: Option<&'a str>,
        name: &'a str,
        private: bool,
    ) -> BoxFuture<'a, Result<Repo, GithubError>>;

    /// The repository `repo`.
    fn repo<'a>(&'a self, repo: &'a RepoSlug) -> BoxFuture<'a, Result<Repo, GithubError>>;

    /// Page `page` (1-based) of the token's repositories, `per_page` (≤ 100) each.
    fn user_repos(&self, page: u32, per_page: u8) -> BoxFuture<'_, Result<ReposPage, GithubError>>;
}

/// [`GithubApi`] over octocrab.
pub struct GithubClient {
    crab: octocrab::Octocrab,
    api_url: String,
}

impl GithubClient {
    /// A client for `api_url` (e.g. `https://api.github.com`) sending `token`; calls time out
    /// after `timeout`.
    ///
    /// # Errors
    /// When `api_url` is not a URI octocrab accepts.
    pub fn new(api_url: &str, token: &SecretString, timeout: Duration) -> Result<Self, GithubError> {
        let unusable = |message: String| GithubError::Unreachable { url: api_url.to_owned(), message };
        let crab = octocrab::Octocrab::builder()
            .base_uri(api_url.trim_end_matches('/'))
            .map_err(|e| unusable(format!("not a usable API URL: {e}")))?
            .personal_token(token.expose_secret().to_owned())
            .set_connect_timeout(Some(timeout))
            .set_read_timeout(Some(timeout))
            .build()
            .map_err(|e| unusable(format!("building the client: {e}")))?;
        Ok(Self { crab, api_url: api_url.to_owned() })
    }

    fn unreachable(&self, error: impl std::fmt::Display) -> GithubError {
        GithubError::Unreachable { url: self.api_url.clone(), message: error.to_string() }
    }

    /// The error for a failed call; `what` names the resource for a 404.
    fn classify(&self, error: octocrab::Error, what: &str) -> GithubError {
        match error {
            octocrab::Error::GitHub { source, .. } => from_status(source.status_code.as_u16(), &source.message, source.headers.as_ref(), what),
            other => self.unreachable(other),
        }
    }
}

/// The error for an answer with `status` (not 2xx), GitHub's `message` and the headers.
fn from_status(status: u16, message: &str, headers: Option<&HeaderMap>, what: &str) -> GithubError {
    let rate = headers.map(RateLimit::from_headers).unwrap_or_default();
    let retry_after = headers
        .and_then(|h| h.get("retry-after"))
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    match status {
        401 => GithubError::BadCredentials,
        403 | 429 if rate.remaining == Some(0) || retry_after.is_some() || status == 429 => {
            GithubError::RateLimited { reset_at: rate.reset_at, retry_after }
        }
        404 => GithubError::NotFound(format!("{what} was not found on GitHub (or the token cannot see it)")),
        _ => GithubError::Api { status, message: message.chars().take(512).collect() },
    }
}

/// The page number of the `Link` header's `rel="next"` entry.
pub fn next_page(headers: &HeaderMap) -> Option<u32> {
    let link = headers.get(http::header::LINK)?.to_str().ok()?;
    link.split(',').find_map(|entry| {
        let (target, params) = entry.split_once(';')?;
        if !params.split(';').any(|p| p.trim() == "rel=\"next\"") {
            return None;
        }
        let target = target.trim().trim_start_matches('<').trim_end_matches('>');
        let url = url::Url::parse(target).ok()?;
        let page = url.query_pairs().find(|(k, _)| k == "page").map(|(_, v)| v.into_owned());
        page?.parse().ok()
    })
}

impl GithubApi for GithubClient {
    fn hooks<'a>(&'a self, repo: &'a RepoSlug) -> BoxFuture<'a, Result<Vec<Hook>, GithubError>> {
        Box::pin(async move {
            let route = format!("/repos/{}/{}/hooks?per_page=100", repo.owner(), repo.name());
            let what = format!("the webhooks of {}", repo.as_str());
            self.crab.get::<Vec<Hook>, _, ()>(route, None).await.map_err(|e| self.classify(e, &what))
        })
    }

    fn create_hook<'a>(&'a self, repo: &'a RepoSlug, hook: &'a HookRequest) -> BoxFuture<'a, Result<Hook, GithubError>> {
        Box::pin(async move {
            let route = format!("/repos/{}/{}/hooks", repo.owner(), repo.name());
            match self.crab.post::<_, Hook>(route, Some(hook)).await {
                Ok(created) => Ok(created),
                Err(octocrab::Error::GitHub { source, .. })
                    if source.status_code.as_u16() == 422
                        && source.errors.iter().flatten().any(|e| e.to_string().contains("already exists")) =>
                {
                    Err(GithubError::HookExists)
                }
                Err(error) => Err(self.classify(error, &format!("the webhooks of {}", repo.as_str()))),
            }
        })
    }

    fn update_hook<'a>(&'a self, repo: &'a RepoSlug, id: u64, hook: &'a HookRequest) -> BoxFuture<'a, Result<Hook, GithubError>> {
        Box::pin(async move {
            let route = format!("/repos/{}/{}/hooks/{id}", repo.owner(), repo.name());
            let what = format!("webhook {id} of {}", repo.as_str());
            self.crab.patch::<Hook, _, _>(route, Some(hook)).await.map_err(|e| self.classify(e, &what))
        })
    }

    fn generate<'a>(
        &'a self,
        template: &'a RepoSlug,
        owner: Option<&'a str>,
        name: &'a str,
        private: bool,
    ) -> BoxFuture<'a, Result<Repo, GithubError>> {
        Box::pin(async move {
            let repos = self.crab.repos(template.owner(), template.name());
            let mut request = repos.generate(name).private(private).include_all_branches(false);
            if let Some(owner) = owner {
                request = request.owner(owner);
            }
            // Without an owner GitHub uses the token's user: name it in a conflict.
            let owner_login = match owner {
                Some(owner) => owner.to_owned(),
                None => match self.crab.get::<serde_json::Value, _, ()>("/user", None).await {
                    Ok(user) => user.get("login").and_then(|l| l.as_str()).unwrap_or("the token's account").to_owned(),
                    Err(error) => return Err(self.classify(error, "the token's user")),
                },
            };
            let target = format!("{owner_login}/{name}");
            match request.send().await {
                Ok(repo) => from_model(repo).map_err(|e| self.unreachable(e)),
                Err(octocrab::Error::GitHub { source, .. }) if source.status_code.as_u16() == 422 => {
                    let exists = source
                        .errors
                        .iter()
                        .flatten()
                        .any(|e| e.to_string().to_ascii_lowercase().contains("already exists"))
                        || source.message.to_ascii_lowercase().contains("already exists");
                    if exists {
                        Err(GithubError::NameExists(target))
                    } else {
                        Err(GithubError::Api { status: 422, message: source.message.chars().take(512).collect() })
                    }
                }
                Err(error) => Err(self.classify(error, &format!("the template repository {}", template.as_str()))),
            }
        })
    }

    fn repo<'a>(&'a self, repo: &'a RepoSlug) -> BoxFuture<'a, Result<Repo, GithubError>> {
        Box::pin(async move {
            match self.crab.repos(repo.owner(), repo.name()).get().await {
                Ok(found) => from_model(found).map_err(|e| self.unreachable(e)),
                Err(error) => Err(self.classify(error, &format!("the repository {}", repo.as_str()))),
            }
        })
    }

    fn user_repos(&self, page: u32, per_page: u8) -> BoxFuture<'_, Result<ReposPage, GithubError>> {
        Box::pin(async move {
            let route = format!("/user/repos?per_page={}&page={page}&sort=full_name", per_page.clamp(1, 100));
            let response = self.crab._get(route.as_str()).await.map_err(|e| self.unreachable(e))?;
            let status = response.status();
            let headers = response.headers().clone();
            let body = response.into_body().collect().await.map_err(|e| self.unreachable(e))?.to_bytes();
            if !status.is_success() {
                let message = serde_json::from_slice::<serde_json::Value>(&body)
                    .ok()
                    .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_owned))
                    .unwrap_or_default();
                return Err(from_status(status.as_u16(), &message, Some(&headers), "the repository list"));
            }
            let repos: Vec<Repo> = serde_json::from_slice(&body).map_err(|e| self.unreachable(format!("unreadable repository list: {e}")))?;
            Ok(ReposPage { repos, next_page: next_page(&headers), rate: RateLimit::from_headers(&headers) })
        })
    }
}

/// The fields the panel uses of octocrab's repository model.
fn from_model(repo: octocrab::models::Repository) -> Result<Repo, String> {
    let full_name = repo.full_name.clone().ok_or("GitHub's answer names no full_name")?;
    Ok(Repo {
        private: repo.private.unwrap_or(false),
        html_url: repo.html_url.as_ref().map(ToString::to_string).unwrap_or_default(),
        clone_url: repo.clone_url.as_ref().map(ToString::to_string).ok_or("GitHub's answer names no clone_url")?,
        default_branch: repo.default_branch.clone().unwrap_or_else(|| "main".to_owned()),
        description: repo.description.clone(),
        is_template: repo.is_template.unwrap_or(false),
        updated_at: repo.updated_at,
        full_name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_page_comes_from_the_link_header() {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::LINK,
            "<https://api.github.com/user/repos?per_page=2&page=3>; rel=\"next\", <https://api.github.com/user/repos?per_page=2&page=5>; rel=\"last\""
                .parse()
                .unwrap(),
        );
        assert_eq!(next_page(&headers), Some(3));
        headers.insert(http::header::LINK, "<https://api.github.com/user/repos?page=1>; rel=\"prev\"".parse().unwrap());
        assert_eq!(next_page(&headers), None);
    }

    #[test]
    fn a_used_up_rate_limit_is_told_apart_from_a_refusal() {
        let mut headers = HeaderMap::new();
        headers.insert("x-ratelimit-remaining", "0".parse().unwrap());
        headers.insert("x-ratelimit-reset", "1800000000".parse().unwrap());
        let limited = from_status(403, "API rate limit exceeded", Some(&headers), "x");
        assert_eq!(limited, GithubError::RateLimited { reset_at: DateTime::from_timestamp(1_800_000_000, 0), retry_after: None });
        headers.insert("x-ratelimit-remaining", "12".parse().unwrap());
        assert!(matches!(from_status(403, "Resource not accessible", Some(&headers), "x"), GithubError::Api { status: 403, .. }));
    }
}

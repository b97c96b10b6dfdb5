//! `repos`: the repositories the panel's token can see (`GET /user/repos`, every page,
//! following `Link: rel="next"`), filtered by `q` and paged by full name for the API.
//!
//! The whole list is cached per token fingerprint and API URL for `list_cache_ttl` (30 s by
//! default), so paging through it and repeated searches cost GitHub one read per period. A
//! used-up rate limit is answered as `rate_limited` with GitHub's reset time; nothing is
//! cached then.

use std::time::Instant;

use chrono::{DateTime, Utc};
use warp_events::github::{GithubFailure, GithubFailureKind, RateLimitInfo, RepoPage, RepoQuery, RepoSummary};
use warp_events::settings::SecretName;

use super::failure;
use crate::client::{GithubError, Repo};
use crate::Services;

/// Most pages of 100 read for one listing (10,000 repositories).
const MAX_PAGES: u32 = 100;

/// One token's repositories as last read.
#[derive(Debug, Clone)]
pub struct CachedList {
    pub repos: Vec<Repo>,
    pub rate: RateLimitInfo,
    pub fetched_at: DateTime<Utc>,
    pub read_at: Instant,
}

/// Answers one `repos` request.
pub async fn handle(svc: &Services, query: RepoQuery) -> Result<RepoPage, GithubFailure> {
    let current = svc.current().await.map_err(|m| failure(GithubFailureKind::Unavailable, m))?;
    let fingerprint = current
        .secrets
        .get(&SecretName::GithubToken)
        .map(|s| s.fingerprint.clone())
        .ok_or_else(|| failure(GithubFailureKind::NotConfigured, "set github_token in the settings".into()))?;
    let key = format!("{}|{fingerprint}", current.values.github_api_url);
    let cached = svc.repo_cache.lock().unwrap().get(&key).filter(|c| c.read_at.elapsed() < svc.config.list_cache_ttl).cloned();
    let (list, from_cache) = match cached {
        Some(list) => (list, true),
        None => {
            let api = svc.api(&current).map_err(|m| failure(GithubFailureKind::NotConfigured, m))?;
            let list = read_all(api.as_ref()).await.map_err(to_failure)?;
            svc.repo_cache.lock().unwrap().insert(key, list.clone());
            (list, false)
        }
    };
    Ok(page(&list, &query, from_cache))
}

async fn read_all(api: &dyn crate::client::GithubApi) -> Result<CachedList, GithubError> {
    let fetched_at = Utc::now();
    let mut repos = Vec::new();
    let mut page = 1;
    let mut rate = RateLimitInfo::default();
    for _ in 0..MAX_PAGES {
        let one = api.user_repos(page, 100).await?;
        repos.extend(one.repos);
        rate = RateLimitInfo { limit: one.rate.limit, remaining: one.rate.remaining, reset_at: one.rate.reset_at };
        match one.next_page {
            Some(next) if next > page => page = next,
            _ => break,
        }
    }
    repos.sort_by_key(|r| r.full_name.to_ascii_lowercase());
    repos.dedup_by(|a, b| a.full_name.eq_ignore_ascii_case(&b.full_name));
    Ok(CachedList { repos, rate, fetched_at, read_at: Instant::now() })
}

/// The page of `list` that `query` asks for.
fn page(list: &CachedList, query: &RepoQuery, cached: bool) -> RepoPage {
    let needle = query.q.as_deref().map(str::to_ascii_lowercase).filter(|q| !q.is_empty());
    let matching: Vec<&Repo> =
        list.repos.iter().filter(|r| needle.as_ref().is_none_or(|q| r.full_name.to_ascii_lowercase().contains(q.as_str()))).collect();
    let after = query.cursor.as_deref().map(str::to_ascii_lowercase);
    let limit = query.limit.clamp(1, 500) as usize;
    let rest: Vec<&Repo> = matching.iter().copied().filter(|r| after.as_ref().is_none_or(|a| r.full_name.to_ascii_lowercase() > *a)).collect();
    let items: Vec<RepoSummary> = rest
        .iter()
        .take(limit)
        .map(|r| RepoSummary {
            full_name: r.full_name.clone(),
            private: r.private,
            html_url: r.html_url.clone(),
            default_branch: r.default_branch.clone(),
            description: r.description.clone(),
            is_template: r.is_template,
        })
        .collect();
    let next_cursor = (rest.len() > limit).then(|| items.last().map(|r| r.full_name.clone())).flatten();
    RepoPage { items, next_cursor, total: matching.len(), cached, fetched_at: list.fetched_at, rate_limit: list.rate }
}

fn to_failure(error: GithubError) -> GithubFailure {
    let kind = match &error {
        GithubError::RateLimited { .. } => GithubFailureKind::RateLimited,
        GithubError::BadCredentials => GithubFailureKind::NotConfigured,
        _ => GithubFailureKind::Unavailable,
    };
    let reset_at = match &error {
        GithubError::RateLimited { reset_at, retry_after } => {
            reset_at.or_else(|| retry_after.and_then(|d| chrono::Duration::from_std(d).ok()).map(|d| Utc::now() + d))
        }
        _ => None,
    };
    GithubFailure { kind, message: error.to_string(), reset_at }
}

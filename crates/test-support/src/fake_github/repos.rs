//! Repositories: `POST /repos/{owner}/{repo}/generate`, `GET /repos/{owner}/{repo}`,
//! `GET /user/repos`.
//!
//! Shapes from GitHub's REST reference ("Create a repository using a template", "Get a
//! repository", "List repositories for the authenticated user"): a full repository object
//! (owner as a full simple user, `html_url`, `clone_url`, `default_branch`, `is_template`, …);
//! `Link: <…?per_page=N&page=M>; rel="next", <…>; rel="last"` paging (`per_page` default 30,
//! at most 100); `x-ratelimit-limit`, `-remaining`, `-used`, `-reset`, `-resource` on every
//! answer; when the limit is used up, 403 `API rate limit exceeded …` with
//! `x-ratelimit-remaining: 0`. The repos' `clone_url` points at the [`crate::git::GitServer`]
//! the fake was given, where generate creates the new repo (hidden for the configured time:
//! a new repository is not clonable at once).

use axum::extract::{Path, Query, State as AxumState};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{arrive, caller, not_found, FakeRepo, Shared, State};

/// Body of generate.
#[derive(Debug, Deserialize)]
pub(super) struct Generate {
    owner: Option<String>,
    name: String,
    #[serde(default)]
    private: bool,
    #[serde(default)]
    include_all_branches: bool,
}

pub(super) async fn generate(
    AxumState(state): Shared,
    Path((owner, repo)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<Generate>,
) -> Response {
    arrive(&state, format!("POST /repos/{owner}/{repo}/generate")).await;
    let mut s = state.lock().unwrap();
    let (user, _) = match caller(&s, &headers) {
        Ok(found) => found,
        Err(response) => return *response,
    };
    if let Some(limited) = rate_limited(&mut s) {
        return limited;
    }
    let template_key = format!("{owner}/{repo}").to_ascii_lowercase();
    let Some(template) = s.repos.get(&template_key).cloned().filter(|t| t.is_template) else {
        return with_rate(&mut s, not_found());
    };
    let new_owner = body.owner.clone().unwrap_or_else(|| user.login.clone());
    let full_name = format!("{new_owner}/{}", body.name);
    if s.repos.contains_key(&full_name.to_ascii_lowercase()) {
        let error = json!({
            "message": "Repository creation failed.",
            "errors": [{"resource": "Repository", "code": "custom", "field": "name", "message": "name already exists on this account"}],
            "documentation_url": "https://docs.github.com/rest/repos/repos#create-a-repository-using-a-template",
            "status": "422",
        });
        return with_rate(&mut s, (StatusCode::UNPROCESSABLE_ENTITY, Json(error)).into_response());
    }
    s.generated.push((template.full_name.clone(), full_name.clone(), body.private, body.include_all_branches));
    let created = FakeRepo {
        full_name: full_name.clone(),
        private: body.private,
        is_template: false,
        default_branch: template.default_branch.clone(),
        description: template.description.clone(),
    };
    if let Some(git) = &s.git {
        git.generate(&template.full_name, &full_name, s.clone_delay);
        if body.private {
            let token = s.tokens.iter().find(|(_, (login, _))| *login == user.login).map(|(t, _)| t.clone()).unwrap_or_default();
            git.make_private(&full_name, &token);
        }
    }
    s.repos.insert(full_name.to_ascii_lowercase(), created.clone());
    let body = repo_json(&s, &created);
    with_rate(&mut s, (StatusCode::CREATED, Json(body)).into_response())
}

pub(super) async fn get_repo(AxumState(state): Shared, Path((owner, repo)): Path<(String, String)>, headers: HeaderMap) -> Response {
    arrive(&state, format!("GET /repos/{owner}/{repo}")).await;
    let mut s = state.lock().unwrap();
    if let Err(response) = caller(&s, &headers) {
        return *response;
    }
    if let Some(limited) = rate_limited(&mut s) {
        return limited;
    }
    match s.repos.get(&format!("{owner}/{repo}").to_ascii_lowercase()).cloned() {
        Some(found) => {
            let body = repo_json(&s, &found);
            with_rate(&mut s, Json(body).into_response())
        }
        None => with_rate(&mut s, not_found()),
    }
}

/// Query of `GET /user/repos`.
#[derive(Debug, Deserialize)]
pub(super) struct ListQuery {
    per_page: Option<usize>,
    page: Option<usize>,
}

pub(super) async fn user_repos(AxumState(state): Shared, Query(query): Query<ListQuery>, headers: HeaderMap) -> Response {
    arrive(&state, "GET /user/repos".into()).await;
    let mut s = state.lock().unwrap();
    if let Err(response) = caller(&s, &headers) {
        return *response;
    }
    if let Some(limited) = rate_limited(&mut s) {
        return limited;
    }
    let per_page = query.per_page.unwrap_or(30).clamp(1, 100);
    let page = query.page.unwrap_or(1).max(1);
    let all: Vec<FakeRepo> = s.repos.values().cloned().collect();
    let last = all.len().div_ceil(per_page).max(1);
    let items: Vec<Value> = all.iter().skip((page - 1) * per_page).take(per_page).map(|r| repo_json(&s, r)).collect();
    let mut response = Json(items).into_response();
    let base = format!("{}/user/repos?per_page={per_page}", s.url);
    let mut links = Vec::new();
    if page < last {
        links.push(format!("<{base}&page={}>; rel=\"next\"", page + 1));
        links.push(format!("<{base}&page={last}>; rel=\"last\""));
    }
    if page > 1 {
        links.push(format!("<{base}&page=1>; rel=\"first\""));
        links.push(format!("<{base}&page={}>; rel=\"prev\"", page - 1));
    }
    if !links.is_empty() {
        response.headers_mut().insert(header::LINK, HeaderValue::from_str(&links.join(", ")).unwrap());
    }
    with_rate(&mut s, response)
}

/// The 403 GitHub answers once the rate limit is used up (and counts the request otherwise).
fn rate_limited(s: &mut State) -> Option<Response> {
    if s.rate.remaining > 0 {
        s.rate.remaining -= 1;
        return None;
    }
    let body = json!({
        "message": "API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, please include the request ID.",
        "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
        "status": "403",
    });
    Some(with_rate(s, (StatusCode::FORBIDDEN, Json(body)).into_response()))
}

/// Adds the rate-limit headers.
fn with_rate(s: &mut State, mut response: Response) -> Response {
    let headers = response.headers_mut();
    let used = s.rate.limit.saturating_sub(s.rate.remaining);
    for (name, value) in [
        ("x-ratelimit-limit", s.rate.limit.to_string()),
        ("x-ratelimit-remaining", s.rate.remaining.to_string()),
        ("x-ratelimit-used", used.to_string()),
        ("x-ratelimit-reset", s.rate.reset.to_string()),
        ("x-ratelimit-resource", "core".to_owned()),
    ] {
        headers.insert(name, HeaderValue::from_str(&value).unwrap());
    }
    response
}

/// GitHub's repository object for `repo`.
pub(super) fn repo_json(s: &State, repo: &FakeRepo) -> Value {
    let (owner, name) = repo.full_name.split_once('/').unwrap_or(("", &repo.full_name));
    let api = format!("{}/repos/{}", s.url, repo.full_name);
    let web = s.git.as_ref().map_or_else(|| s.url.clone(), |g| g.base_url().to_owned());
    let owner_id = s.users.get(owner).map_or(1000, |u| u.id);
    let user_api = format!("{}/users/{owner}", s.url);
    json!({
        "id": 100_000 + s.repos.keys().position(|k| *k == repo.full_name.to_ascii_lowercase()).unwrap_or(s.repos.len()),
        "node_id": format!("R_{}", repo.full_name.replace('/', "_")),
        "name": name,
        "full_name": repo.full_name,
        "owner": {
            "login": owner, "id": owner_id, "node_id": format!("U_{owner_id}"),
            "avatar_url": format!("https://avatars.example/u/{owner_id}"), "gravatar_id": "",
            "url": user_api, "html_url": format!("{web}/{owner}"),
            "followers_url": format!("{user_api}/followers"), "following_url": format!("{user_api}/following{{/other_user}}"),
            "gists_url": format!("{user_api}/gists{{/gist_id}}"), "starred_url": format!("{user_api}/starred{{/owner}}{{/repo}}"),
            "subscriptions_url": format!("{user_api}/subscriptions"), "organizations_url": format!("{user_api}/orgs"),
            "repos_url": format!("{user_api}/repos"), "events_url": format!("{user_api}/events{{/privacy}}"),
            "received_events_url": format!("{user_api}/received_events"), "type": "User", "site_admin": false,
        },
        "private": repo.private,
        "visibility": if repo.private { "private" } else { "public" },
        "html_url": format!("{web}/{}", repo.full_name),
        "description": repo.description,
        "fork": false,
        "url": api,
        "clone_url": format!("{web}/{}.git", repo.full_name),
        "git_url": format!("git://127.0.0.1/{}.git", repo.full_name),
        "ssh_url": format!("git@127.0.0.1:{}.git", repo.full_name),
        "default_branch": repo.default_branch,
        "is_template": repo.is_template,
        "archived": false,
        "disabled": false,
        "created_at": "2026-12-01T10:00:00Z",
        "updated_at": "2026-12-01T10:00:00Z",
        "pushed_at": "2026-12-01T10:00:00Z",
    })
}

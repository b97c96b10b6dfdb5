//! Repository webhooks (GitHub's "REST API endpoints for repository webhooks") and the
//! deliveries GitHub sends to them.
//!
//! - `GET /repos/{owner}/{repo}/hooks` → 200 `[hook…]`;
//! - `POST /repos/{owner}/{repo}/hooks` `{name?, config: {url, content_type, secret,
//!   insecure_ssl}, events, active}` → 201 hook; 422 `Validation Failed` with
//!   `errors: [{resource: Hook, code: custom, message: "Hook already exists on this
//!   repository"}]` when a hook with that URL exists; 422 for a missing `config.url`;
//! - `PATCH /repos/{owner}/{repo}/hooks/{hook_id}` `{config?, events?, active?}` → 200 hook;
//!   404 for an unknown hook.
//!
//! All three need a token of a repo admin: a user who can only read the repo gets 403 `Must
//! have admin rights to Repository.`, anyone else 404 `Not Found` (GitHub hides what you may
//! not see). A hook is shown as GitHub shows it: `config.secret` is `********` when set, and
//! `last_response` says `unused`.
//!
//! [`PushDelivery`] is a `push` event as GitHub delivers it (headers `X-GitHub-Event`,
//! `X-GitHub-Delivery`, `X-Hub-Signature-256`, `User-Agent: GitHub-Hookshot/…`, and the push
//! payload's shape), sent to the panel by [`FakeGithub::deliver`].

use std::collections::{BTreeMap, BTreeSet};

use axum::extract::{Path, State as AxumState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use super::{arrive, caller, not_found, FakeGithub, Shared, State, DOCS};

/// A hook of the fake, as created or last updated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeHook {
    pub id: u64,
    /// `owner/name` as the hook's repo was registered.
    pub repo: String,
    pub url: String,
    pub content_type: String,
    pub insecure_ssl: String,
    /// The secret the hook was given (GitHub never shows it; tests may).
    pub secret: Option<String>,
    pub events: Vec<String>,
    pub active: bool,
}

/// The webhooks side of the fake's state.
#[derive(Debug, Default)]
pub(crate) struct Hooks {
    /// Repo (`owner/name`, lower case) → its admins' logins.
    admins: BTreeMap<String, BTreeSet<String>>,
    /// Repo (lower case) → logins that may read it but not administer it.
    readers: BTreeMap<String, BTreeSet<String>>,
    hooks: Vec<FakeHook>,
    next_id: u64,
}

impl FakeGithub {
    /// Makes `login` an admin of repository `repo` (`owner/name`): its token may manage the
    /// repo's hooks.
    pub fn add_repo_admin(&self, repo: &str, login: &str) {
        self.with(|s| s.hooks.admins.entry(repo.to_ascii_lowercase()).or_default().insert(login.to_owned()));
    }

    /// Lets `login` read `repo` without admin rights (hooks answer 403).
    pub fn add_repo_reader(&self, repo: &str, login: &str) {
        self.with(|s| s.hooks.readers.entry(repo.to_ascii_lowercase()).or_default().insert(login.to_owned()));
    }

    /// Adds a hook to `repo` as someone did on GitHub by hand; returns its id.
    pub fn add_hook(&self, repo: &str, url: &str, events: &[&str], content_type: &str, active: bool) -> u64 {
        self.with(|s| {
            let id = s.hooks.new_id();
            s.hooks.hooks.push(FakeHook {
                id,
                repo: repo.to_owned(),
                url: url.to_owned(),
                content_type: content_type.to_owned(),
                insecure_ssl: "0".into(),
                secret: None,
                events: events.iter().map(|e| (*e).to_owned()).collect(),
                active,
            });
            id
        })
    }

    /// Every hook of `repo`, oldest first.
    pub fn hooks_of(&self, repo: &str) -> Vec<FakeHook> {
        self.with(|s| s.hooks.hooks.iter().filter(|h| h.repo.eq_ignore_ascii_case(repo)).cloned().collect())
    }

    /// Sends `delivery` to the panel at `panel_url` (`http://…`, without `/hooks/github`) as
    /// GitHub would: signed with `secret` (`None`: no signature header at all).
    pub async fn deliver(&self, panel_url: &str, secret: Option<&str>, delivery: &PushDelivery) -> reqwest::Response {
        delivery.send(panel_url, secret).await
    }
}

impl Hooks {
    fn new_id(&mut self) -> u64 {
        self.next_id += 1;
        // GitHub's hook ids are large numbers.
        480_000_000 + self.next_id
    }
}

/// A `push` delivery. [`PushDelivery::new`] fills GitHub's fields; change what a test needs.
#[derive(Debug, Clone)]
pub struct PushDelivery {
    /// `X-GitHub-Delivery`: a GUID.
    pub delivery_id: String,
    /// `X-GitHub-Event` (`push`, or another event to see it ignored).
    pub event: String,
    /// `owner/name`.
    pub repo: String,
    /// `refs/heads/<branch>` or `refs/tags/<tag>`.
    pub git_ref: String,
    pub before: String,
    pub after: String,
    pub deleted: bool,
    pub pusher: String,
    pub default_branch: String,
}

impl PushDelivery {
    /// A push of `after` to `git_ref` of `repo` by `octocat`, with a fresh delivery id.
    pub fn new(repo: &str, git_ref: &str, after: &str) -> Self {
        Self {
            delivery_id: uuid::Uuid::new_v4().to_string(),
            event: "push".into(),
            repo: repo.to_owned(),
            git_ref: git_ref.to_owned(),
            before: "0".repeat(40),
            after: after.to_owned(),
            deleted: false,
            pusher: "octocat".into(),
            default_branch: "main".into(),
        }
    }

    /// The same push as a deletion of the ref (`deleted: true`, `after` all zeros).
    pub fn deletion(mut self) -> Self {
        self.before = std::mem::replace(&mut self.after, "0".repeat(40));
        self.deleted = true;
        self
    }

    /// The JSON body GitHub sends (the fields of its push payload; `commits` holds the head
    /// commit).
    pub fn body(&self) -> String {
        let (owner, name) = self.repo.split_once('/').unwrap_or((&self.repo, ""));
        let head = (!self.deleted).then(|| {
            json!({"id": self.after, "tree_id": "1".repeat(40), "distinct": true, "message": "a change",
                   "timestamp": "2026-12-02T04:00:00Z", "url": format!("https://github.com/{}/commit/{}", self.repo, self.after),
                   "author": {"name": "Octo Cat", "email": "octocat@example.invalid", "username": self.pusher},
                   "committer": {"name": "Octo Cat", "email": "octocat@example.invalid", "username": self.pusher},
                   "added": [], "removed": [], "modified": ["compose.yaml"]})
        });
        json!({
            "ref": self.git_ref,
            "before": self.before,
            "after": self.after,
            "created": self.before.bytes().all(|b| b == b'0'),
            "deleted": self.deleted,
            "forced": false,
            "base_ref": null,
            "compare": format!("https://github.com/{}/compare/{}...{}", self.repo, &self.before[..12], &self.after[..12.min(self.after.len())]),
            "commits": head.iter().collect::<Vec<_>>(),
            "head_commit": head,
            "repository": {
                "id": 1296269, "node_id": "MDEwOlJlcG9zaXRvcnkxMjk2MjY5", "name": name, "full_name": self.repo,
                "private": true, "owner": {"name": owner, "login": owner, "id": 1, "type": "User"},
                "html_url": format!("https://github.com/{}", self.repo),
                "clone_url": format!("https://github.com/{}.git", self.repo),
                "default_branch": self.default_branch, "master_branch": self.default_branch,
            },
            "pusher": {"name": self.pusher, "email": "octocat@example.invalid"},
            "sender": {"login": self.pusher, "id": 1, "type": "User"},
        })
        .to_string()
    }

    /// `sha256=<hex HMAC-SHA256 of body under secret>`, as GitHub signs.
    pub fn signature(secret: &str, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
        mac.update(body);
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    }

    /// Posts the delivery to `<panel_url>/hooks/github`, signed with `secret` when given.
    pub async fn send(&self, panel_url: &str, secret: Option<&str>) -> reqwest::Response {
        let body = self.body();
        let mut request = reqwest::Client::new()
            .post(format!("{panel_url}/hooks/github"))
            .header("content-type", "application/json")
            .header("user-agent", "GitHub-Hookshot/044aadd")
            .header("x-github-event", &self.event)
            .header("x-github-delivery", &self.delivery_id)
            .header("x-github-hook-id", "480000001");
        if let Some(secret) = secret {
            request = request.header("x-hub-signature-256", Self::signature(secret, body.as_bytes()));
        }
        request.body(body).send().await.expect("send the delivery")
    }
}

/// `value` percent-encoded for an `application/x-www-form-urlencoded` body (GitHub's
/// `form` content type sends `payload=<this>`).
pub fn form_value(value: &str) -> String {
    super::percent(value)
}

/// Who may do what on `repo` with the request's token: `Ok` for an admin, else GitHub's answer.
fn admin(s: &State, headers: &HeaderMap, repo: &str) -> Result<(), Box<Response>> {
    let (user, _) = caller(s, headers)?;
    let key = repo.to_ascii_lowercase();
    if s.hooks.admins.get(&key).is_some_and(|a| a.contains(&user.login)) {
        return Ok(());
    }
    if s.hooks.readers.get(&key).is_some_and(|r| r.contains(&user.login)) {
        let body = json!({"message": "Must have admin rights to Repository.", "documentation_url": DOCS, "status": "403"});
        return Err(Box::new((StatusCode::FORBIDDEN, Json(body)).into_response()));
    }
    Err(Box::new(not_found()))
}

fn hook_json(base: &str, hook: &FakeHook) -> Value {
    let url = format!("{base}/repos/{}/hooks/{}", hook.repo, hook.id);
    let mut config = json!({"url": hook.url, "content_type": hook.content_type, "insecure_ssl": hook.insecure_ssl});
    if hook.secret.is_some() {
        config["secret"] = json!("********");
    }
    json!({
        "type": "Repository", "id": hook.id, "name": "web", "active": hook.active, "events": hook.events,
        "config": config, "updated_at": "2026-12-02T04:00:00Z", "created_at": "2026-12-02T04:00:00Z",
        "url": url, "test_url": format!("{url}/test"), "ping_url": format!("{url}/pings"),
        "deliveries_url": format!("{url}/deliveries"),
        "last_response": {"code": null, "status": "unused", "message": null},
    })
}

fn validation_failed(message: &str) -> Response {
    let body = json!({"message": "Validation Failed", "errors": [{"resource": "Hook", "code": "custom", "message": message}],
                      "documentation_url": DOCS, "status": "422"});
    (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response()
}

pub(super) async fn list(AxumState(state): Shared, Path((owner, repo)): Path<(String, String)>, headers: HeaderMap) -> Response {
    arrive(&state, format!("GET /repos/{owner}/{repo}/hooks")).await;
    let s = state.lock().unwrap();
    let full = format!("{owner}/{repo}");
    if let Err(response) = admin(&s, &headers, &full) {
        return *response;
    }
    let base = s.url.clone();
    let hooks: Vec<Value> = s.hooks.hooks.iter().filter(|h| h.repo.eq_ignore_ascii_case(&full)).map(|h| hook_json(&base, h)).collect();
    Json(hooks).into_response()
}

pub(super) async fn create(
    AxumState(state): Shared,
    Path((owner, repo)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    arrive(&state, format!("POST /repos/{owner}/{repo}/hooks")).await;
    let mut s = state.lock().unwrap();
    let full = format!("{owner}/{repo}");
    if let Err(response) = admin(&s, &headers, &full) {
        return *response;
    }
    let Some(url) = body["config"]["url"].as_str().map(str::to_owned) else {
        return validation_failed("Config must contain url for webhook hook");
    };
    if s.hooks.hooks.iter().any(|h| h.repo.eq_ignore_ascii_case(&full) && h.url == url) {
        return validation_failed("Hook already exists on this repository");
    }
    let id = s.hooks.new_id();
    let hook = FakeHook {
        id,
        repo: full,
        url,
        content_type: body["config"]["content_type"].as_str().unwrap_or("form").to_owned(),
        insecure_ssl: body["config"]["insecure_ssl"].as_str().unwrap_or("0").to_owned(),
        secret: body["config"]["secret"].as_str().map(str::to_owned),
        events: events(&body).unwrap_or_else(|| vec!["push".into()]),
        active: body["active"].as_bool().unwrap_or(true),
    };
    let answer = hook_json(&s.url, &hook);
    s.hooks.hooks.push(hook);
    (StatusCode::CREATED, Json(answer)).into_response()
}

pub(super) async fn update(
    AxumState(state): Shared,
    Path((owner, repo, hook_id)): Path<(String, String, u64)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    arrive(&state, format!("PATCH /repos/{owner}/{repo}/hooks/{hook_id}")).await;
    let mut s = state.lock().unwrap();
    let full = format!("{owner}/{repo}");
    if let Err(response) = admin(&s, &headers, &full) {
        return *response;
    }
    let base = s.url.clone();
    let Some(hook) = s.hooks.hooks.iter_mut().find(|h| h.id == hook_id && h.repo.eq_ignore_ascii_case(&full)) else {
        return not_found();
    };
    // `config` replaces the whole configuration, as on GitHub.
    if let Some(config) = body.get("config") {
        let Some(url) = config["url"].as_str() else { return validation_failed("Config must contain url for webhook hook") };
        hook.url = url.to_owned();
        hook.content_type = config["content_type"].as_str().unwrap_or("form").to_owned();
        hook.insecure_ssl = config["insecure_ssl"].as_str().unwrap_or("0").to_owned();
        hook.secret = config["secret"].as_str().map(str::to_owned);
    }
    if let Some(events) = events(&body) {
        hook.events = events;
    }
    if let Some(active) = body["active"].as_bool() {
        hook.active = active;
    }
    Json(hook_json(&base, hook)).into_response()
}

fn events(body: &Value) -> Option<Vec<String>> {
    body["events"].as_array().map(|events| events.iter().filter_map(|e| e.as_str().map(str::to_owned)).collect())
}

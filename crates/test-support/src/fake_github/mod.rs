//! A local stand-in for GitHub, built from GitHub's documented shapes: the OAuth web flow
//! (authorize and token endpoints, with PKCE) and the REST endpoints login uses. One axum
//! server serves both the "web" and the "API" side, so `github_web_url` and
//! `github_api_url` are both [`FakeGithub::url`].
//!
//! # Layout
//! - [`FakeGithub`]: the handle a test keeps: add OAuth apps, users and org members, say who
//!   is signed in to GitHub in "the browser", slow GitHub down, read what it handed out.
//! - `State`: everything the fake knows (one mutex; handlers lock briefly).
//! - One handler per endpoint, grouped by GitHub area: [`oauth`] (the web flow), [`users`],
//!   [`orgs`], [`repos`], [`hooks`]:
//!   - `GET /login/oauth/authorize` → 302 to `redirect_uri?code=…&state=…` (or
//!     `?error=access_denied&…&state=…` when the user declines);
//!   - `POST /login/oauth/access_token` → the token as JSON (`Accept: application/json`) or
//!     form-encoded (GitHub's default); refusals as **HTTP 200** with `error`,
//!     `error_description`, `error_uri` (`incorrect_client_credentials`, `redirect_uri_mismatch`,
//!     `bad_verification_code` for an unknown, used or expired code and for a PKCE verifier that
//!     does not match the S256 challenge);
//!   - `GET /user` → the user, or 401 `Bad credentials`;
//!   - `GET /user/memberships/orgs/{org}` → 200 `{state, role, …}` (public and private members,
//!     needs the `read:org` scope), 404 for non-members, 403 for an org that blocks the app;
//!   - `GET /orgs/{org}/members/{username}` → 204 / 404, or 302 to the public-members check when
//!     the requester is not a member; `GET /orgs/{org}/public_members/{username}` → 204 / 404.
//!
//! - Repositories ([`repos`]):
//!   - `POST /repos/{template_owner}/{template_repo}/generate` `{owner?, name, private,
//!     include_all_branches}` → 201 with the new repository (created on the git server the
//!     fake was given, [`FakeGithub::with_git`], and clonable there only after
//!     [`FakeGithub::set_clone_delay`]; a private one needs its creator's token); 422
//!     `Repository creation failed.` with `errors[].message` "name already exists on this
//!     account"; 404 for an unknown repository or one that is not a template;
//!   - `GET /repos/{owner}/{repo}` → the repository, or 404;
//!   - `GET /user/repos?per_page=&page=` → one page, with `Link` (`next`, `last`, `first`,
//!     `prev`);
//!   - every repository answer carries `x-ratelimit-*` headers; once the limit is used up
//!     ([`FakeGithub::set_rate_limit`]) they answer 403 `API rate limit exceeded …` with
//!     `x-ratelimit-remaining: 0` and `x-ratelimit-reset`.
//!
//! - Webhooks ([`hooks`]):
//!   - `GET`/`POST /repos/{owner}/{repo}/hooks`, `PATCH /repos/{owner}/{repo}/hooks/{hook_id}`
//!     → the repository's webhooks as GitHub shows them (`config.secret` as `********`); only
//!     for admins of the repository ([`FakeGithub::add_repo_admin`]): 403 `Must have admin
//!     rights to Repository.` for readers, 404 for anyone else; 422 `Validation Failed` with
//!     `Hook already exists on this repository` for a second hook with the same URL;
//!   - [`PushDelivery`]: a signed `push` delivery (GitHub's headers and payload) sent to the
//!     panel.
//!
//! Later areas add their own handlers and state the same way.

mod hooks;
mod oauth;
mod orgs;
mod repos;
mod users;

pub use hooks::{form_value, FakeHook, PushDelivery};

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State as AxumState;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use serde_json::json;

/// Where GitHub's error documentation lives (part of every REST error body).
pub(crate) const DOCS: &str = "https://docs.github.com/rest";

/// A GitHub user of the fake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeUser {
    pub id: u64,
    pub login: String,
}

/// Whether a member shows on the org's public member list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    Public,
    Private,
    /// Invited, not accepted (`state: pending`).
    Pending,
}

/// A code handed out by the authorize endpoint.
#[derive(Debug, Clone)]
pub(crate) struct Grant {
    pub(crate) login: String,
    pub(crate) client_id: String,
    pub(crate) redirect_uri: String,
    pub(crate) scope: String,
    pub(crate) challenge: Option<String>,
    pub(crate) used: bool,
}

/// A repository of the fake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeRepo {
    /// `owner/name`.
    pub full_name: String,
    pub private: bool,
    pub is_template: bool,
    pub default_branch: String,
    pub description: Option<String>,
}

/// The rate limit of the repository endpoints.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rate {
    pub(crate) limit: u64,
    pub(crate) remaining: u64,
    /// UTC epoch seconds.
    pub(crate) reset: u64,
}

impl Default for Rate {
    fn default() -> Self {
        Self { limit: 5000, remaining: 5000, reset: 4_102_444_800 }
    }
}

/// Everything the fake knows.
#[derive(Default)]
pub(crate) struct State {
    /// OAuth apps: client id → client secret.
    pub(crate) clients: BTreeMap<String, String>,
    pub(crate) users: BTreeMap<String, FakeUser>,
    /// Access token → (login, granted scope).
    pub(crate) tokens: BTreeMap<String, (String, String)>,
    pub(crate) codes: BTreeMap<String, Grant>,
    /// Org → member login → visibility.
    pub(crate) orgs: BTreeMap<String, BTreeMap<String, Visibility>>,
    /// Orgs whose OAuth app access restrictions hide members from the app (403).
    pub(crate) blocked_orgs: BTreeSet<String>,
    /// The user signed in to GitHub in the test's "browser".
    pub(crate) signed_in: Option<String>,
    /// The signed-in user declines the next authorization.
    pub(crate) decline_next: bool,
    /// Every answer waits this long first.
    pub(crate) delay: Duration,
    /// Requests seen, as `METHOD path` (for assertions on what the panel asked).
    pub(crate) requests: Vec<String>,
    /// The fake's own base URL (for `Link` and `url` fields).
    pub(crate) url: String,
    /// Repositories by lower-cased `owner/name`.
    pub(crate) repos: BTreeMap<String, FakeRepo>,
    /// Where repositories are served for cloning.
    pub(crate) git: Option<crate::git::GitHost>,
    /// How long a generated repository stays unclonable.
    pub(crate) clone_delay: Duration,
    pub(crate) rate: Rate,
    /// Generate calls that created a repository: (template, new repo, private, include_all_branches).
    pub(crate) generated: Vec<(String, String, bool, bool)>,
    /// Repository webhooks and who may manage them.
    pub(crate) hooks: hooks::Hooks,
}

/// A running fake GitHub; it stops when the test's runtime ends.
#[derive(Clone)]
pub struct FakeGithub {
    /// `http://127.0.0.1:<port>`: both `github_web_url` and `github_api_url`.
    pub url: String,
    state: Arc<Mutex<State>>,
}

impl FakeGithub {
    /// Starts the fake on a free port.
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(State::default()));
        let router = Router::new()
            .route("/login/oauth/authorize", get(oauth::authorize))
            .route("/login/oauth/access_token", post(oauth::access_token))
            .route("/user", get(users::user))
            .route("/user/memberships/orgs/{org}", get(orgs::membership))
            .route("/orgs/{org}/members/{username}", get(orgs::member_check))
            .route("/orgs/{org}/public_members/{username}", get(orgs::public_member_check))
            .route("/repos/{owner}/{repo}/generate", post(repos::generate))
            .route("/repos/{owner}/{repo}", get(repos::get_repo))
            .route("/user/repos", get(repos::user_repos))
            .route("/repos/{owner}/{repo}/hooks", get(hooks::list).post(hooks::create))
            .route("/repos/{owner}/{repo}/hooks/{hook_id}", patch(hooks::update))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the fake GitHub");
        let url = format!("http://{}", listener.local_addr().unwrap());
        state.lock().unwrap().url = url.clone();
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self { url, state }
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().unwrap())
    }

    /// Registers an OAuth app.
    pub fn add_client(&self, client_id: &str, client_secret: &str) {
        self.with(|s| s.clients.insert(client_id.to_owned(), client_secret.to_owned()));
    }

    /// Adds a user.
    pub fn add_user(&self, login: &str, id: u64) -> FakeUser {
        let user = FakeUser { id, login: login.to_owned() };
        self.with(|s| s.users.insert(login.to_owned(), user.clone()));
        user
    }

    /// Makes `login` the user signed in to GitHub, who authorizes whatever app asks.
    pub fn sign_in(&self, login: &str) {
        self.with(|s| s.signed_in = Some(login.to_owned()));
    }

    /// The signed-in user clicks "Cancel" on the next authorize page.
    pub fn decline_next(&self) {
        self.with(|s| s.decline_next = true);
    }

    /// Adds (or changes) `login`'s membership of `org`.
    pub fn add_member(&self, org: &str, login: &str, visibility: Visibility) {
        self.with(|s| s.orgs.entry(org.to_ascii_lowercase()).or_default().insert(login.to_owned(), visibility));
    }

    /// Removes `login` from `org`.
    pub fn remove_member(&self, org: &str, login: &str) {
        self.with(|s| s.orgs.entry(org.to_ascii_lowercase()).or_default().remove(login));
    }

    /// `org` restricts OAuth app access: membership checks answer 403.
    pub fn block_org(&self, org: &str) {
        self.with(|s| s.blocked_orgs.insert(org.to_ascii_lowercase()));
    }

    /// Every answer first waits `delay` (slow GitHub).
    pub fn set_delay(&self, delay: Duration) {
        self.with(|s| s.delay = delay);
    }

    /// Revokes every token of `login` (`/user` then answers 401).
    pub fn revoke_tokens_of(&self, login: &str) {
        self.with(|s| s.tokens.retain(|_, (owner, _)| owner != login));
    }

    /// Every access token handed out so far.
    pub fn issued_tokens(&self) -> Vec<String> {
        self.with(|s| s.tokens.keys().cloned().collect())
    }

    /// Requests seen so far, as `METHOD path`.
    pub fn requests(&self) -> Vec<String> {
        self.with(|s| s.requests.clone())
    }

    /// Serves repositories for cloning on `git`: `clone_url` and `html_url` point there, and
    /// generate creates the new repository on it.
    pub fn with_git(&self, git: crate::git::GitHost) {
        self.with(|s| s.git = Some(git));
    }

    /// Adds a repository (its git side is the test's: [`crate::git::GitServer::create_repo`]
    /// with the same `owner/name`).
    pub fn add_repo(&self, full_name: &str, is_template: bool, private: bool) -> FakeRepo {
        let repo = FakeRepo {
            full_name: full_name.to_owned(),
            private,
            is_template,
            default_branch: "main".into(),
            description: Some(format!("{full_name} (fake)")),
        };
        self.with(|s| s.repos.insert(full_name.to_ascii_lowercase(), repo.clone()));
        repo
    }

    /// Gives `login` (added if missing) the access token `token` with `scope`, as if it had
    /// made a personal access token.
    pub fn add_token(&self, login: &str, id: u64, token: &str, scope: &str) {
        self.with(|s| {
            s.users.entry(login.to_owned()).or_insert_with(|| FakeUser { id, login: login.to_owned() });
            s.tokens.insert(token.to_owned(), (login.to_owned(), scope.to_owned()));
        });
    }

    /// Generated repositories stay unclonable (404 on the git server) for `delay`.
    pub fn set_clone_delay(&self, delay: Duration) {
        self.with(|s| s.clone_delay = delay);
    }

    /// `remaining` requests are left until `reset` (UTC epoch seconds); after them, the
    /// repository endpoints answer 403 with `x-ratelimit-remaining: 0`.
    pub fn set_rate_limit(&self, remaining: u64, reset: u64) {
        self.with(|s| {
            s.rate.remaining = remaining;
            s.rate.reset = reset;
        });
    }

    /// Every repository, sorted by lower-cased full name.
    pub fn repos(&self) -> Vec<FakeRepo> {
        self.with(|s| s.repos.values().cloned().collect())
    }

    /// Generate calls that created a repository: (template, new repo, private,
    /// include_all_branches).
    pub fn generated(&self) -> Vec<(String, String, bool, bool)> {
        self.with(|s| s.generated.clone())
    }
}

pub(crate) type Shared = AxumState<Arc<Mutex<State>>>;

/// Records the request and waits the configured delay.
pub(crate) async fn arrive(state: &Arc<Mutex<State>>, what: String) {
    let delay = {
        let mut s = state.lock().unwrap();
        s.requests.push(what);
        s.delay
    };
    tokio::time::sleep(delay).await;
}

pub(crate) fn random(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::new_v4().simple())
}

/// The user and scope of the request's token, or GitHub's 401.
pub(crate) fn caller(s: &State, headers: &HeaderMap) -> Result<(FakeUser, String), Box<Response>> {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("token ")))
        .unwrap_or_default();
    match s.tokens.get(presented).and_then(|(login, scope)| s.users.get(login).map(|u| (u.clone(), scope.clone()))) {
        Some(found) => Ok(found),
        None => Err(Box::new(
            (StatusCode::UNAUTHORIZED, Json(json!({"message": "Bad credentials", "documentation_url": DOCS, "status": "401"}))).into_response(),
        )),
    }
}

pub(crate) fn not_found() -> Response {
    (StatusCode::NOT_FOUND, Json(json!({"message": "Not Found", "documentation_url": DOCS, "status": "404"}))).into_response()
}

pub(crate) fn simple_user(user: &FakeUser) -> serde_json::Value {
    json!({"login": user.login, "id": user.id, "node_id": format!("U_{}", user.id), "type": "User", "site_admin": false,
           "avatar_url": format!("https://avatars.example/u/{}", user.id)})
}

pub(crate) fn percent(value: &str) -> String {
    value
        .bytes()
        .map(|b| if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}


//! A local stand-in for GitHub, built from GitHub's documented shapes: the OAuth web flow
//! (authorize and token endpoints, with PKCE) and the REST endpoints login uses. One axum
//! server serves both the "web" and the "API" side, so `github_web_url` and
//! `github_api_url` are both [`FakeGithub::url`].
//!
//! # Layout
//! - [`FakeGithub`]: the handle a test keeps: add OAuth apps, users and org members, say who
//!   is signed in to GitHub in "the browser", slow GitHub down, read what it handed out.
//! - `State`: everything the fake knows (one mutex; handlers lock briefly).
//! - One handler per endpoint:
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
//! Later areas (repos, templates, webhooks) add their own handlers and state the same way.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, Query, State as AxumState};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::Engine;
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

/// Where GitHub's error documentation lives (part of every REST error body).
const DOCS: &str = "https://docs.github.com/rest";

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
struct Grant {
    login: String,
    client_id: String,
    redirect_uri: String,
    scope: String,
    challenge: Option<String>,
    used: bool,
}

/// Everything the fake knows.
#[derive(Debug, Default)]
struct State {
    /// OAuth apps: client id → client secret.
    clients: BTreeMap<String, String>,
    users: BTreeMap<String, FakeUser>,
    /// Access token → (login, granted scope).
    tokens: BTreeMap<String, (String, String)>,
    codes: BTreeMap<String, Grant>,
    /// Org → member login → visibility.
    orgs: BTreeMap<String, BTreeMap<String, Visibility>>,
    /// Orgs whose OAuth app access restrictions hide members from the app (403).
    blocked_orgs: BTreeSet<String>,
    /// The user signed in to GitHub in the test's "browser".
    signed_in: Option<String>,
    /// The signed-in user declines the next authorization.
    decline_next: bool,
    /// Every answer waits this long first.
    delay: Duration,
    /// Requests seen, as `METHOD path` (for assertions on what the panel asked).
    requests: Vec<String>,
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
            .route("/login/oauth/authorize", get(authorize))
            .route("/login/oauth/access_token", post(access_token))
            .route("/user", get(user))
            .route("/user/memberships/orgs/{org}", get(membership))
            .route("/orgs/{org}/members/{username}", get(member_check))
            .route("/orgs/{org}/public_members/{username}", get(public_member_check))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the fake GitHub");
        let url = format!("http://{}", listener.local_addr().unwrap());
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
}

type Shared = AxumState<Arc<Mutex<State>>>;

/// Records the request and waits the configured delay.
async fn arrive(state: &Arc<Mutex<State>>, what: String) {
    let delay = {
        let mut s = state.lock().unwrap();
        s.requests.push(what);
        s.delay
    };
    tokio::time::sleep(delay).await;
}

fn random(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::new_v4().simple())
}

#[derive(Deserialize)]
struct AuthorizeQuery {
    client_id: String,
    redirect_uri: String,
    state: Option<String>,
    scope: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
}

fn with_query(base: &str, pairs: &[(&str, &str)]) -> String {
    let mut url = base.to_owned();
    for (i, (key, value)) in pairs.iter().enumerate() {
        url.push(if i == 0 && !base.contains('?') { '?' } else { '&' });
        url.push_str(&format!("{key}={}", percent(value)));
    }
    url
}

fn percent(value: &str) -> String {
    value
        .bytes()
        .map(|b| if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

async fn authorize(AxumState(state): Shared, Query(q): Query<AuthorizeQuery>) -> Response {
    arrive(&state, "GET /login/oauth/authorize".into()).await;
    let mut s = state.lock().unwrap();
    if !s.clients.contains_key(&q.client_id) {
        return (StatusCode::NOT_FOUND, "Not Found").into_response();
    }
    if q.code_challenge.is_some() && q.code_challenge_method.as_deref() != Some("S256") {
        return (StatusCode::BAD_REQUEST, "code_challenge_method must be S256").into_response();
    }
    let state_param = q.state.clone().unwrap_or_default();
    if std::mem::take(&mut s.decline_next) {
        let location = with_query(
            &q.redirect_uri,
            &[("error", "access_denied"), ("error_description", "The user has denied your application access."), ("state", &state_param)],
        );
        return (StatusCode::FOUND, [(header::LOCATION, location)]).into_response();
    }
    let Some(login) = s.signed_in.clone() else {
        return (StatusCode::OK, "<html><body>Sign in to GitHub</body></html>").into_response();
    };
    let code = random("");
    let grant = Grant {
        login,
        client_id: q.client_id,
        redirect_uri: q.redirect_uri.clone(),
        scope: q.scope.unwrap_or_default(),
        challenge: q.code_challenge,
        used: false,
    };
    s.codes.insert(code[..20].to_owned(), grant);
    let location = with_query(&q.redirect_uri, &[("code", &code[..20]), ("state", &state_param)]);
    (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
}

#[derive(Deserialize)]
struct TokenForm {
    client_id: Option<String>,
    client_secret: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
}

/// GitHub's answer format: JSON when asked for, else form-encoded.
fn answer(headers: &HeaderMap, fields: &[(&str, &str)]) -> Response {
    let json = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("application/json"));
    if json {
        let body: serde_json::Map<String, serde_json::Value> = fields.iter().map(|(k, v)| ((*k).to_owned(), json!(v))).collect();
        Json(body).into_response()
    } else {
        let body = fields.iter().map(|(k, v)| format!("{k}={}", percent(v))).collect::<Vec<_>>().join("&");
        ([(header::CONTENT_TYPE, "application/x-www-form-urlencoded; charset=utf-8")], body).into_response()
    }
}

fn oauth_error(headers: &HeaderMap, error: &str, description: &str) -> Response {
    let uri = format!("https://docs.github.com/apps/oauth-apps/maintaining-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#{error}");
    answer(headers, &[("error", error), ("error_description", description), ("error_uri", &uri)])
}

fn s256(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

async fn access_token(AxumState(state): Shared, headers: HeaderMap, Form(form): Form<TokenForm>) -> Response {
    arrive(&state, "POST /login/oauth/access_token".into()).await;
    let mut s = state.lock().unwrap();
    let client_id = form.client_id.unwrap_or_default();
    if s.clients.get(&client_id) != form.client_secret.as_ref() || form.client_secret.is_none() {
        return oauth_error(&headers, "incorrect_client_credentials", "The client_id and/or client_secret passed are incorrect.");
    }
    let bad_code = |headers: &HeaderMap| oauth_error(headers, "bad_verification_code", "The code passed is incorrect or expired.");
    let code = form.code.unwrap_or_default();
    let Some(grant) = s.codes.get_mut(&code) else { return bad_code(&headers) };
    if grant.used || grant.client_id != client_id {
        return bad_code(&headers);
    }
    if form.redirect_uri.as_deref().is_some_and(|r| r != grant.redirect_uri) {
        return oauth_error(&headers, "redirect_uri_mismatch", "The redirect_uri MUST match the registered callback URL for this application.");
    }
    grant.used = true;
    if let Some(challenge) = &grant.challenge {
        if form.code_verifier.as_deref().map(s256).as_deref() != Some(challenge.as_str()) {
            return bad_code(&headers);
        }
    }
    let (login, scope) = (grant.login.clone(), grant.scope.replace(' ', ","));
    let token = random("gho_");
    s.tokens.insert(token.clone(), (login, scope.clone()));
    answer(&headers, &[("access_token", &token), ("scope", &scope), ("token_type", "bearer")])
}

/// The user and scope of the request's token, or GitHub's 401.
fn caller(s: &State, headers: &HeaderMap) -> Result<(FakeUser, String), Box<Response>> {
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

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, Json(json!({"message": "Not Found", "documentation_url": DOCS, "status": "404"}))).into_response()
}

fn simple_user(user: &FakeUser) -> serde_json::Value {
    json!({"login": user.login, "id": user.id, "node_id": format!("U_{}", user.id), "type": "User", "site_admin": false,
           "avatar_url": format!("https://avatars.example/u/{}", user.id)})
}

async fn user(AxumState(state): Shared, headers: HeaderMap) -> Response {
    arrive(&state, "GET /user".into()).await;
    let s = state.lock().unwrap();
    match caller(&s, &headers) {
        Ok((user, _)) => Json(simple_user(&user)).into_response(),
        Err(response) => *response,
    }
}

async fn membership(AxumState(state): Shared, Path(org): Path<String>, headers: HeaderMap) -> Response {
    arrive(&state, format!("GET /user/memberships/orgs/{org}")).await;
    let s = state.lock().unwrap();
    let (user, scope) = match caller(&s, &headers) {
        Ok(found) => found,
        Err(response) => return *response,
    };
    let key = org.to_ascii_lowercase();
    if s.blocked_orgs.contains(&key) {
        let message = format!("Although you appear to have the correct authorization credentials, the `{org}` organization has enabled OAuth App access restrictions.");
        return (StatusCode::FORBIDDEN, Json(json!({"message": message, "documentation_url": DOCS, "status": "403"}))).into_response();
    }
    let visibility = s.orgs.get(&key).and_then(|members| members.get(&user.login)).copied();
    let Some(visibility) = visibility else { return not_found() };
    // Without read:org, GitHub shows an OAuth app only public memberships.
    if visibility != Visibility::Public && !scope.split(',').any(|s| s == "read:org" || s == "admin:org") {
        return not_found();
    }
    let state_name = if visibility == Visibility::Pending { "pending" } else { "active" };
    Json(json!({
        "url": format!("/orgs/{org}/memberships/{}", user.login),
        "state": state_name,
        "role": "member",
        "organization_url": format!("/orgs/{org}"),
        "organization": {"login": org, "id": 9000},
        "user": simple_user(&user),
    }))
    .into_response()
}

async fn member_check(AxumState(state): Shared, Path((org, username)): Path<(String, String)>, headers: HeaderMap) -> Response {
    arrive(&state, format!("GET /orgs/{org}/members/{username}")).await;
    let s = state.lock().unwrap();
    let members = s.orgs.get(&org.to_ascii_lowercase()).cloned().unwrap_or_default();
    let requester_is_member = caller(&s, &headers).is_ok_and(|(u, _)| members.get(&u.login).is_some_and(|v| *v != Visibility::Pending));
    if !requester_is_member {
        let location = format!("/orgs/{org}/public_members/{username}");
        return (StatusCode::FOUND, [(header::LOCATION, location)]).into_response();
    }
    match members.get(&username) {
        Some(Visibility::Public | Visibility::Private) => StatusCode::NO_CONTENT.into_response(),
        _ => not_found(),
    }
}

async fn public_member_check(AxumState(state): Shared, Path((org, username)): Path<(String, String)>) -> Response {
    arrive(&state, format!("GET /orgs/{org}/public_members/{username}")).await;
    let s = state.lock().unwrap();
    match s.orgs.get(&org.to_ascii_lowercase()).and_then(|m| m.get(&username)) {
        Some(Visibility::Public) => StatusCode::NO_CONTENT.into_response(),
        _ => not_found(),
    }
}

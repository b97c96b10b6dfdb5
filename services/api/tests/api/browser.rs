//! [`Browser`]: a browser of one test user against a [`TestApp`] and the fake GitHub: it keeps
//! the panel's cookies, does not follow redirects (tests look at each hop), and walks the
//! GitHub login. Plus [`TestApp::configure_login`], [`login_app`] and [`session_events`].

use std::collections::BTreeMap;

use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};
use warp_test_support::fake_github::FakeGithub;

use crate::helpers::TestApp;

/// Client id of the test's OAuth app.
pub const CLIENT_ID: &str = "Ov23liFakeClient0001";
/// Client secret of the test's OAuth app.
pub const CLIENT_SECRET: &str = "fake_client_secret_0123456789abcdef";

impl TestApp {
    /// Points login at `github` (client id and secret registered there, `public_url` = this
    /// app) and applies `extra` settings (allowlists); asserts the change was saved.
    pub async fn configure_login(&self, github: &FakeGithub, extra: Value) {
        self.configure_login_with_secret(github, CLIENT_SECRET, extra).await;
    }

    /// [`Self::configure_login`] with another client secret.
    pub async fn configure_login_with_secret(&self, github: &FakeGithub, secret: &str, extra: Value) {
        github.add_client(CLIENT_ID, secret);
        let mut body = json!({
            "github_web_url": github.url, "github_api_url": github.url,
            "github_client_id": CLIENT_ID, "github_client_secret": secret, "public_url": self.address,
        });
        for (key, value) in extra.as_object().cloned().unwrap_or_default() {
            body[key] = value;
        }
        let response = self.put_settings(&self.admin, &body, None).await;
        assert_eq!(response.status(), StatusCode::OK, "configuring login: {}", response.text().await.unwrap());
    }
}

/// One browser: its cookies for the panel.
pub struct Browser<'a> {
    app: &'a TestApp,
    client: reqwest::Client,
    pub cookies: BTreeMap<String, String>,
    /// Extra headers sent on every request to the panel (e.g. `accept: text/html`).
    pub headers: Vec<(String, String)>,
}

impl<'a> Browser<'a> {
    /// A browser without cookies.
    pub fn new(app: &'a TestApp) -> Self {
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Self { app, client, cookies: BTreeMap::new(), headers: Vec::new() }
    }

    /// Keeps what `Set-Cookie` says (a `Max-Age=0` deletes).
    fn absorb(&mut self, response: &Response) {
        for header in response.headers().get_all("set-cookie") {
            let text = header.to_str().unwrap();
            let (pair, attributes) = text.split_once(';').unwrap_or((text, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if attributes.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    /// Sends `method` to `target` (a panel path or a full panel URL) with the cookies.
    pub async fn send(&mut self, method: Method, target: &str, body: Option<&Value>, headers: &[(&str, &str)]) -> Response {
        let url = if target.starts_with('/') { format!("{}{target}", self.app.address) } else { target.to_owned() };
        let mut request = self.client.request(method, url);
        if !self.cookies.is_empty() {
            let jar = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
            request = request.header("cookie", jar);
        }
        for (name, value) in &self.headers {
            request = request.header(name.as_str(), value.as_str());
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("send");
        self.absorb(&response);
        response
    }

    pub async fn get(&mut self, target: &str) -> Response {
        self.send(Method::GET, target, None, &[]).await
    }

    /// `GET /auth/login`, asserting the redirect to GitHub; returns the authorize URL.
    pub async fn start_login(&mut self, return_to: Option<&str>) -> String {
        let path = match return_to {
            Some(to) => format!("/auth/login?return_to={}", urlencode(to)),
            None => "/auth/login".to_owned(),
        };
        let response = self.get(&path).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{}", response.text().await.unwrap());
        location(&response)
    }

    /// The signed-in GitHub user approves: GitHub's redirect back (the callback URL).
    pub async fn approve(&self, authorize_url: &str) -> String {
        let response = self.client.get(authorize_url).send().await.expect("reach the fake GitHub");
        assert_eq!(response.status(), StatusCode::FOUND, "GitHub authorize answered {}", response.status());
        location(&response)
    }

    /// The whole login of `login` on `github`: returns the callback's response.
    pub async fn log_in(&mut self, github: &FakeGithub, login: &str) -> Response {
        github.sign_in(login);
        let authorize = self.start_login(Some("/projects")).await;
        let callback = self.approve(&authorize).await;
        self.get(&callback).await
    }

    /// [`Self::log_in`], asserting it succeeded.
    pub async fn logged_in(mut self, github: &FakeGithub, login: &str) -> Self {
        let response = self.log_in(github, login).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "login of {login}: {}", response.text().await.unwrap());
        self
    }

    pub async fn me(&mut self) -> Response {
        self.get("/auth/me").await
    }

    /// The session's CSRF token, from `GET /auth/me`.
    pub async fn csrf_token(&mut self) -> String {
        let me: Value = self.me().await.json().await.unwrap();
        me["session"]["csrf_token"].as_str().expect("a session has a csrf token").to_owned()
    }

    /// A same-origin state change, as the panel's own page sends it.
    pub async fn post_same_origin(&mut self, path: &str, body: Option<&Value>) -> Response {
        let token = self.csrf_token().await;
        let origin = self.app.address.clone();
        let headers = [("origin", origin.as_str()), ("sec-fetch-site", "same-origin"), ("x-csrf-token", token.as_str())];
        self.send(Method::POST, path, body, &headers).await
    }

    /// The session cookie's value.
    pub fn session_cookie(&self) -> Option<String> {
        self.cookies.get("warp_session").cloned()
    }
}

/// The `Location` of a redirect.
pub fn location(response: &Response) -> String {
    response.headers().get("location").expect("a Location header").to_str().unwrap().to_owned()
}

/// The value of query parameter `name` in `url`.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    reqwest::Url::parse(url).ok()?.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// `url` with query parameter `name` set to `value`.
pub fn with_param(url: &str, name: &str, value: &str) -> String {
    let mut parsed = reqwest::Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> =
        parsed.query_pairs().filter(|(k, _)| k != name).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    parsed.query_pairs_mut().clear().extend_pairs(pairs).append_pair(name, value);
    parsed.into()
}

fn urlencode(raw: &str) -> String {
    raw.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

/// An app whose login admits `extra`'s allowlists, and its fake GitHub with users `octocat`
/// (id 583231), `hubot` (id 2) and `mallory` (id 666).
pub async fn login_app(extra: Value) -> (TestApp, FakeGithub) {
    let app = TestApp::spawn().await;
    let github = FakeGithub::start().await;
    github.add_user("octocat", 583231);
    github.add_user("hubot", 2);
    github.add_user("mallory", 666);
    app.configure_login(&github, extra).await;
    (app, github)
}

pub async fn session_events(app: &TestApp) -> Vec<(String, Value)> {
    sqlx::query_as("select event_type, payload::jsonb from events where aggregate_type = 'session' order by global_position")
        .fetch_all(&app.db.pool)
        .await
        .unwrap()
}

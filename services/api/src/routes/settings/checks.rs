//! Checking a changed token against its API before it is saved.
//!
//! - GitHub: `GET {github_api_url}/user` with `Authorization: Bearer <token>`; 200 = valid,
//!   401 (`{"message":"Bad credentials"}`) or 403 = rejected.
//! - Cloudflare: `GET {cloudflare_api_url}/user/tokens/verify`; 200 with
//!   `{"success":true,"result":{"status":"active"}}` = valid, any other status in `result` or a
//!   400/401/403 with `{"success":false,"errors":[{"code":1000,"message":"Invalid API Token"}]}`
//!   = rejected.
//!
//! A rejection refuses the change (422 on the token's field). When the API cannot be reached
//! (connection refused, DNS, timeout) or answers with a server error, the token is saved
//! unchecked and the answer says so: a panel must stay configurable while offline.

use std::time::Duration;

use serde::Serialize;
use warp_domain::validate::ApiToken;
use warp_domain::ValidationError;
use warp_platform::redact::Redactor;

/// What a check found out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    /// The API accepted the token.
    Verified,
    /// The API could not be asked; the token was saved without a check.
    Unchecked,
}

/// The outcome of checking one token, as returned by `PUT /api/settings`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TokenCheck {
    /// The setting, e.g. `github_token`.
    pub setting: String,
    pub status: CheckStatus,
    /// What happened, for people.
    pub detail: String,
}

/// An HTTP client for token checks: 5 s to connect, 10 s per check, no redirects (a token is
/// never sent to a host other than the configured one).
#[derive(Debug, Clone)]
pub struct TokenChecks {
    client: reqwest::Client,
}

impl Default for TokenChecks {
    fn default() -> Self {
        Self::new()
    }
}

impl TokenChecks {
    /// A client with the timeouts above.
    pub fn new() -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("warp-panel/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the HTTP client builds");
        Self { client }
    }

    /// Checks a GitHub token against `{api_url}/user`.
    pub async fn github(&self, api_url: &str, token: &ApiToken, redactor: &Redactor) -> Result<TokenCheck, ValidationError> {
        let field = "github_token";
        let request = self
            .client
            .get(format!("{api_url}/user"))
            .bearer_auth(token.expose())
            .header("accept", "application/vnd.github+json")
            .header("x-github-api-version", "2022-11-28");
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => return Ok(unchecked(field, "GitHub", &error)),
        };
        let status = response.status();
        if status.is_success() {
            return Ok(verified(field, "GitHub accepted the token"));
        }
        if status.is_server_error() {
            return Ok(unchecked_status(field, "GitHub", status));
        }
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        let message = body["message"].as_str().unwrap_or("no reason given");
        Err(ValidationError::new(
            field,
            format!("GitHub rejected the token (HTTP {}: {}); nothing was changed", status.as_u16(), clean(message, token, redactor)),
        ))
    }

    /// Checks a Cloudflare API token against `{api_url}/user/tokens/verify`.
    pub async fn cloudflare(&self, api_url: &str, token: &ApiToken, redactor: &Redactor) -> Result<TokenCheck, ValidationError> {
        let field = "cloudflare_api_token";
        let request = self.client.get(format!("{api_url}/user/tokens/verify")).bearer_auth(token.expose());
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => return Ok(unchecked(field, "Cloudflare", &error)),
        };
        let status = response.status();
        if status.is_server_error() {
            return Ok(unchecked_status(field, "Cloudflare", status));
        }
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        let token_status = body["result"]["status"].as_str();
        if status.is_success() && body["success"] == true && token_status == Some("active") {
            return Ok(verified(field, "Cloudflare reports the token active"));
        }
        let reason = match (token_status, body["errors"].get(0)) {
            (Some(other), _) if status.is_success() => format!("the token is {other}"),
            (_, Some(error)) => format!(
                "code {}: {}",
                error["code"].as_i64().unwrap_or_default(),
                error["message"].as_str().unwrap_or("no reason given")
            ),
            _ => "no reason given".to_owned(),
        };
        Err(ValidationError::new(
            field,
            format!("Cloudflare rejected the token (HTTP {}, {}); nothing was changed", status.as_u16(), clean(&reason, token, redactor)),
        ))
    }
}

fn verified(field: &str, detail: &str) -> TokenCheck {
    TokenCheck { setting: field.to_owned(), status: CheckStatus::Verified, detail: detail.to_owned() }
}

fn unchecked(field: &str, api: &str, error: &reqwest::Error) -> TokenCheck {
    let why = if error.is_timeout() { "timed out" } else if error.is_connect() { "connection failed" } else { "request failed" };
    tracing::warn!(setting = field, error = %error, "token check skipped: API not reachable");
    TokenCheck {
        setting: field.to_owned(),
        status: CheckStatus::Unchecked,
        detail: format!("{api} API not reachable ({why}); the token was saved without a check"),
    }
}

fn unchecked_status(field: &str, api: &str, status: reqwest::StatusCode) -> TokenCheck {
    TokenCheck {
        setting: field.to_owned(),
        status: CheckStatus::Unchecked,
        detail: format!("{api} API answered HTTP {}; the token was saved without a check", status.as_u16()),
    }
}

/// An outside message made safe to return: the token and every known secret masked, control
/// characters dropped, at most 200 characters.
fn clean(message: &str, token: &ApiToken, redactor: &Redactor) -> String {
    let masked = redactor.redact(&message.replace(token.expose(), warp_platform::redact::MASK));
    masked.chars().filter(|c| !c.is_control()).take(200).collect()
}

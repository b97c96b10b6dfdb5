//! The Cloudflare API, as far as the panel uses it: DNS records of one zone and one tunnel
//! (its state, connections and remote configuration).
//!
//! [`CloudflareApi`] is what jobs and status reads call; [`CloudflareClient`] implements it
//! with reqwest against `{cloudflare_api_url}` (tests point that at the fake in
//! `warp-test-support`). Every answer is Cloudflare's envelope
//! `{"success","errors":[{"code","message"}],"messages","result","result_info"}`;
//! `success: false` becomes a [`CloudflareError`] carrying `errors[].code`.
//!
//! Endpoints (Cloudflare API v4):
//! - `GET /zones/{zone}/dns_records?name=<host>`, `POST /zones/{zone}/dns_records`,
//!   `PATCH`/`DELETE /zones/{zone}/dns_records/{id}`; a record body is
//!   `{"type","name","content","proxied","ttl","comment"}` (`ttl` 1 = automatic).
//! - `GET /accounts/{account}/cfd_tunnel/{tunnel}` (`status`, `remote_config`),
//!   `GET …/{tunnel}/connections` (one entry per cloudflared with its `conns`),
//!   `GET`/`PUT …/{tunnel}/configurations` with `{"config":{"ingress":[…],…}}`; PUT replaces
//!   the whole configuration.
//!
//! The API token is sent only as `Authorization: Bearer …` to the configured base URL, with
//! redirects off; it is never part of an error, a log line or an answer.

use std::time::Duration;

use futures::future::BoxFuture;
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::config::RetryPolicy;

/// Cloudflare's codes for "a record with that name already exists" (81053: an A/AAAA/CNAME
/// record exists; 81057: the same record exists; 81058: an identical record exists).
pub const RECORD_EXISTS_CODES: [i64; 3] = [81053, 81057, 81058];
/// Cloudflare's codes for a token it does not accept (10000 authentication error, 9109 invalid
/// access token, 1000 invalid API token, 6003/6111 invalid request headers).
pub const AUTH_CODES: [i64; 5] = [10000, 9109, 1000, 6003, 6111];

/// One entry of an envelope's `errors` or `messages`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiMessage {
    pub code: i64,
    #[serde(default)]
    pub message: String,
}

/// A DNS record as Cloudflare returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsRecord {
    pub id: String,
    #[serde(rename = "type")]
    pub record_type: String,
    pub name: String,
    pub content: String,
    #[serde(default)]
    pub proxied: bool,
    #[serde(default)]
    pub comment: Option<String>,
}

/// A DNS record to create or to update to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewDnsRecord {
    #[serde(rename = "type")]
    pub record_type: String,
    pub name: String,
    pub content: String,
    pub proxied: bool,
    /// 1 = automatic.
    pub ttl: u32,
    pub comment: Option<String>,
}

/// A Cloudflare Tunnel (`cfd_tunnel`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tunnel {
    pub id: String,
    #[serde(default)]
    pub name: String,
    /// `inactive`, `degraded`, `healthy` or `down`.
    #[serde(default)]
    pub status: Option<String>,
    /// Whether the tunnel takes its configuration from Cloudflare (remote) rather than a local
    /// file.
    #[serde(default)]
    pub remote_config: Option<bool>,
}

/// One cloudflared process connected to the tunnel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TunnelClient {
    pub id: String,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub run_at: Option<String>,
    #[serde(default)]
    pub conns: Vec<TunnelConnection>,
}

/// One connection of a cloudflared to a Cloudflare data centre.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TunnelConnection {
    #[serde(default)]
    pub colo_name: Option<String>,
    #[serde(default)]
    pub is_pending_reconnect: bool,
    #[serde(default)]
    pub opened_at: Option<String>,
}

/// A tunnel's remote configuration: `config` is kept as JSON so settings the panel does not
/// know (`originRequest`, `warp-routing`, …) are written back as they were.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TunnelConfiguration {
    #[serde(default)]
    pub version: Option<i64>,
    #[serde(default)]
    pub config: serde_json::Value,
}

/// Why a Cloudflare call failed. Messages never contain the API token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CloudflareError {
    /// The token was refused (HTTP 401/403, or one of [`AUTH_CODES`]).
    #[error("Cloudflare refused the API token (HTTP {status}{}): check cloudflare_api_token and its permissions", codes(errors))]
    Unauthorized { status: u16, errors: Vec<ApiMessage> },
    /// A record with that name exists already (one of [`RECORD_EXISTS_CODES`]).
    #[error("a DNS record with that name already exists (Cloudflare code {code})")]
    RecordExists { code: i64 },
    /// Any other refusal (`success: false` or a 4xx).
    #[error("Cloudflare answered HTTP {status}{}", codes(errors))]
    Api { status: u16, errors: Vec<ApiMessage> },
    /// Still rate-limited (HTTP 429) after every attempt.
    #[error("Cloudflare rate-limited the panel (HTTP 429) on all {attempts} attempts")]
    RateLimited { attempts: u32 },
    /// Still a server error after every attempt.
    #[error("Cloudflare answered HTTP {status} (a server error) on all {attempts} attempts")]
    Server { status: u16, attempts: u32 },
    /// No answer (connection refused, DNS, timeout) after every attempt.
    #[error("Cloudflare could not be reached: {0}")]
    Unreachable(String),
    /// An answer that is not Cloudflare's envelope.
    #[error("Cloudflare's answer could not be read: {0}")]
    Malformed(String),
}

fn codes(errors: &[ApiMessage]) -> String {
    if errors.is_empty() {
        return String::new();
    }
    let list: Vec<String> = errors.iter().map(|e| format!("{} {}", e.code, e.message)).collect();
    format!(", code {}", list.join("; "))
}

impl CloudflareError {
    /// The `errors[].code` values Cloudflare sent.
    pub fn codes(&self) -> Vec<i64> {
        match self {
            CloudflareError::Unauthorized { errors, .. } | CloudflareError::Api { errors, .. } => {
                errors.iter().map(|e| e.code).collect()
            }
            CloudflareError::RecordExists { code } => vec![*code],
            _ => Vec::new(),
        }
    }
}

/// What the panel asks of Cloudflare. Object-safe, so jobs hold an `Arc<dyn CloudflareApi>`.
pub trait CloudflareApi: Send + Sync {
    /// Records of any type in `zone` named exactly `name`.
    fn dns_records(&self, zone: &str, name: &str) -> BoxFuture<'_, Result<Vec<DnsRecord>, CloudflareError>>;
    /// Creates `record` in `zone`.
    fn create_dns_record<'a>(&'a self, zone: &'a str, record: &'a NewDnsRecord) -> BoxFuture<'a, Result<DnsRecord, CloudflareError>>;
    /// Changes record `id` of `zone` to `record`.
    fn update_dns_record<'a>(
        &'a self,
        zone: &'a str,
        id: &'a str,
        record: &'a NewDnsRecord,
    ) -> BoxFuture<'a, Result<DnsRecord, CloudflareError>>;
    /// Deletes record `id` of `zone`.
    fn delete_dns_record<'a>(&'a self, zone: &'a str, id: &'a str) -> BoxFuture<'a, Result<(), CloudflareError>>;
    /// The tunnel.
    fn tunnel<'a>(&'a self, account: &'a str, tunnel: &'a str) -> BoxFuture<'a, Result<Tunnel, CloudflareError>>;
    /// The cloudflared processes connected to the tunnel.
    fn tunnel_connections<'a>(&'a self, account: &'a str, tunnel: &'a str) -> BoxFuture<'a, Result<Vec<TunnelClient>, CloudflareError>>;
    /// The tunnel's remote configuration.
    fn tunnel_configuration<'a>(&'a self, account: &'a str, tunnel: &'a str) -> BoxFuture<'a, Result<TunnelConfiguration, CloudflareError>>;
    /// Replaces the tunnel's remote configuration with `config` (the `config` object).
    fn put_tunnel_configuration<'a>(
        &'a self,
        account: &'a str,
        tunnel: &'a str,
        config: &'a serde_json::Value,
    ) -> BoxFuture<'a, Result<TunnelConfiguration, CloudflareError>>;
}

/// [`CloudflareApi`] over HTTPS with reqwest.
pub struct CloudflareClient {
    http: reqwest::Client,
    base: String,
    token: SecretString,
    retry: RetryPolicy,
}

#[derive(Deserialize)]
struct Envelope<T> {
    #[serde(default)]
    success: bool,
    #[serde(default)]
    errors: Vec<ApiMessage>,
    result: Option<T>,
}

impl CloudflareClient {
    /// A client for `base` (the validated `cloudflare_api_url`, no trailing `/`) with `token`:
    /// 5 s to connect, 30 s per request, no redirects.
    pub fn new(base: &str, token: SecretString, retry: RetryPolicy) -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(30))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("the Cloudflare HTTP client builds");
        Self { http, base: base.trim_end_matches('/').to_owned(), token, retry }
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&serde_json::Value>,
    ) -> Result<T, CloudflareError> {
        let url = format!("{}{path}", self.base);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut request = self.http.request(method.clone(), &url).bearer_auth(self.token.expose_secret()).query(query);
            if let Some(body) = body {
                request = request.json(body);
            }
            let retry_after;
            let failure = match request.send().await {
                Err(error) => {
                    retry_after = None;
                    CloudflareError::Unreachable(error.without_url().to_string())
                }
                Ok(response) => {
                    let status = response.status();
                    retry_after = response
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(Duration::from_secs);
                    let text = response.text().await.map_err(|e| CloudflareError::Malformed(e.without_url().to_string()))?;
                    if status == StatusCode::TOO_MANY_REQUESTS {
                        CloudflareError::RateLimited { attempts: attempt }
                    } else if status.is_server_error() {
                        CloudflareError::Server { status: status.as_u16(), attempts: attempt }
                    } else {
                        return decode(status, &text);
                    }
                }
            };
            if attempt >= self.retry.max_attempts {
                return Err(failure);
            }
            let wait = self.retry.wait(attempt, retry_after);
            tracing::info!(
                http.method = %method, cloudflare.path = %path, attempt, wait_ms = wait.as_millis() as u64, reason = %failure,
                "retrying a Cloudflare call"
            );
            tokio::time::sleep(wait).await;
        }
    }
}

/// The result of a non-retryable answer, or the error it carries.
fn decode<T: DeserializeOwned>(status: StatusCode, text: &str) -> Result<T, CloudflareError> {
    let envelope: Result<Envelope<T>, _> = serde_json::from_str(text);
    let errors = match &envelope {
        Ok(e) => e.errors.clone(),
        Err(_) => serde_json::from_str::<Envelope<serde_json::Value>>(text).map(|e| e.errors).unwrap_or_default(),
    };
    if let Some(code) = errors.iter().map(|e| e.code).find(|c| RECORD_EXISTS_CODES.contains(c)) {
        return Err(CloudflareError::RecordExists { code });
    }
    let auth = errors.iter().any(|e| AUTH_CODES.contains(&e.code));
    if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN || auth {
        return Err(CloudflareError::Unauthorized { status: status.as_u16(), errors });
    }
    match envelope {
        Ok(Envelope { success: true, result: Some(result), .. }) if status.is_success() => Ok(result),
        Ok(_) if !status.is_success() || !errors.is_empty() => Err(CloudflareError::Api { status: status.as_u16(), errors }),
        Ok(_) => Err(CloudflareError::Malformed(format!("HTTP {status} without success and result"))),
        Err(_) if !status.is_success() => Err(CloudflareError::Api { status: status.as_u16(), errors }),
        Err(error) => Err(CloudflareError::Malformed(error.to_string())),
    }
}

impl CloudflareApi for CloudflareClient {
    fn dns_records(&self, zone: &str, name: &str) -> BoxFuture<'_, Result<Vec<DnsRecord>, CloudflareError>> {
        let path = format!("/zones/{zone}/dns_records");
        let name = name.to_owned();
        Box::pin(async move { self.call(Method::GET, &path, &[("name", &name), ("per_page", "100")], None).await })
    }

    fn create_dns_record<'a>(&'a self, zone: &'a str, record: &'a NewDnsRecord) -> BoxFuture<'a, Result<DnsRecord, CloudflareError>> {
        Box::pin(async move {
            let body = serde_json::to_value(record).map_err(|e| CloudflareError::Malformed(e.to_string()))?;
            self.call(Method::POST, &format!("/zones/{zone}/dns_records"), &[], Some(&body)).await
        })
    }

    fn update_dns_record<'a>(
        &'a self,
        zone: &'a str,
        id: &'a str,
        record: &'a NewDnsRecord,
    ) -> BoxFuture<'a, Result<DnsRecord, CloudflareError>> {
        Box::pin(async move {
            let body = serde_json::to_value(record).map_err(|e| CloudflareError::Malformed(e.to_string()))?;
            self.call(Method::PATCH, &format!("/zones/{zone}/dns_records/{id}"), &[], Some(&body)).await
        })
    }

    fn delete_dns_record<'a>(&'a self, zone: &'a str, id: &'a str) -> BoxFuture<'a, Result<(), CloudflareError>> {
        Box::pin(async move {
            let _: serde_json::Value = self.call(Method::DELETE, &format!("/zones/{zone}/dns_records/{id}"), &[], None).await?;
            Ok(())
        })
    }

    fn tunnel<'a>(&'a self, account: &'a str, tunnel: &'a str) -> BoxFuture<'a, Result<Tunnel, CloudflareError>> {
        Box::pin(async move { self.call(Method::GET, &format!("/accounts/{account}/cfd_tunnel/{tunnel}"), &[], None).await })
    }

    fn tunnel_connections<'a>(&'a self, account: &'a str, tunnel: &'a str) -> BoxFuture<'a, Result<Vec<TunnelClient>, CloudflareError>> {
        Box::pin(async move {
            self.call(Method::GET, &format!("/accounts/{account}/cfd_tunnel/{tunnel}/connections"), &[], None).await
        })
    }

    fn tunnel_configuration<'a>(&'a self, account: &'a str, tunnel: &'a str) -> BoxFuture<'a, Result<TunnelConfiguration, CloudflareError>> {
        Box::pin(async move {
            self.call(Method::GET, &format!("/accounts/{account}/cfd_tunnel/{tunnel}/configurations"), &[], None).await
        })
    }

    fn put_tunnel_configuration<'a>(
        &'a self,
        account: &'a str,
        tunnel: &'a str,
        config: &'a serde_json::Value,
    ) -> BoxFuture<'a, Result<TunnelConfiguration, CloudflareError>> {
        Box::pin(async move {
            let body = serde_json::json!({ "config": config });
            self.call(Method::PUT, &format!("/accounts/{account}/cfd_tunnel/{tunnel}/configurations"), &[], Some(&body)).await
        })
    }
}

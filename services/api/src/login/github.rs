//! GitHub's side of login: the OAuth web flow (with the `oauth2` crate) and the two REST calls
//! made with the user's token.
//!
//! - Authorize: `GET {github_web_url}/login/oauth/authorize?client_id&redirect_uri&scope&state
//!   &code_challenge&code_challenge_method=S256`, scope `read:org` (without it GitHub hides
//!   private org memberships from the app).
//! - Token: `POST {github_web_url}/login/oauth/access_token` with `client_id`, `client_secret`,
//!   `code`, `redirect_uri` and `code_verifier` in the form body, `Accept: application/json`.
//!   GitHub answers refusals (`bad_verification_code`, `incorrect_client_credentials`,
//!   `redirect_uri_mismatch`) with **HTTP 200** and `{"error","error_description","error_uri"}`:
//!   `oauth2` then fails to read a token, and [`Github::exchange`] reports the GitHub error.
//! - `GET {github_api_url}/user`: `{"id","login",…}`; 401 `Bad credentials`.
//! - `GET {github_api_url}/user/memberships/orgs/{org}`: 200 `{"state":"active"|"pending",
//!   "role",…}` for a member (private or public), 404 when the user is not a member, 403 when
//!   the org blocks the app (OAuth app access restrictions).
//!
//! The HTTP client follows no redirects (a token is never sent to another host) and gives up
//! after [`super::LoginOptions::github_timeout`].

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use oauth2::basic::{BasicClient, BasicErrorResponse};
use oauth2::{
    AsyncHttpClient, AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, HttpClientError, HttpRequest,
    HttpResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope, TokenResponse, TokenUrl,
};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::LoginConfig;

/// The scope asked for: reading org membership, including private membership.
pub const SCOPE: &str = "read:org";

/// Why a GitHub call did not give an answer to act on.
#[derive(Debug, thiserror::Error)]
pub enum GithubError {
    /// GitHub could not be reached, timed out, or answered with a server error.
    #[error("GitHub did not answer ({0}); try again")]
    Unavailable(String),
    /// GitHub refused: an OAuth error code (`bad_verification_code`, …) and its description.
    #[error("GitHub refused the login: {code}{}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Refused { code: String, description: Option<String> },
    /// The user's token no longer works (401 `Bad credentials`).
    #[error("GitHub no longer accepts the user's token")]
    TokenRevoked,
}

/// A GitHub user as `/user` describes it (only what the panel uses).
#[derive(Debug, Clone, Deserialize)]
pub struct GithubUser {
    pub id: u64,
    pub login: String,
}

/// What `/user/memberships/orgs/{org}` says about the user and the org.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Membership {
    /// An active member (public or private).
    Active,
    /// Invited, not yet accepted.
    Pending,
    /// Not a member (404).
    None,
    /// The org does not let this app see its members (403).
    Blocked,
}

/// The GitHub HTTP client of the login flow.
#[derive(Debug, Clone)]
pub struct Github {
    http: reqwest::Client,
}

impl Github {
    /// A client that gives up after `timeout`.
    pub fn new(timeout: Duration) -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("warp-panel/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the HTTP client builds");
        Self { http }
    }

    /// GitHub's authorize URL for `state` and the PKCE `challenge`.
    pub fn authorize_url(&self, config: &LoginConfig, state: &str, challenge: PkceCodeChallenge) -> Result<String, GithubError> {
        let client = oauth_client(config)?;
        let state = state.to_owned();
        let (url, _) = client
            .authorize_url(move || CsrfToken::new(state))
            .add_scope(Scope::new(SCOPE.to_owned()))
            .set_pkce_challenge(challenge)
            .url();
        Ok(url.into())
    }

    /// Exchanges `code` (with the PKCE `verifier`) for the user's access token.
    pub async fn exchange(&self, config: &LoginConfig, code: &str, verifier: &SecretString) -> Result<SecretString, GithubError> {
        let client = oauth_client(config)?;
        let http = OauthHttp(&self.http);
        let result = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .set_pkce_verifier(PkceCodeVerifier::new(verifier.expose_secret().to_owned()))
            .request_async(&http)
            .await;
        match result {
            Ok(token) => Ok(SecretString::from(token.access_token().secret().to_owned())),
            Err(RequestTokenError::ServerResponse(error)) => Err(refused(&error)),
            Err(RequestTokenError::Parse(_, body)) => match serde_json::from_slice::<BasicErrorResponse>(&body) {
                // HTTP 200 with {"error": …}: GitHub's way of refusing.
                Ok(error) => Err(refused(&error)),
                Err(_) => Err(GithubError::Unavailable("the token endpoint answered something that is not a token".into())),
            },
            Err(RequestTokenError::Request(error)) => Err(GithubError::Unavailable(describe_oauth(&error))),
            Err(RequestTokenError::Other(other)) => Err(GithubError::Unavailable(other)),
        }
    }

    /// `GET /user` with the user's token.
    pub async fn user(&self, api_url: &str, token: &SecretString) -> Result<GithubUser, GithubError> {
        let response = self.get(&format!("{api_url}/user"), token).await?;
        match response.status().as_u16() {
            200 => response.json().await.map_err(|_| GithubError::Unavailable("GET /user answered an unreadable user".into())),
            401 => Err(GithubError::TokenRevoked),
            status => Err(GithubError::Unavailable(format!("GET /user answered HTTP {status}"))),
        }
    }

    /// The user's membership in `org` (`GET /user/memberships/orgs/{org}`).
    pub async fn membership(&self, api_url: &str, token: &SecretString, org: &str) -> Result<Membership, GithubError> {
        let response = self.get(&format!("{api_url}/user/memberships/orgs/{org}"), token).await?;
        #[derive(Deserialize)]
        struct Body {
            state: String,
        }
        match response.status().as_u16() {
            200 => match response.json::<Body>().await.map(|b| b.state) {
                Ok(state) if state == "active" => Ok(Membership::Active),
                Ok(_) => Ok(Membership::Pending),
                Err(_) => Err(GithubError::Unavailable("the org membership answer is unreadable".into())),
            },
            404 => Ok(Membership::None),
            403 => Ok(Membership::Blocked),
            401 => Err(GithubError::TokenRevoked),
            status => Err(GithubError::Unavailable(format!("GET /user/memberships/orgs/{{org}} answered HTTP {status}"))),
        }
    }

    async fn get(&self, url: &str, token: &SecretString) -> Result<reqwest::Response, GithubError> {
        self.http
            .get(url)
            .bearer_auth(token.expose_secret())
            .header("accept", "application/vnd.github+json")
            .header("x-github-api-version", "2022-11-28")
            .send()
            .await
            .map_err(|e| GithubError::Unavailable(describe(&e)))
    }
}

/// `oauth2`'s client with the authorize and token endpoints set.
type OauthClient = oauth2::Client<
    BasicErrorResponse,
    oauth2::basic::BasicTokenResponse,
    oauth2::basic::BasicTokenIntrospectionResponse,
    oauth2::StandardRevocableToken,
    oauth2::basic::BasicRevocationErrorResponse,
    oauth2::EndpointSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointSet,
>;

fn oauth_client(config: &LoginConfig) -> Result<OauthClient, GithubError> {
    let bad = |what: &str| GithubError::Unavailable(format!("the {what} URL derived from the settings is invalid"));
    Ok(BasicClient::new(ClientId::new(config.client_id.clone()))
        .set_client_secret(ClientSecret::new(config.client_secret.expose_secret().to_owned()))
        .set_auth_uri(AuthUrl::new(format!("{}/login/oauth/authorize", config.web_url)).map_err(|_| bad("authorize"))?)
        .set_token_uri(TokenUrl::new(format!("{}/login/oauth/access_token", config.web_url)).map_err(|_| bad("token"))?)
        .set_redirect_uri(RedirectUrl::new(config.callback_url()).map_err(|_| bad("callback"))?)
        .set_auth_type(AuthType::RequestBody))
}

fn refused(error: &BasicErrorResponse) -> GithubError {
    let clean = |text: &str| text.chars().filter(|c| !c.is_control()).take(200).collect::<String>();
    GithubError::Refused {
        code: clean(error.error().as_ref()),
        description: error.error_description().map(|d| clean(d)),
    }
}

fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() { "timed out".into() } else { "connection failed".into() }
}

fn describe_oauth(error: &HttpClientError<reqwest::Error>) -> String {
    match error {
        HttpClientError::Reqwest(error) => describe(error),
        _ => "request failed".into(),
    }
}

/// `oauth2`'s HTTP client over the panel's reqwest client.
struct OauthHttp<'a>(&'a reqwest::Client);

impl<'c> AsyncHttpClient<'c> for OauthHttp<'_> {
    type Error = HttpClientError<reqwest::Error>;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, Self::Error>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let request: reqwest::Request = request.try_into().map_err(Box::new)?;
            let response = self.0.execute(request).await.map_err(Box::new)?;
            let mut builder = oauth2::http::Response::builder().status(response.status());
            for (name, value) in response.headers() {
                builder = builder.header(name, value);
            }
            let body = response.bytes().await.map_err(Box::new)?.to_vec();
            builder.body(body).map_err(HttpClientError::Http)
        })
    }
}

//! The OAuth web flow: `GET /login/oauth/authorize` and `POST /login/oauth/access_token`.

use axum::extract::{Query, State as AxumState};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use base64::Engine;
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::{arrive, percent, random, Grant, Shared};

#[derive(Deserialize)]
pub(super) struct AuthorizeQuery {
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

pub(super) async fn authorize(AxumState(state): Shared, Query(q): Query<AuthorizeQuery>) -> Response {
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
pub(super) struct TokenForm {
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

pub(super) async fn access_token(AxumState(state): Shared, headers: HeaderMap, Form(form): Form<TokenForm>) -> Response {
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


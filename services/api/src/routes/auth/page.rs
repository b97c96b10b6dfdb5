//! Login failures answered as a page (browsers) or as the JSON error body (everyone else).

use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// Whether the client asked for HTML (`Accept` names `text/html`, as browsers do on navigation).
pub fn wants_html(headers: &HeaderMap) -> bool {
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/html"))
}

/// `error` as a small HTML page with the same status, or as JSON.
pub fn failure(error: ApiError, html: bool) -> Response {
    if !html {
        return error.into_response();
    }
    let (status, detail) = error.into_parts();
    let body = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Login refused</title></head>\n\
         <body><h1>Login refused</h1><p>{}</p><p><code>{}</code></p><p><a href=\"/auth/login\">Try again</a></p></body></html>\n",
        escape(&detail.message),
        detail.code,
    );
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert("content-security-policy", HeaderValue::from_static("default-src 'none'"));
    response
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

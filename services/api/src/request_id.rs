//! Request ids: accept a sane `x-request-id` or make one (UUIDv7), echo it on the response,
//! and put it (with the correlation id) on the request's span so every log line carries it.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

/// Header carrying the request id.
pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// Header carrying the correlation id (defaults to the request id).
pub static CORRELATION_ID: HeaderName = HeaderName::from_static("x-correlation-id");

/// The ids of one request, available to handlers as an extension.
#[derive(Debug, Clone)]
pub struct RequestIds {
    pub request_id: String,
    pub correlation_id: String,
}

/// Accepts ids of 1-128 characters from `[A-Za-z0-9._:-]`; anything else is replaced, so ids
/// can be logged and stored without escaping.
fn accept(value: Option<&HeaderValue>) -> Option<String> {
    let text = value?.to_str().ok()?;
    let ok = !text.is_empty()
        && text.len() <= 128
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
    ok.then(|| text.to_owned())
}

/// Middleware: assigns [`RequestIds`] and echoes `x-request-id`.
pub async fn assign(mut request: Request, next: Next) -> Response {
    let request_id =
        accept(request.headers().get(&REQUEST_ID)).unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let correlation_id = accept(request.headers().get(&CORRELATION_ID)).unwrap_or_else(|| request_id.clone());
    let header = HeaderValue::from_str(&request_id).expect("request ids are ASCII");
    request.headers_mut().insert(REQUEST_ID.clone(), header.clone());
    request.extensions_mut().insert(RequestIds { request_id, correlation_id });
    let mut response = next.run(request).await;
    response.headers_mut().insert(REQUEST_ID.clone(), header);
    response
}

/// Span of one request: method, path, request id, correlation id, and the actor once
/// authenticated (recorded by [`crate::auth::require_auth`]).
pub fn make_span(request: &Request) -> tracing::Span {
    let ids = request.extensions().get::<RequestIds>();
    tracing::info_span!(
        "http",
        http.method = %request.method(),
        http.path = %request.uri().path(),
        request_id = ids.map(|i| i.request_id.as_str()).unwrap_or(""),
        correlation_id = ids.map(|i| i.correlation_id.as_str()).unwrap_or(""),
        actor = tracing::field::Empty,
    )
}

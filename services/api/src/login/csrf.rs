//! Cross-site request forgery protection for requests authenticated by the session cookie.
//!
//! A request that is not `GET`, `HEAD` or `OPTIONS` and carries the session cookie (and no
//! bearer token) must:
//! 1. not say it is cross-site: `Sec-Fetch-Site`, when sent, is `same-origin` or `none`;
//! 2. come from the panel: `Origin`, when sent, equals the origin of `public_url`;
//! 3. carry `X-CSRF-Token` equal to the session's token (from `GET /auth/me`).
//!
//! The token is derived from the session cookie (SHA-256 of a fixed label and the cookie), so
//! it needs no storage, changes with every login, and reveals nothing about the cookie. A page
//! on another site can neither read it (same-origin policy) nor set the header without a CORS
//! preflight, which the panel never allows. Bearer-token requests are not checked: a browser
//! never adds an `Authorization` header by itself.

use axum::http::{HeaderMap, Method};
use sha2::{Digest, Sha256};

use crate::error::ApiError;

/// Header carrying the token.
pub const HEADER: &str = "x-csrf-token";

/// The CSRF token of the session whose cookie is `cookie` (64 hex digits).
pub fn token(cookie: &str) -> String {
    hex::encode(Sha256::digest(format!("warp-csrf-v1\0{cookie}").as_bytes()))
}

/// Whether `method` changes nothing (and so needs no check).
pub fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Applies the rule above to a cookie-authenticated request.
///
/// # Errors
/// 403 `forbidden` saying which part failed.
pub fn check(headers: &HeaderMap, public_origin: Option<&str>, cookie: &str) -> Result<(), ApiError> {
    let header = |name: &str| headers.get(name).map(|v| v.to_str().unwrap_or("(not text)").to_owned());
    if let Some(site) = header("sec-fetch-site") {
        if site != "same-origin" && site != "none" {
            return Err(ApiError::Forbidden(format!("cross-site request refused (Sec-Fetch-Site: {site:.20})")));
        }
    }
    if let Some(origin) = header("origin") {
        if Some(origin.as_str()) != public_origin {
            return Err(ApiError::Forbidden("cross-origin request refused: Origin is not this panel's public_url".into()));
        }
    }
    let expected = token(cookie);
    let presented = header(HEADER).unwrap_or_default();
    if !constant_time_eq(presented.as_bytes(), expected.as_bytes()) {
        return Err(ApiError::Forbidden(format!("missing or wrong {HEADER} header: send the csrf_token from GET /auth/me")));
    }
    Ok(())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn only_same_origin_requests_with_the_token_pass() {
        let cookie = "ab".repeat(32);
        let origin = Some("https://panel.example.com");
        let mut headers = HeaderMap::new();
        headers.insert(HEADER, HeaderValue::from_str(&token(&cookie)).unwrap());
        assert!(check(&headers, origin, &cookie).is_ok());
        headers.insert("origin", HeaderValue::from_static("https://panel.example.com"));
        headers.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        assert!(check(&headers, origin, &cookie).is_ok());
        let mut cross = headers.clone();
        cross.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(check(&cross, origin, &cookie).is_err());
        let mut evil = headers.clone();
        evil.insert("origin", HeaderValue::from_static("https://evil.example"));
        assert!(check(&evil, origin, &cookie).is_err());
        let mut wrong = headers.clone();
        wrong.insert(HEADER, HeaderValue::from_str(&token("other")).unwrap());
        assert!(check(&wrong, origin, &cookie).is_err());
        headers.remove(HEADER);
        assert!(check(&headers, origin, &cookie).is_err());
    }
}

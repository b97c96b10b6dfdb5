//! The panel's two cookies, both `HttpOnly`, `SameSite=Lax`, `Path=/`, without `Domain` (so
//! host-only), and `Secure` with the `__Host-` prefix when `public_url` is https (browsers
//! then refuse the cookie from plain http or with a `Domain`):
//! - the session cookie (`__Host-warp_session` / `warp_session`): the opaque session id;
//! - the login binding cookie (`__Host-warp_login` / `warp_login`): ties a pending login's
//!   `state` to the browser that started it (10 minutes). `Lax` lets both travel on GitHub's
//!   top-level redirect back to `/auth/callback`.

use axum::http::{HeaderMap, HeaderValue};

/// Session cookie names: secure (https) and plain.
pub const SESSION: [&str; 2] = ["__Host-warp_session", "warp_session"];
/// Login binding cookie names: secure (https) and plain.
pub const BINDING: [&str; 2] = ["__Host-warp_login", "warp_login"];

/// The name of `names` to use when the panel is reached over https or not.
pub fn name(names: [&'static str; 2], https: bool) -> &'static str {
    if https { names[0] } else { names[1] }
}

/// The names a request may use: over https only the `__Host-` one (a cookie without the
/// prefix could have been planted over plain http or from a sibling subdomain).
pub fn accepted(names: [&'static str; 2], https: bool) -> &'static [&'static str] {
    match (names, https) {
        (n, true) if n == SESSION => &SESSION[..1],
        (n, true) if n == BINDING => &BINDING[..1],
        (n, _) if n == SESSION => &SESSION[1..],
        _ => &BINDING[1..],
    }
}

/// The value of the first cookie of `names` the request carries.
pub fn read(headers: &HeaderMap, names: &[&str]) -> Option<String> {
    for wanted in names {
        for header in headers.get_all(axum::http::header::COOKIE) {
            let Ok(text) = header.to_str() else { continue };
            for pair in text.split(';') {
                if let Some((name, value)) = pair.trim().split_once('=') {
                    if name == *wanted {
                        return Some(value.trim_matches('"').to_owned());
                    }
                }
            }
        }
    }
    None
}

/// `Set-Cookie` for `name=value` living `max_age_seconds`.
pub fn set(names: [&'static str; 2], https: bool, value: &str, max_age_seconds: u64) -> HeaderValue {
    let secure = if https { "; Secure" } else { "" };
    let text = format!("{}={value}; Path=/; Max-Age={max_age_seconds}; HttpOnly; SameSite=Lax{secure}", name(names, https));
    HeaderValue::from_str(&text).expect("cookie values are hex")
}

/// `Set-Cookie` that deletes the cookie.
pub fn clear(names: [&'static str; 2], https: bool) -> HeaderValue {
    set(names, https, "", 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_host_only_http_only_lax_and_secure_over_https() {
        let secure = set(SESSION, true, "ab12", 60);
        assert_eq!(secure.to_str().unwrap(), "__Host-warp_session=ab12; Path=/; Max-Age=60; HttpOnly; SameSite=Lax; Secure");
        let plain = set(SESSION, false, "ab12", 60);
        assert_eq!(plain.to_str().unwrap(), "warp_session=ab12; Path=/; Max-Age=60; HttpOnly; SameSite=Lax");
        let mut headers = HeaderMap::new();
        headers.insert("cookie", HeaderValue::from_static("a=1; warp_session=ff00; other=2"));
        assert_eq!(read(&headers, accepted(SESSION, false)).as_deref(), Some("ff00"));
        assert_eq!(read(&headers, accepted(SESSION, true)), None, "over https only __Host- cookies count");
        assert_eq!(read(&headers, accepted(BINDING, false)), None);
    }
}

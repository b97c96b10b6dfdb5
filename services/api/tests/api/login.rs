//! GitHub login: the OAuth web flow with PKCE against the fake GitHub (state, PKCE,
//! `return_to`, allowlists, GitHub's error and slow answers).

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::browser::{location, login_app, query_param, session_events, with_param, Browser};
use crate::helpers::{assert_error, TestApp};

#[tokio::test]
async fn an_allowlisted_user_logs_in_with_pkce_and_gets_a_host_only_session_cookie() {
    let (app, github) = login_app(json!({"allowed_users": ["octocat"]})).await;
    let mut browser = Browser::new(&app);
    github.sign_in("octocat");

    let authorize = browser.start_login(Some("/projects?tab=all")).await;
    assert!(authorize.starts_with(&format!("{}/login/oauth/authorize?", github.url)), "{authorize}");
    assert_eq!(query_param(&authorize, "client_id").as_deref(), Some(crate::browser::CLIENT_ID));
    assert_eq!(query_param(&authorize, "redirect_uri"), Some(format!("{}/auth/callback", app.address)));
    assert_eq!(query_param(&authorize, "scope").as_deref(), Some("read:org"));
    assert_eq!(query_param(&authorize, "code_challenge_method").as_deref(), Some("S256"));
    assert_eq!(query_param(&authorize, "code_challenge").map(|c| c.len()), Some(43), "a base64url SHA-256");
    let state = query_param(&authorize, "state").unwrap();
    assert!(state.len() >= 32 && state.chars().all(|c| c.is_ascii_hexdigit()), "state {state:?} has at least 128 random bits");
    assert!(browser.cookies.contains_key("warp_login"), "the login is bound to this browser");

    let callback = browser.approve(&authorize).await;
    let response = browser.get(&callback).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/projects?tab=all");
    let set_cookie = response.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).find(|c| c.starts_with("warp_session=")).unwrap();
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    assert!(!set_cookie.contains("Domain") && !set_cookie.contains("Secure"), "host-only, plain http panel: {set_cookie}");

    let me: Value = browser.me().await.json().await.unwrap();
    assert_eq!((me["login"].as_str(), me["role"].as_str(), me["auth"].as_str()), (Some("octocat"), Some("member"), Some("session")));
    assert_eq!(me["github_user_id"], 583231);
    assert!(me["session"]["expires_at"].is_string() && me["session"]["absolute_expires_at"].is_string(), "{me}");
    let stored: Vec<Vec<u8>> = sqlx::query_scalar("select cookie_hash from sessions").fetch_all(&app.db.pool).await.unwrap();
    let cookie = browser.session_cookie().unwrap();
    assert!(stored.iter().all(|h| h.as_slice() != cookie.as_bytes()) && stored.len() == 1, "only a hash is stored");

    assert_eq!(browser.get("/api/projects").await.status(), StatusCode::OK, "a session works like a token");
    let audit = app.audit_eventually(&[("action", "session.started")], 1).await;
    assert_eq!((audit[0]["actor"].as_str(), audit[0]["outcome"].as_str()), (Some("octocat"), Some("succeeded")));
}

#[tokio::test]
async fn a_callback_without_a_valid_state_from_this_browser_is_refused() {
    let (app, github) = login_app(json!({"allowed_users": ["octocat"]})).await;
    github.sign_in("octocat");
    let mut browser = Browser::new(&app);

    let authorize = browser.start_login(None).await;
    let callback = browser.approve(&authorize).await;
    let without_state = callback.split("&state=").next().unwrap().to_owned();
    let error = assert_error(browser.get(&without_state).await, StatusCode::BAD_REQUEST, "bad_request").await;
    assert!(error["message"].as_str().unwrap().contains("no state"), "{error}");
    let wrong = with_param(&callback, "state", &"ab".repeat(32));
    assert_error(browser.get(&wrong).await, StatusCode::BAD_REQUEST, "bad_request").await;

    let mut other = Browser::new(&app);
    let _ = other.start_login(None).await;
    let error = assert_error(other.get(&callback).await, StatusCode::BAD_REQUEST, "bad_request").await;
    assert!(error["message"].as_str().unwrap().contains("another browser"), "{error}");
    let error = assert_error(browser.get(&callback).await, StatusCode::BAD_REQUEST, "bad_request").await;
    assert!(error["message"].as_str().unwrap().contains("already used"), "a state tried once is gone: {error}");

    let authorize = browser.start_login(None).await;
    let callback = browser.approve(&authorize).await;
    assert_eq!(browser.get(&callback).await.status(), StatusCode::SEE_OTHER);
    browser.cookies.remove("warp_session");
    let error = assert_error(browser.get(&callback).await, StatusCode::BAD_REQUEST, "bad_request").await;
    assert!(error["message"].as_str().unwrap().contains("already used"), "a used state is refused: {error}");

    let authorize = browser.start_login(None).await;
    let callback = browser.approve(&authorize).await;
    sqlx::query("update login_attempts set expires_at = now() - interval '1 second'").execute(&app.db.pool).await.unwrap();
    let error = assert_error(browser.get(&callback).await, StatusCode::BAD_REQUEST, "bad_request").await;
    assert!(error["message"].as_str().unwrap().contains("10 minutes"), "{error}");
    assert!(browser.session_cookie().is_none(), "no refused callback set a session");
    let starts = session_events(&app).await.iter().filter(|(t, _)| t == "SessionStarted").count();
    assert_eq!(starts, 1, "only the one good callback started a session");
}

#[tokio::test]
async fn a_code_redeemed_with_another_logins_pkce_verifier_is_refused() {
    let (app, github) = login_app(json!({"allowed_users": ["octocat"]})).await;
    github.sign_in("octocat");
    let mut browser = Browser::new(&app);
    let first = browser.start_login(None).await;
    let second = browser.start_login(None).await;
    let callback = browser.approve(&first).await;
    // The first login's code with the second login's state: the server sends the second
    // verifier, which does not match the first challenge. GitHub says so with HTTP 200.
    let swapped = with_param(&callback, "state", &query_param(&second, "state").unwrap());
    let error = assert_error(browser.get(&swapped).await, StatusCode::FORBIDDEN, "forbidden").await;
    assert!(error["message"].as_str().unwrap().contains("bad_verification_code"), "{error}");
    assert!(browser.session_cookie().is_none());
    let events = session_events(&app).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].1["LoginRefused"]["reason"], "code_rejected");
}

#[tokio::test]
async fn users_on_no_allowlist_are_refused_with_the_reason_and_an_audit_entry_and_an_empty_allowlist_admits_nobody() {
    let (app, github) = login_app(json!({})).await;
    let mut browser = Browser::new(&app);
    let error = assert_error(browser.log_in(&github, "octocat").await, StatusCode::FORBIDDEN, "forbidden").await;
    assert!(error["message"].as_str().unwrap().contains("octocat (id 583231) is not allowed"), "{error}");

    let put = app.put_settings(&app.admin, &json!({"allowed_users": ["octocat"], "allowed_orgs": ["octo-org"]}), None).await;
    assert_eq!(put.status(), StatusCode::OK);
    browser.headers.push(("accept".into(), "text/html".into()));
    let page = browser.log_in(&github, "mallory").await;
    assert_eq!(page.status(), StatusCode::FORBIDDEN);
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let text = page.text().await.unwrap();
    assert!(text.contains("mallory (id 666) is not allowed"), "{text}");
    assert!(browser.session_cookie().is_none(), "no session for a refused user");
    assert_eq!(sqlx::query_scalar::<_, i64>("select count(*) from sessions").fetch_one(&app.db.pool).await.unwrap(), 0);

    let audit = app.audit_eventually(&[("action", "session.login_refused")], 2).await;
    assert_eq!((audit[0]["actor"].as_str(), audit[0]["outcome"].as_str()), (Some("mallory"), Some("failed")));
    assert!(github.requests().iter().any(|r| r == "GET /user/memberships/orgs/octo-org"), "the org was asked with mallory's token");
}

#[tokio::test]
async fn return_to_may_only_be_a_path_of_the_panel() {
    let (app, github) = login_app(json!({"allowed_users": ["octocat"]})).await;
    let mut browser = Browser::new(&app);
    for bad in ["//evil.example", "/\\evil.example", "https://evil.example/", "javascript:alert(1)", "/%2F%2Fevil.example", "/%5Cevil.example", "evil.example"] {
        let path = format!("/auth/login?return_to={}", bad.replace('%', "%25").replace('\\', "%5C"));
        let response = browser.get(&path).await;
        let error = assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(error["field"], "return_to", "{bad}");
    }
    github.sign_in("octocat");
    let authorize = browser.start_login(Some("/jobs/1?view=log")).await;
    let callback = browser.approve(&authorize).await;
    assert_eq!(location(&browser.get(&callback).await), "/jobs/1?view=log");
}

#[tokio::test]
async fn a_slow_github_or_a_user_who_declines_gets_an_error_not_a_session() {
    let (app, github) = login_app(json!({"allowed_users": ["octocat"]})).await;
    let mut browser = Browser::new(&app);
    github.sign_in("octocat");
    let authorize = browser.start_login(None).await;
    let callback = browser.approve(&authorize).await;
    github.set_delay(crate::helpers::LOGIN_OPTIONS.github_timeout + Duration::from_secs(1));
    let error = assert_error(browser.get(&callback).await, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
    assert!(error["message"].as_str().unwrap().contains("timed out"), "{error}");
    github.set_delay(Duration::ZERO);

    github.decline_next();
    let authorize = browser.start_login(None).await;
    let callback = browser.approve(&authorize).await;
    assert_eq!(query_param(&callback, "error").as_deref(), Some("access_denied"));
    assert_error(browser.get(&callback).await, StatusCode::FORBIDDEN, "forbidden").await;
    assert!(browser.session_cookie().is_none());
    let refused = session_events(&app).await;
    assert_eq!(refused.last().unwrap().1["LoginRefused"]["reason"], "denied_on_github");
}

#[tokio::test]
async fn login_is_refused_until_it_is_configured() {
    let app = TestApp::spawn().await;
    let error = assert_error(Browser::new(&app).get("/auth/login").await, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("github_client_id") && message.contains("github_client_secret") && message.contains("public_url"), "{message}");
}

#[tokio::test]
async fn an_https_panel_sets_a_secure_host_prefixed_cookie_and_ignores_unprefixed_ones() {
    let (app, github) = login_app(json!({"allowed_users": ["octocat"], "public_url": "https://panel.example.com"})).await;
    github.sign_in("octocat");
    let mut browser = Browser::new(&app);
    let authorize = browser.start_login(None).await;
    assert_eq!(query_param(&authorize, "redirect_uri").as_deref(), Some("https://panel.example.com/auth/callback"));
    assert!(browser.cookies.contains_key("__Host-warp_login"));
    // The browser would follow GitHub to https://panel.example.com; the test panel answers the
    // same path on its own address.
    let callback = browser.approve(&authorize).await.replace("https://panel.example.com", &app.address);
    let response = browser.get(&callback).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let set_cookie = response.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(set_cookie.starts_with("__Host-warp_session=") && set_cookie.contains("; Secure"), "{set_cookie}");
    assert!(!set_cookie.contains("Domain"), "{set_cookie}");
    assert_eq!(browser.me().await.status(), StatusCode::OK);

    let value = browser.cookies.remove("__Host-warp_session").unwrap();
    browser.cookies.insert("warp_session".into(), value);
    assert_error(browser.me().await, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

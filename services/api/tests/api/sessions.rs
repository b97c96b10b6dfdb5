//! Browser sessions: they work like tokens (streams included), end on timeouts, logout and
//! leaving the allowlist, change roles with the settings, and refuse cross-site requests.

use std::time::Duration;

use futures::StreamExt;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use warp_test_support::fake_github::{FakeGithub, Visibility};

use crate::browser::{login_app, session_events, Browser};
use crate::helpers::assert_error;

#[tokio::test]
async fn a_private_org_member_is_admitted_and_loses_the_session_once_removed_from_the_org() {
    let (app, github) = login_app(json!({"allowed_orgs": ["octo-org"]})).await;
    github.add_member("octo-org", "hubot", Visibility::Private);
    github.add_member("octo-org", "mallory", Visibility::Pending);
    let mut hubot = Browser::new(&app).logged_in(&github, "hubot").await;
    assert_eq!(hubot.me().await.status(), StatusCode::OK);
    let mut pending = Browser::new(&app);
    assert_error(pending.log_in(&github, "mallory").await, StatusCode::FORBIDDEN, "forbidden").await;

    github.remove_member("octo-org", "hubot");
    tokio::time::sleep(crate::helpers::LOGIN_OPTIONS.recheck_every + Duration::from_millis(200)).await;
    assert_error(hubot.me().await, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let ended = session_events(&app).await.into_iter().find(|(t, _)| t == "SessionEnded").expect("the session ended");
    assert_eq!(ended.1["SessionEnded"]["reason"], "access_revoked");
}

#[tokio::test]
async fn a_cross_site_post_with_a_valid_session_cookie_is_refused() {
    let (app, github) = login_app(json!({"allowed_users": ["octocat"]})).await;
    let mut browser = Browser::new(&app).logged_in(&github, "octocat").await;
    let token = browser.csrf_token().await;
    let body = json!({"name": "csrf-target"});
    let origin = app.address.clone();
    let attempts: [&[(&str, &str)]; 4] = [
        &[("origin", "https://evil.example"), ("x-csrf-token", &token)],
        &[("sec-fetch-site", "cross-site"), ("x-csrf-token", &token)],
        &[("origin", &origin), ("sec-fetch-site", "same-origin")],
        &[("origin", &origin), ("x-csrf-token", "0000")],
    ];
    for headers in attempts {
        let response = browser.send(Method::POST, "/api/projects", Some(&body), headers).await;
        assert_error(response, StatusCode::FORBIDDEN, "forbidden").await;
    }
    assert_eq!(app.stored_events(None).await.iter().filter(|(t, _)| t == "ProjectCreated").count(), 0);
    let created = browser.post_same_origin("/api/projects", Some(&body)).await;
    assert_eq!(created.status(), StatusCode::CREATED, "the panel's own page can change things");
    let bearer = app.create_project(&app.member, &json!({"name": "script-made"})).await;
    assert_eq!(bearer.status(), StatusCode::CREATED, "bearer requests need no CSRF token");
}

#[tokio::test]
async fn sessions_end_after_the_idle_and_the_absolute_timeout() {
    let (app, github) = login_app(json!({"allowed_users": ["octocat"], "session_idle_seconds": 600, "session_absolute_seconds": 3600})).await;
    let mut idle = Browser::new(&app).logged_in(&github, "octocat").await;
    let mut old = Browser::new(&app).logged_in(&github, "octocat").await;
    assert_ne!(idle.session_cookie(), old.session_cookie(), "every login gets a new session id");
    let backdate = |column: &'static str, cookie: String| {
        let pool = app.db.pool.clone();
        async move {
            let hash = warp_store::sessions::hash(&cookie);
            let sql = format!("update sessions set {column} = now() - interval '601 seconds' where cookie_hash = $1");
            sqlx::query(&sql).bind(hash).execute(&pool).await.unwrap();
        }
    };
    backdate("last_seen_at", idle.session_cookie().unwrap()).await;
    assert_error(idle.me().await, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let put = app.put_settings(&app.admin, &json!({"session_absolute_seconds": 600}), None).await;
    assert_eq!(put.status(), StatusCode::OK);
    backdate("created_at", old.session_cookie().unwrap()).await;
    assert_error(old.me().await, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let reasons: Vec<Value> = session_events(&app).await.into_iter().filter(|(t, _)| t == "SessionEnded").map(|(_, p)| p["SessionEnded"]["reason"].clone()).collect();
    assert_eq!(reasons, vec![json!("idle_timeout"), json!("absolute_timeout")]);
}

#[tokio::test]
async fn logout_ends_the_session_on_the_server_and_cuts_its_streams() {
    let (app, github) = login_app(json!({"admins": ["583231"]})).await;
    let mut browser = Browser::new(&app).logged_in(&github, "octocat").await;
    let me: Value = browser.me().await.json().await.unwrap();
    assert_eq!(me["role"], "admin", "admins need no other list, and ids work");
    assert_eq!(browser.get("/api/events").await.status(), StatusCode::OK, "an admin session reaches admin endpoints");
    let stream = browser.send(Method::GET, "/api/events/stream", None, &[("accept", "text/event-stream")]).await;
    assert_eq!(stream.status(), StatusCode::OK, "SSE streams take the session cookie (EventSource sends no header)");
    let old = browser.cookies.clone();

    let refused = browser.send(Method::POST, "/auth/logout", None, &[]).await;
    assert_error(refused, StatusCode::FORBIDDEN, "forbidden").await;
    let response = browser.post_same_origin("/auth/logout", None).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(browser.session_cookie().is_none(), "the cookie is cleared");
    browser.cookies = old;
    assert_error(browser.me().await, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let mut body = stream.bytes_stream();
    let ended = tokio::time::timeout(Duration::from_secs(15), async { while let Some(Ok(_)) = body.next().await {} }).await;
    assert!(ended.is_ok(), "the stream ends once its session has ended");
    let audit = app.audit_eventually(&[("action", "session.ended")], 1).await;
    assert_eq!(audit[0]["actor"], "octocat");
}

#[tokio::test]
async fn a_users_github_token_is_never_sent_to_a_github_api_url_set_after_login() {
    let (app, github) = login_app(json!({"allowed_orgs": ["octo-org"]})).await;
    github.add_member("octo-org", "hubot", Visibility::Private);
    let mut hubot = Browser::new(&app).logged_in(&github, "hubot").await;
    let elsewhere = FakeGithub::start().await;
    let put = app.put_settings(&app.admin, &json!({"github_api_url": elsewhere.url}), None).await;
    assert_eq!(put.status(), StatusCode::OK);
    tokio::time::sleep(crate::helpers::LOGIN_OPTIONS.recheck_every + Duration::from_millis(200)).await;
    assert_error(hubot.me().await, StatusCode::UNAUTHORIZED, "unauthorized").await;
    assert_eq!(elsewhere.requests(), Vec::<String>::new(), "the new host got no request (and no token)");
}

#[tokio::test]
async fn the_admins_setting_decides_who_is_admin_at_every_request() {
    let (app, github) = login_app(json!({"admins": ["Hubot"], "allowed_users": ["hubot"]})).await;
    let mut hubot = Browser::new(&app).logged_in(&github, "hubot").await;
    let me: Value = hubot.me().await.json().await.unwrap();
    assert_eq!(me["role"], "admin", "admins are matched by login, case-insensitively");
    assert_eq!(hubot.get("/api/dead-letters").await.status(), StatusCode::OK);

    let put = app.put_settings(&app.admin, &json!({"admins": []}), None).await;
    assert_eq!(put.status(), StatusCode::OK);
    let me: Value = hubot.me().await.json().await.unwrap();
    assert_eq!(me["role"], "member", "still allowed, no longer admin");
    assert_error(hubot.get("/api/dead-letters").await, StatusCode::FORBIDDEN, "forbidden").await;

    let put = app.put_settings(&app.admin, &json!({"allowed_users": []}), None).await;
    assert_eq!(put.status(), StatusCode::OK);
    assert_error(hubot.me().await, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

#[tokio::test]
async fn a_user_taken_off_the_user_list_keeps_the_session_only_as_an_active_org_member() {
    let (app, github) = login_app(json!({"allowed_users": ["hubot", "octocat"], "allowed_orgs": ["octo-org"]})).await;
    github.add_member("octo-org", "hubot", Visibility::Private);
    let mut hubot = Browser::new(&app).logged_in(&github, "hubot").await;
    let mut octocat = Browser::new(&app).logged_in(&github, "octocat").await;
    let put = app.put_settings(&app.admin, &json!({"allowed_users": []}), None).await;
    assert_eq!(put.status(), StatusCode::OK);
    assert_error(octocat.me().await, StatusCode::UNAUTHORIZED, "unauthorized").await;
    assert_eq!(hubot.me().await.status(), StatusCode::OK, "hubot is still an org member");
}

#[tokio::test]
async fn rotating_the_master_key_re_seals_the_github_tokens_sessions_keep() {
    use secrecy::ExposeSecret;
    let (app, github) = login_app(json!({"allowed_orgs": ["octo-org"]})).await;
    github.add_member("octo-org", "hubot", Visibility::Private);
    let _hubot = Browser::new(&app).logged_in(&github, "hubot").await;
    let _pending = Browser::new(&app).start_login(None).await;
    let id: uuid::Uuid = sqlx::query_scalar("select id from sessions").fetch_one(&app.db.pool).await.unwrap();

    let new_key = warp_platform::secret_key::SecretKey::generate();
    warp_store::settings::rotate(&app.db.pool, &app.key, &new_key).await.unwrap();
    let reopened = warp_store::settings::SettingsStore::open(app.db.pool.clone(), &new_key, Default::default()).await.unwrap();
    let token = warp_store::sessions::github_token(&app.db.pool, reopened.keyring(), id, &github.url).await.unwrap();
    assert_eq!(token.map(|t| t.expose_secret().to_owned()), github.issued_tokens().pop(), "the token opens with the new key");
    let pending: i64 = sqlx::query_scalar("select count(*) from login_attempts").fetch_one(&app.db.pool).await.unwrap();
    assert_eq!(pending, 0, "pending logins are dropped");
}

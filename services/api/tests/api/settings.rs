//! `GET/PUT /api/settings`: masking, roles, token checks against (fake) APIs, events that carry
//! fingerprints only, restarts and the master key.

use reqwest::StatusCode;
use serde_json::{json, Value};
use warp_platform::secret_key::SecretKey;

use crate::fakes::{self, GOOD_CLOUDFLARE_TOKEN, GOOD_GITHUB_TOKEN};
use crate::helpers::{assert_error, TestApp};

async fn settings_events(app: &TestApp) -> Vec<(String, Value)> {
    sqlx::query_as("select event_type, payload::jsonb from events where aggregate_type = 'settings' order by sequence")
        .fetch_all(&app.db.pool)
        .await
        .unwrap()
}

async fn stored_secrets(app: &TestApp) -> Vec<(String, String, Vec<u8>, Vec<u8>)> {
    sqlx::query_as("select name, fingerprint, nonce, ciphertext from settings_secrets order by name")
        .fetch_all(&app.db.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn every_user_reads_the_settings_with_secrets_masked_but_only_an_admin_may_change_them() {
    let app = TestApp::spawn().await;
    let github = fakes::github().await;
    let body = json!({"github_api_url": github, "github_token": GOOD_GITHUB_TOKEN, "base_domain": "Apps.Example.com"});
    let response = app.put_settings(&app.admin, &body, None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let put: Value = response.json().await.unwrap();
    assert_eq!(put["checks"][0]["status"], "verified", "{put}");

    let response = app.get_settings(&app.member).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["etag"], "\"2\"");
    let text = response.text().await.unwrap();
    assert!(!text.contains(GOOD_GITHUB_TOKEN), "{text}");
    let got: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(got["base_domain"], "apps.example.com");
    assert_eq!(got["github_token"]["set"], true);
    assert_eq!(got["github_token"]["masked"], "••••mnop");
    assert_eq!(got["cloudflare_api_token"]["set"], false);

    let refused = app.put_settings(&app.member, &json!({"base_domain": "evil.example.com"}), None).await;
    assert_error(refused, StatusCode::FORBIDDEN, "forbidden").await;
    assert_eq!(settings_events(&app).await.len(), 2, "the member's change recorded nothing");
}

#[tokio::test]
async fn a_token_accepted_by_its_api_is_stored_encrypted_and_its_events_carry_only_a_fingerprint() {
    let app = TestApp::spawn().await;
    let (github, cloudflare) = (fakes::github().await, fakes::cloudflare().await);
    let body = json!({
        "github_api_url": github, "github_token": GOOD_GITHUB_TOKEN,
        "cloudflare_api_url": cloudflare, "cloudflare_api_token": GOOD_CLOUDFLARE_TOKEN,
    });
    let put: Value = app.put_settings(&app.admin, &body, None).await.json().await.unwrap();
    assert_eq!(put["checks"].as_array().unwrap().len(), 2, "{put}");
    assert!(put["checks"].as_array().unwrap().iter().all(|c| c["status"] == "verified"), "{put}");

    let events = settings_events(&app).await;
    let types: Vec<&str> = events.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(types, ["SettingsChanged", "SecretChanged", "SecretChanged"]);
    let changed = &events[1].1["SecretChanged"];
    assert_eq!(changed["name"], "github_token");
    assert_eq!(changed["fingerprint"], put["github_token"]["fingerprint"]);
    assert_eq!(changed["fingerprint"].as_str().unwrap().len(), 8);
    let all = serde_json::to_string(&events).unwrap();
    assert!(!all.contains(GOOD_GITHUB_TOKEN) && !all.contains(GOOD_CLOUDFLARE_TOKEN), "{all}");

    for (_, _, _, ciphertext) in stored_secrets(&app).await {
        assert!(!ciphertext.windows(8).any(|w| w == &GOOD_GITHUB_TOKEN.as_bytes()[..8]), "stored in plain text");
    }
    let again = app.put_settings(&app.admin, &json!({"github_token": GOOD_GITHUB_TOKEN}), None).await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(settings_events(&app).await.len(), 3, "the same token again records nothing");
}

#[tokio::test]
async fn a_token_rejected_by_github_is_refused_with_422_and_nothing_changes() {
    let app = TestApp::spawn().await;
    let github = fakes::github().await;
    let bad = "ghp_RevokedToken0123456789abcdefghijklmn";
    let response = app.put_settings(&app.admin, &json!({"github_api_url": github, "github_token": bad, "base_domain": "a.example.com"}), None).await;
    let error = assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(error["field"], "github_token");
    assert!(error["message"].as_str().unwrap().contains("Bad credentials"), "{error}");
    assert!(!error.to_string().contains(bad));
    assert!(settings_events(&app).await.is_empty());
    assert!(stored_secrets(&app).await.is_empty());
    let got: Value = app.get_settings(&app.admin).await.json().await.unwrap();
    assert_eq!(got["base_domain"], Value::Null);
}

#[tokio::test]
async fn a_token_rejected_by_cloudflare_is_refused_with_cloudflares_reason() {
    let app = TestApp::spawn().await;
    let cloudflare = fakes::cloudflare().await;
    for (token, reason) in [("cfWrongToken_0123456789abcdefghijklmnopqr", "Invalid API Token"), (fakes::DISABLED_CLOUDFLARE_TOKEN, "disabled")] {
        let body = json!({"cloudflare_api_url": cloudflare, "cloudflare_api_token": token});
        let error = assert_error(app.put_settings(&app.admin, &body, None).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(error["field"], "cloudflare_api_token");
        assert!(error["message"].as_str().unwrap().contains(reason), "{error}");
    }
    assert!(settings_events(&app).await.is_empty());
}

#[tokio::test]
async fn an_unreachable_api_does_not_block_saving_a_token_and_the_answer_says_it_was_not_checked() {
    let app = TestApp::spawn().await;
    let body = json!({"github_api_url": fakes::unreachable(), "github_token": "ghp_Unchecked0123456789abcdefghijklmnopq"});
    let response = app.put_settings(&app.admin, &body, None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let put: Value = response.json().await.unwrap();
    assert_eq!(put["checks"][0]["status"], "unchecked", "{put}");
    assert!(put["checks"][0]["detail"].as_str().unwrap().contains("not reachable"), "{put}");
    assert_eq!(put["github_token"]["set"], true);
}

#[tokio::test]
async fn a_change_at_a_stale_version_is_refused_with_409() {
    let app = TestApp::spawn().await;
    assert_eq!(app.put_settings(&app.admin, &json!({"base_domain": "a.example.com"}), Some("\"0\"")).await.status(), StatusCode::OK);
    let stale = app.put_settings(&app.admin, &json!({"base_domain": "b.example.com"}), Some("\"0\"")).await;
    assert_error(stale, StatusCode::CONFLICT, "conflict").await;
    let got: Value = app.get_settings(&app.admin).await.json().await.unwrap();
    assert_eq!((got["base_domain"].as_str(), got["version"].as_u64()), (Some("a.example.com"), Some(1)));
}

#[tokio::test]
async fn settings_survive_a_restart_and_a_wrong_key_fails_start_up_without_touching_the_secrets() {
    let app = TestApp::spawn().await;
    let body = json!({"github_api_url": fakes::unreachable(), "github_token": "ghp_Survivor0123456789abcdefghijklmnopqr", "tunnel_mode": "local", "cloudflared_config_path": "/etc/cloudflared/config.yml"});
    assert_eq!(app.put_settings(&app.admin, &body, None).await.status(), StatusCode::OK);
    let before = stored_secrets(&app).await;

    let error = app.spawn_api_again(&SecretKey::generate()).await.expect_err("a wrong key must not start");
    let message = format!("{error:#}");
    assert!(message.contains("WARP_SECRET_KEY does not match") && message.contains("nothing was changed"), "{message}");
    assert_eq!(stored_secrets(&app).await, before, "the encrypted rows are unchanged");

    let address = app.spawn_api_again(&app.key).await.expect("the right key starts");
    let response = app.client.get(format!("{address}/api/settings")).bearer_auth(&app.admin.secret).send().await.unwrap();
    let got: Value = response.json().await.unwrap();
    assert_eq!(got["tunnel_mode"], "local");
    assert_eq!(got["github_token"]["masked"], "••••opqr");
}

#[tokio::test]
async fn rotating_the_master_key_re_encrypts_every_secret_and_the_old_key_stops_working() {
    let app = TestApp::spawn().await;
    let body = json!({"github_api_url": fakes::unreachable(), "github_token": "ghp_Rotated0123456789abcdefghijklmnopqrs"});
    assert_eq!(app.put_settings(&app.admin, &body, None).await.status(), StatusCode::OK);
    let before = stored_secrets(&app).await;
    let new_key = SecretKey::generate();

    let wrong = warp_store::settings::rotate(&app.db.pool, &SecretKey::generate(), &new_key).await;
    assert!(wrong.is_err());
    assert_eq!(stored_secrets(&app).await, before, "a failed rotation changes nothing");

    assert_eq!(warp_store::settings::rotate(&app.db.pool, &app.key, &new_key).await.unwrap(), 1);
    let after = stored_secrets(&app).await;
    assert_eq!((&after[0].0, &after[0].1), (&before[0].0, &before[0].1), "same secret, same fingerprint");
    assert_ne!(after[0].3, before[0].3, "re-encrypted");
    assert!(app.spawn_api_again(&app.key).await.is_err(), "the old key no longer opens the store");
    let address = app.spawn_api_again(&new_key).await.unwrap();
    let got: Value = app.client.get(format!("{address}/api/settings")).bearer_auth(&app.admin.secret).send().await.unwrap().json().await.unwrap();
    assert_eq!(got["github_token"]["masked"], "••••pqrs");
}

#[tokio::test]
async fn moving_an_api_url_needs_the_token_again_so_a_stored_token_never_goes_to_a_new_host() {
    let app = TestApp::spawn().await;
    let saved = app.put_settings(&app.admin, &json!({"github_api_url": fakes::unreachable(), "github_token": GOOD_GITHUB_TOKEN}), None).await;
    assert_eq!(saved.status(), StatusCode::OK);
    let elsewhere = fakes::unreachable();
    let moved = app.put_settings(&app.admin, &json!({"github_api_url": elsewhere}), None).await;
    let error = assert_error(moved, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(error["field"], "github_token");
    let with_token = app.put_settings(&app.admin, &json!({"github_api_url": elsewhere, "github_token": GOOD_GITHUB_TOKEN}), None).await;
    assert_eq!(with_token.status(), StatusCode::OK);
}

//! `POST /hooks/github`: GitHub's signed deliveries, as the fake GitHub sends them. What a
//! push redeploys is tested with the github service in `webhook_redeploys.rs`.

use reqwest::StatusCode;
use serde_json::{json, Value};
use warp_test_support::fake_github::PushDelivery;

use crate::helpers::{assert_error, TestApp};

/// The webhook secret of these tests (a canary: it must never show up anywhere).
pub const SECRET: &str = "whsec-canary-7f3a9c1e5b2d4f6a8c0e";

/// An app whose `github_webhook_secret` is [`SECRET`].
pub async fn app_with_secret() -> TestApp {
    let app = TestApp::spawn().await;
    let put = app.put_settings(&app.admin, &json!({"github_webhook_secret": SECRET}), None).await;
    assert_eq!(put.status(), StatusCode::OK, "{}", put.text().await.unwrap());
    app
}

/// The `GithubPushReceived` events stored so far.
pub async fn pushes_recorded(app: &TestApp) -> Vec<Value> {
    sqlx::query_scalar("select payload::jsonb -> 'GithubPushReceived' from events where event_type = 'GithubPushReceived' order by global_position")
        .fetch_all(&app.db.pool)
        .await
        .unwrap()
}

fn push() -> PushDelivery {
    PushDelivery::new("Octo-Org/Shop", "refs/heads/main", &"a1".repeat(20))
}

#[tokio::test]
async fn a_signed_push_is_recorded_once_and_its_replay_is_a_duplicate() {
    let app = app_with_secret().await;
    let delivery = push();
    let response = delivery.send(&app.address, Some(SECRET)).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["outcome"], "recorded", "{body}");
    assert_eq!(body["delivery_id"], delivery.delivery_id.as_str());

    let replay = delivery.send(&app.address, Some(SECRET)).await;
    assert_eq!(replay.status(), StatusCode::OK);
    let body: Value = replay.json().await.unwrap();
    assert_eq!(body["outcome"], "duplicate", "{body}");

    let recorded = pushes_recorded(&app).await;
    assert_eq!(recorded.len(), 1, "one event for two receipts: {recorded:?}");
    assert_eq!(
        recorded[0],
        json!({"delivery_id": delivery.delivery_id, "repo": "Octo-Org/Shop", "ref": "refs/heads/main", "after": "a1".repeat(20),
               "deleted": false, "default_branch": "main", "pusher": "octocat"})
    );
    let audit = app.audit_eventually(&[("action", "github_delivery.github_push_received")], 1).await;
    assert_eq!(audit[0]["actor"], "system:github-webhook");
}

#[tokio::test]
async fn replays_sent_at_once_record_one_push() {
    let app = app_with_secret().await;
    let delivery = push();
    let answers = futures::future::join_all((0..8).map(|_| delivery.send(&app.address, Some(SECRET)))).await;
    let mut outcomes: Vec<String> = Vec::new();
    for answer in answers {
        let body: Value = answer.json().await.unwrap();
        outcomes.push(body["outcome"].as_str().unwrap_or("?").to_owned());
    }
    outcomes.sort();
    assert_eq!(outcomes, ["duplicate"; 7].iter().map(|s| s.to_string()).chain(["recorded".to_string()]).collect::<Vec<_>>());
    assert_eq!(pushes_recorded(&app).await.len(), 1);
}

#[tokio::test]
async fn a_wrong_signature_is_401_and_records_nothing() {
    let app = app_with_secret().await;
    let response = push().send(&app.address, Some("not-the-panels-secret-at-all")).await;
    let error = assert_error(response, StatusCode::UNAUTHORIZED, "bad_signature").await;
    assert!(error["message"].as_str().unwrap().contains("does not match"), "{error}");

    // A body changed after signing fails the same way.
    let delivery = push();
    let signature = PushDelivery::signature(SECRET, delivery.body().as_bytes());
    let tampered = delivery.body().replace("refs/heads/main", "refs/heads/evil");
    let response = reqwest::Client::new()
        .post(format!("{}/hooks/github", app.address))
        .header("x-github-event", "push")
        .header("x-github-delivery", &delivery.delivery_id)
        .header("x-hub-signature-256", signature)
        .header("content-type", "application/json")
        .body(tampered)
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::UNAUTHORIZED, "bad_signature").await;
    assert!(pushes_recorded(&app).await.is_empty());
}

#[tokio::test]
async fn a_missing_or_malformed_signature_header_is_401_and_records_nothing() {
    let app = app_with_secret().await;
    let response = push().send(&app.address, None).await;
    let error = assert_error(response, StatusCode::UNAUTHORIZED, "bad_signature").await;
    assert!(error["message"].as_str().unwrap().contains("missing"), "{error}");

    let delivery = push();
    for bad in ["sha1=0123", "0123456789abcdef", "sha256=xyz"] {
        let response = reqwest::Client::new()
            .post(format!("{}/hooks/github", app.address))
            .header("x-github-event", "push")
            .header("x-github-delivery", &delivery.delivery_id)
            .header("x-hub-signature-256", bad)
            .body(delivery.body())
            .send()
            .await
            .unwrap();
        assert_error(response, StatusCode::UNAUTHORIZED, "bad_signature").await;
    }
    assert!(pushes_recorded(&app).await.is_empty());
}

#[tokio::test]
async fn without_a_webhook_secret_every_delivery_is_refused() {
    let app = TestApp::spawn().await;
    let response = push().send(&app.address, Some(SECRET)).await;
    let error = assert_error(response, StatusCode::SERVICE_UNAVAILABLE, "not_configured").await;
    assert!(error["message"].as_str().unwrap().contains("github_webhook_secret"), "{error}");
    assert!(pushes_recorded(&app).await.is_empty());
}

#[tokio::test]
async fn ping_is_answered_and_other_events_are_ignored_without_a_record() {
    let app = app_with_secret().await;
    let mut ping = push();
    ping.event = "ping".into();
    let response = ping.send(&app.address, Some(SECRET)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.json::<Value>().await.unwrap()["outcome"], "pong");

    let mut issues = push();
    issues.event = "issues".into();
    let response = issues.send(&app.address, Some(SECRET)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["outcome"], "ignored");
    assert!(body["message"].as_str().unwrap().contains("issues"), "{body}");
    assert!(pushes_recorded(&app).await.is_empty());
}

#[tokio::test]
async fn a_signed_delivery_without_event_or_delivery_headers_or_a_push_payload_is_400() {
    let app = app_with_secret().await;
    let body = push().body();
    let send = |event: Option<&str>, delivery: Option<&str>, body: String| {
        let signature = PushDelivery::signature(SECRET, body.as_bytes());
        let mut request = reqwest::Client::new().post(format!("{}/hooks/github", app.address)).header("x-hub-signature-256", signature);
        if let Some(event) = event {
            request = request.header("x-github-event", event);
        }
        if let Some(delivery) = delivery {
            request = request.header("x-github-delivery", delivery);
        }
        request.body(body).send()
    };
    assert_error(send(None, Some("d-1"), body.clone()).await.unwrap(), StatusCode::BAD_REQUEST, "bad_request").await;
    assert_error(send(Some("push"), None, body.clone()).await.unwrap(), StatusCode::BAD_REQUEST, "bad_request").await;
    assert_error(send(Some("push"), Some("d 1\t"), body.clone()).await.unwrap(), StatusCode::BAD_REQUEST, "bad_request").await;
    assert_error(send(Some("push"), Some("d-1"), "{\"zen\":\"x\"}".into()).await.unwrap(), StatusCode::BAD_REQUEST, "bad_request").await;
    assert!(pushes_recorded(&app).await.is_empty());
}

#[tokio::test]
async fn a_form_encoded_delivery_is_read_from_its_payload_field() {
    let app = app_with_secret().await;
    let delivery = push();
    let form = format!("payload={}", warp_test_support::fake_github::form_value(&delivery.body()));
    let response = reqwest::Client::new()
        .post(format!("{}/hooks/github", app.address))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-github-event", "push")
        .header("x-github-delivery", &delivery.delivery_id)
        .header("x-hub-signature-256", PushDelivery::signature(SECRET, form.as_bytes()))
        .body(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED, "{}", response.text().await.unwrap());
    assert_eq!(pushes_recorded(&app).await.len(), 1);
}

#[tokio::test]
async fn a_body_over_the_limit_is_413_and_records_nothing() {
    let app = app_with_secret().await;
    let body = format!("{{\"pad\":\"{}\"}}", "x".repeat(warp_api::routes::hooks::github::BODY_LIMIT));
    let response = reqwest::Client::new()
        .post(format!("{}/hooks/github", app.address))
        .header("x-github-event", "push")
        .header("x-github-delivery", "d-big")
        .header("x-hub-signature-256", PushDelivery::signature(SECRET, body.as_bytes()))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    assert!(pushes_recorded(&app).await.is_empty());
}

#[tokio::test]
async fn the_webhook_secret_is_shown_only_as_a_fingerprint_and_is_in_no_event() {
    let app = app_with_secret().await;
    let settings: Value = app.get_settings(&app.admin).await.json().await.unwrap();
    let view = &settings["github_webhook_secret"];
    assert_eq!(view["set"], true);
    assert_eq!(view["masked"], "••••", "no character of the secret is shown");
    assert!(view["fingerprint"].as_str().is_some_and(|f| f.len() == 8));
    assert!(!settings.to_string().contains(SECRET) && !settings.to_string().contains(&SECRET[SECRET.len() - 4..]));

    push().send(&app.address, Some(SECRET)).await;
    push().send(&app.address, Some("wrong-secret-wrong-secret")).await;
    let events: Vec<(String, String)> = sqlx::query_as("select payload::text, metadata::text from events").fetch_all(&app.db.pool).await.unwrap();
    assert!(events.iter().any(|(p, _)| p.contains("github_webhook_secret")), "the SecretChanged event is there");
    assert!(events.iter().all(|(p, m)| !p.contains(SECRET) && !m.contains(SECRET)), "the secret is in no event");
    let stored: Vec<Vec<u8>> = sqlx::query_scalar("select ciphertext from settings_secrets").fetch_all(&app.db.pool).await.unwrap();
    assert!(stored.iter().all(|c| !c.windows(SECRET.len()).any(|w| w == SECRET.as_bytes())), "stored encrypted");
}

#[tokio::test]
async fn a_webhook_secret_that_is_too_short_or_has_spaces_is_refused_without_echoing_it() {
    let app = TestApp::spawn().await;
    for bad in ["short", "a secret with spaces in it ok"] {
        let response = app.put_settings(&app.admin, &json!({"github_webhook_secret": bad}), None).await;
        let error = assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(error["field"], "github_webhook_secret");
        assert!(!error.to_string().contains(bad));
    }
}

//! The security suite: hostile payloads in every field of every command endpoint (enumerated
//! from the OpenAPI document, so endpoints added later are covered without a change here), and
//! a canary secret that must never leave the secret store.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::fakes;
use crate::helpers::{TestApp, CATCH_UP};

/// Values that try to run `touch <marker>`, climb out of folders, pass as options, overflow
/// limits, or look like safe ASCII while not being it.
fn payloads(marker: &str) -> Vec<String> {
    vec![
        format!("x; touch {marker}"),
        format!("x | touch {marker}"),
        format!("x && touch {marker}"),
        format!("$(touch {marker})"),
        format!("`touch {marker}`"),
        format!("x\ntouch {marker}"),
        format!("x'; touch {marker}; '"),
        format!("x\"; touch {marker}; \""),
        "../../../../etc/passwd".to_owned(),
        "%2e%2e%2f%2e%2e%2fetc%2fpasswd".to_owned(),
        "x\0y".to_owned(),
        "-rf".to_owned(),
        format!("--upload-pack=touch {marker}"),
        format!("ext::sh -c touch% {marker}"),
        "file:///etc/passwd".to_owned(),
        "a".repeat(10_000),
        format!("shop；touch {marker}"),
        "shаp".to_owned(),
    ]
}

/// A string field or a list-of-strings field of a request body, or a key of a map field.
#[derive(Debug, Clone)]
struct Field {
    /// Path from the body's root, `/`-separated (`source/git/url`).
    name: String,
    list: bool,
    free_text: bool,
    /// The payload goes in as a key of the map at `name` (e.g. a deploy env variable name).
    map_key: bool,
}

/// A valid body for endpoints whose required fields would otherwise refuse every payload for
/// the wrong reason; each payload replaces one field of it. `variant` picks one of several
/// (a folder instead of a git source).
fn base_body(template: &str, field: &str) -> Option<Value> {
    match template {
        "/api/projects/deploy-existing" if field.starts_with("source/folder") => {
            Some(json!({"name": "fuzz-base", "source": {"folder": {"path": "apps/base"}}}))
        }
        "/api/projects/deploy-existing" => {
            Some(json!({"name": "fuzz-base", "source": {"git": {"url": "https://github.com/octo/shop.git", "ref": "main"}}}))
        }
        "/api/projects/quick-service" => Some(json!({"name": "fuzz-base", "container": "web-1", "subdomain": "fuzzbase"})),
        _ => None,
    }
}

/// Fields inside nested objects and maps that the schema walk below does not reach (one-of
/// source variants, env maps).
fn nested_fields(template: &str) -> Vec<Field> {
    let field = |name: &str, map_key: bool| Field { name: name.to_owned(), list: false, free_text: false, map_key };
    match template {
        "/api/projects/deploy-existing" => vec![
            field("source/git/url", false),
            field("source/git/ref", false),
            field("source/folder/path", false),
            field("env", true),
        ],
        "/api/projects/{id}/deploy" => vec![field("env", true)],
        "/api/projects/{id}" => vec![field("source/git/url", false), field("source/git/ref", false), field("source/folder/path", false)],
        _ => Vec::new(),
    }
}

/// `base` (or `{}`) with `payload` at `field`.
fn body_with(base: Option<Value>, field: &Field, payload: &str) -> Value {
    let mut body = base.unwrap_or_else(|| json!({}));
    let value = if field.map_key {
        json!({ payload: "value" })
    } else if field.list {
        json!([payload])
    } else {
        json!(payload)
    };
    let mut at = &mut body;
    let parts: Vec<&str> = field.name.split('/').collect();
    for part in &parts[..parts.len() - 1] {
        at = at.as_object_mut().unwrap().entry(part.to_string()).or_insert_with(|| json!({}));
    }
    at[parts[parts.len() - 1]] = value;
    body
}

fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(reference) => doc.pointer(reference.trim_start_matches('#')).unwrap_or(schema),
        None => schema,
    }
}

fn has_type(schema: &Value, wanted: &str) -> bool {
    schema["type"] == wanted || schema["type"].as_array().is_some_and(|types| types.iter().any(|t| t == wanted))
}

/// Every POST/PUT/PATCH under `/api` with its JSON body's string and string-list fields.
fn command_endpoints() -> Vec<(Method, String, Vec<Field>)> {
    let doc = serde_json::to_value(warp_api::openapi_document()).unwrap();
    let mut endpoints = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["post", "put", "patch"] {
            let Some(operation) = item.get(method) else { continue };
            let body = &operation["requestBody"]["content"]["application/json"]["schema"];
            let schema = resolve(&doc, body);
            let mut fields = Vec::new();
            for (name, property) in schema["properties"].as_object().into_iter().flatten() {
                let property = resolve(&doc, property);
                let list = has_type(property, "array") && has_type(resolve(&doc, &property["items"]), "string");
                if has_type(property, "string") || list {
                    // A webhook secret is any string GitHub will sign with (the panel takes 20-255
                    // visible ASCII characters): hostile-looking text is a valid secret. That it
                    // is stored encrypted and never shown is checked in webhooks.rs.
                    let free_text = property["format"] == "free-text" || name == "github_webhook_secret";
                    fields.push(Field { name: name.clone(), list, free_text, map_key: false });
                }
            }
            fields.extend(nested_fields(path));
            endpoints.push((method.to_uppercase().parse().unwrap(), path.clone(), fields));
        }
    }
    endpoints
}

async fn event_count(app: &TestApp) -> i64 {
    sqlx::query_scalar("select count(*) from events").fetch_one(&app.db.pool).await.unwrap()
}

async fn send(app: &TestApp, method: &Method, path: &str, body: Option<&Value>) -> reqwest::Response {
    let mut request = app.client.request(method.clone(), format!("{}{path}", app.address)).bearer_auth(&app.admin.secret);
    if let Some(body) = body {
        request = request.json(body);
    }
    request.send().await.unwrap()
}

/// Asserts a 4xx with the JSON error body.
async fn assert_refused(response: reqwest::Response, what: &str) {
    let status = response.status();
    assert!(status.is_client_error(), "{what}: expected 4xx, got {status}");
    let body: Value = response.json().await.unwrap_or_else(|_| panic!("{what}: error body is not JSON"));
    assert!(body["error"]["code"].is_string() && body["error"]["message"].is_string(), "{what}: {body}");
}

#[tokio::test]
async fn hostile_payloads_in_every_field_of_every_command_endpoint_are_refused_and_run_nothing() {
    let app = TestApp::spawn().await;
    let project = app.create_named("fuzz-target").await;
    let endpoints = command_endpoints();
    assert!(endpoints.iter().any(|(m, p, _)| m == Method::PUT && p == "/api/settings"), "{endpoints:?}");
    assert!(endpoints.iter().any(|(m, p, f)| m == Method::POST && p == "/api/projects" && f.len() >= 3), "{endpoints:?}");
    let marker = std::env::temp_dir().join(format!("warp-marker-{}", Uuid::new_v4().simple()));
    let marker_text = marker.display().to_string();
    let payloads = payloads(&marker_text);
    let mut sent = 0;

    for (method, template, fields) in &endpoints {
        let path = template.replace("{id}", &project.to_string());
        for field in fields {
            for (n, payload) in payloads.iter().enumerate() {
                let mut body = body_with(base_body(template, &field.name), field, payload);
                if template == "/api/projects" && field.name != "name" {
                    body["name"] = json!(format!("fuzz-{n}-{}", field.name));
                }
                let before = event_count(&app).await;
                let response = send(&app, method, &path, Some(&body)).await;
                let what = format!("{method} {template} {}={payload:.40?}", field.name);
                if response.status().is_success() {
                    assert!(field.free_text, "{what}: accepted ({})", response.status());
                } else {
                    assert_refused(response, &what).await;
                    assert_eq!(event_count(&app).await, before, "{what}: an event was appended");
                }
                sent += 1;
            }
        }
        if template.contains('{') {
            for payload in payloads.iter().filter(|p| p.len() < 200) {
                let hostile = template.replace("{id}", &urlencode(payload));
                let before = event_count(&app).await;
                let body = fields.first().map(|_| json!({}));
                assert_refused(send(&app, method, &hostile, body.as_ref()).await, &format!("{method} {hostile}")).await;
                assert_eq!(event_count(&app).await, before, "{method} {hostile}: an event was appended");
                sent += 1;
            }
        }
    }
    assert!(sent > 300, "only {sent} requests were sent");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!Path::new(&marker).exists(), "a payload created {marker_text}");
}

fn urlencode(raw: &str) -> String {
    raw.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b == b'-' { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

/// A `tracing` writer that keeps every line in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn a_canary_secret_never_appears_in_logs_events_nats_messages_error_bodies_or_responses() {
    let logs = Captured::default();
    let installed = tracing_subscriber::fmt().with_writer(logs.clone()).with_env_filter("debug").with_ansi(false).try_init();
    assert!(installed.is_ok(), "run this test in its own process (cargo nextest) so its logs can be captured");
    tracing::info!("log capture works");

    let app = TestApp::spawn().await;
    let mut nats = app.nats_client.subscribe(format!("{}.>", app.names.subject_prefix)).await.unwrap();
    warp_test_support::nats_round_trip(&app.nats_client).await;
    let canary = format!("ghp_CANARY{}", Uuid::new_v4().simple());
    let cf_canary = format!("cfCANARY{}", Uuid::new_v4().simple());
    let github = fakes::github().await;
    let mut seen = Vec::new();

    let rejected = app.put_settings(&app.admin, &json!({"github_api_url": github, "github_token": canary}), None).await;
    assert_eq!(rejected.status(), StatusCode::UNPROCESSABLE_ENTITY);
    seen.push(rejected.text().await.unwrap());
    let invalid = app.put_settings(&app.admin, &json!({"github_token": canary, "base_domain": "not a domain"}), None).await;
    assert_eq!(invalid.status(), StatusCode::UNPROCESSABLE_ENTITY);
    seen.push(invalid.text().await.unwrap());
    let malformed = app.put_settings(&app.admin, &json!({"github_token": format!("{canary};")}), None).await;
    seen.push(malformed.text().await.unwrap());

    let body = json!({
        "github_api_url": fakes::unreachable(), "github_token": canary,
        "cloudflare_api_url": fakes::unreachable(), "cloudflare_api_token": cf_canary,
    });
    let saved = app.put_settings(&app.admin, &body, None).await;
    assert_eq!(saved.status(), StatusCode::OK);
    seen.push(saved.text().await.unwrap());
    for token in [&app.admin, &app.member] {
        seen.push(app.get_settings(token).await.text().await.unwrap());
    }
    assert_eq!(app.redactor.redact(&format!("x {canary} y")), format!("x {} y", warp_platform::redact::MASK));

    let published = crate::helpers::eventually_events(&app, 3).await;
    seen.push(published);
    seen.push(app.audit_eventually(&[("action", "settings.secret_changed")], 2).await.iter().map(Value::to_string).collect());
    let stored: Vec<(String, String)> = sqlx::query_as("select payload::text, metadata::text from events").fetch_all(&app.db.pool).await.unwrap();
    seen.extend(stored.into_iter().map(|(p, m)| p + &m));
    let deadline = tokio::time::Instant::now() + CATCH_UP;
    let mut messages = 0;
    while messages < 3 && tokio::time::Instant::now() < deadline {
        if let Ok(Some(message)) = tokio::time::timeout(Duration::from_millis(200), nats.next()).await {
            seen.push(String::from_utf8_lossy(&message.payload).into_owned());
            seen.push(format!("{:?}", message.headers));
            messages += 1;
        }
    }
    assert_eq!(messages, 3, "the three settings events reached NATS");
    seen.push(String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned());
    assert!(seen.last().unwrap().contains("log capture works"), "logs were captured");

    for text in &seen {
        for secret in [&canary, &cf_canary] {
            assert!(!text.contains(secret.as_str()), "the canary leaked into: {text:.2000}");
        }
    }
}

#[tokio::test]
async fn the_cloudflare_token_never_appears_in_job_logs_events_errors_logs_or_tunnel_responses() {
    let logs = Captured::default();
    let installed = tracing_subscriber::fmt().with_writer(logs.clone()).with_env_filter("debug").with_ansi(false).try_init();
    assert!(installed.is_ok(), "run this test in its own process (cargo nextest) so its logs can be captured");
    tracing::info!("log capture works");

    let canary = format!("cfCANARY{}", Uuid::new_v4().simple());
    let (app, fake) = crate::tunnel::app_with_tunnel_token(&canary, 0, json!({})).await;
    let mut nats = app.nats_client.subscribe(format!("{}.>", app.names.subject_prefix)).await.unwrap();
    let mut job_logs = app.nats_client.subscribe("warp.logs.job.>".to_owned()).await.unwrap();
    warp_test_support::nats_round_trip(&app.nats_client).await;
    let mut seen = Vec::new();

    let good = crate::tunnel::project(&app, "shop", "shop").await;
    crate::tunnel::route(&app, good, "http://localhost:8080", "published").await;
    fake.inject(warp_test_support::fake_cloudflare::Fault::BadToken, None, "/dns_records", 10);
    let bad = crate::tunnel::project(&app, "blog", "blog").await;
    let failed = crate::tunnel::route(&app, bad, "http://localhost:8081", "failed").await;
    assert!(failed["route"]["message"].as_str().unwrap().contains("refused the API token"), "{failed}");
    seen.push(failed.to_string());
    assert_eq!(app.delete_route(&app.admin, good).await.status(), StatusCode::ACCEPTED);

    for what in ["status", "config-preview"] {
        seen.push(app.tunnel(&app.admin, what).await.text().await.unwrap());
    }
    seen.push(app.tunnel_health().await.text().await.unwrap());
    seen.push(app.get_settings(&app.admin).await.text().await.unwrap());
    let jobs: Vec<(Option<String>,)> = sqlx::query_as("select error_message from jobs").fetch_all(&app.db.pool).await.unwrap();
    assert!(jobs.len() >= 2, "the publish jobs ran");
    seen.extend(jobs.into_iter().filter_map(|(m,)| m));
    let lines: Vec<(String,)> = sqlx::query_as("select line from job_logs").fetch_all(&app.db.pool).await.unwrap();
    assert!(!lines.is_empty(), "the jobs logged");
    seen.extend(lines.into_iter().map(|(l,)| l));
    let stored: Vec<(String, String)> = sqlx::query_as("select payload::text, metadata::text from events").fetch_all(&app.db.pool).await.unwrap();
    seen.extend(stored.into_iter().map(|(p, m)| p + &m));
    for subscriber in [&mut nats, &mut job_logs] {
        while let Ok(Some(message)) = tokio::time::timeout(Duration::from_millis(300), subscriber.next()).await {
            seen.push(String::from_utf8_lossy(&message.payload).into_owned());
        }
    }
    seen.push(String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned());
    assert!(seen.last().unwrap().contains("log capture works"), "logs were captured");
    assert!(fake.requests().iter().any(|r| r.authorized), "the token did reach Cloudflare");
    for text in &seen {
        assert!(!text.contains(canary.as_str()), "the Cloudflare token leaked into: {text:.2000}");
    }
}

#[tokio::test]
async fn the_oauth_client_secret_and_users_github_tokens_never_appear_in_logs_events_or_answers() {
    let logs = Captured::default();
    let installed = tracing_subscriber::fmt().with_writer(logs.clone()).with_env_filter("debug").with_ansi(false).try_init();
    assert!(installed.is_ok(), "run this test in its own process (cargo nextest) so its logs can be captured");
    tracing::info!("log capture works");

    let app = TestApp::spawn().await;
    let mut nats = app.nats_client.subscribe(format!("{}.>", app.names.subject_prefix)).await.unwrap();
    let github = warp_test_support::fake_github::FakeGithub::start().await;
    github.add_user("octocat", 1);
    github.add_user("mallory", 2);
    let secret = format!("CANARYsecret{}", Uuid::new_v4().simple());
    app.configure_login_with_secret(&github, &secret, json!({"allowed_users": ["octocat"]})).await;
    let mut seen = Vec::new();
    let keep = |response: reqwest::Response| {
        let headers = format!("{:?}", response.headers());
        async move { headers + &response.text().await.unwrap_or_default() }
    };

    let mut browser = crate::browser::Browser::new(&app);
    seen.push(keep(browser.log_in(&github, "octocat").await).await);
    seen.push(keep(browser.me().await).await);
    seen.push(keep(browser.get("/api/settings").await).await);
    seen.push(keep(app.get_settings(&app.admin).await).await);
    let mut refused = crate::browser::Browser::new(&app);
    seen.push(keep(refused.log_in(&github, "mallory").await).await);
    github.sign_in("octocat");
    let authorize = refused.start_login(None).await;
    let callback = refused.approve(&authorize).await;
    let wrong_code = crate::browser::with_param(&callback, "code", "0000000000");
    seen.push(keep(refused.get(&wrong_code).await).await);
    let bad = app.put_settings(&app.admin, &json!({"github_client_secret": format!("{secret};")}), None).await;
    seen.push(keep(bad).await);
    seen.push(keep(browser.post_same_origin("/auth/logout", None).await).await);

    let tokens = github.issued_tokens();
    assert_eq!(tokens.len(), 2, "GitHub handed out a token per completed login");
    seen.push(app.audit_eventually(&[("action", "session.login_refused")], 2).await.iter().map(Value::to_string).collect());
    seen.push(crate::helpers::eventually_events(&app, 6).await);
    let stored: Vec<(String, String)> = sqlx::query_as("select payload::text, metadata::text from events").fetch_all(&app.db.pool).await.unwrap();
    seen.extend(stored.into_iter().map(|(p, m)| p + &m));
    let tables: Vec<String> = sqlx::query_scalar(
        "select row_to_json(s)::text from sessions s union all select row_to_json(a)::text from login_attempts a
         union all select row_to_json(x)::text from settings_secrets x",
    )
    .fetch_all(&app.db.pool)
    .await
    .unwrap();
    seen.extend(tables);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    while tokio::time::Instant::now() < deadline {
        if let Ok(Some(message)) = tokio::time::timeout(Duration::from_millis(200), nats.next()).await {
            seen.push(String::from_utf8_lossy(&message.payload).into_owned() + &format!("{:?}", message.headers));
        }
    }
    seen.push(String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned());
    assert!(seen.last().unwrap().contains("log capture works"), "logs were captured");
    assert!(seen.iter().any(|t| t.contains("session.login_refused")), "the sweep saw the audit trail");

    for text in &seen {
        for leak in tokens.iter().chain([&secret]) {
            assert!(!text.contains(leak.as_str()), "a secret leaked into: {text:.2000}");
        }
    }
}

//! Routes published through the tunnel (remote mode) against the local fake Cloudflare:
//! DNS record, ingress rule, ownership, grace period, conflicts, status and health.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;
use warp_test_support::fake_cloudflare::{FakeCloudflare, Fault};

use crate::helpers::{assert_error, TestApp};

pub const TOKEN: &str = "cfTESTtoken0123456789abcdefghijkl";
pub const TUNNEL: &str = "6ff42ae2-765d-4adf-8112-31c55c1551ef";
pub const ZONE: &str = "0123456789abcdef0123456789abcdef";
pub const ACCOUNT: &str = "fedcba9876543210fedcba9876543210";

/// An app with the cloudflare service and a fake Cloudflare, the settings pointing at it
/// (remote mode, grace `grace` seconds, plus `extra` settings).
pub async fn app_with_tunnel(grace: u64, extra: Value) -> (TestApp, FakeCloudflare) {
    app_with_tunnel_token(TOKEN, grace, extra).await
}

/// [`app_with_tunnel`] with the API token `token`.
pub async fn app_with_tunnel_token(token: &str, grace: u64, extra: Value) -> (TestApp, FakeCloudflare) {
    let app = TestApp::spawn().await;
    let fake = FakeCloudflare::start(token, TUNNEL).await;
    let mut body = json!({
        "base_domain": "Apps.Example.COM", "cloudflare_api_url": fake.url, "cloudflare_api_token": token,
        "cloudflare_account_id": ACCOUNT, "cloudflare_zone_id": ZONE, "tunnel_id": TUNNEL, "route_grace_seconds": grace,
    });
    for (k, v) in extra.as_object().cloned().unwrap_or_default() {
        body[k] = v;
    }
    let response = app.put_settings(&app.admin, &body, None).await;
    assert_eq!(response.status(), StatusCode::OK, "{}", response.text().await.unwrap());
    app.start_cloudflare_service();
    (app, fake)
}

/// A plain project with `subdomain`; returns its id.
pub async fn project(app: &TestApp, name: &str, subdomain: &str) -> Uuid {
    let response = app.create_project(&app.admin, &json!({"name": name, "subdomain": subdomain})).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json::<Value>().await.unwrap()["id"].as_str().unwrap().parse().unwrap()
}

/// Asks for the route and waits until the project shows `state`.
pub async fn route(app: &TestApp, id: Uuid, service_url: &str, state: &str) -> Value {
    let response = app.put_route(&app.admin, id, &json!({"service_url": service_url})).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED, "{}", response.text().await.unwrap());
    app.project_eventually(id, &format!("the route is {state}"), |p| p["route"]["state"] == state).await
}

fn hostnames(config: &Value) -> Vec<Option<String>> {
    config["ingress"].as_array().unwrap().iter().map(|r| r["hostname"].as_str().map(str::to_owned)).collect()
}

#[tokio::test]
async fn a_route_gets_a_proxied_cname_with_the_panels_comment_and_a_rule_between_the_foreign_ones() {
    let (app, fake) = app_with_tunnel(600, json!({})).await;
    fake.set_config(json!({"ingress": [
        {"hostname": "before.example.net", "service": "http://before:1", "originRequest": {"noTLSVerify": true}},
        {"hostname": "after.example.net", "service": "ssh://after:22"},
        {"service": "http_status:404"}],
        "warp-routing": {"enabled": true}}));
    let id = project(&app, "shop", "shop").await;
    let project = route(&app, id, "http://localhost:8080/", "published").await;
    assert_eq!(project["route"]["hostname"], "shop.apps.example.com");
    assert_eq!(project["route"]["service_url"], "http://localhost:8080");

    let records = fake.records();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["name"], "shop.apps.example.com");
    assert_eq!(records[0]["type"], "CNAME");
    assert_eq!(records[0]["content"], format!("{TUNNEL}.cfargotunnel.com"));
    assert_eq!(records[0]["proxied"], true);
    assert!(records[0]["comment"].as_str().unwrap().contains(&id.to_string()));
    let config = fake.config();
    assert_eq!(
        hostnames(&config),
        [Some("before.example.net".into()), Some("after.example.net".into()), Some("shop.apps.example.com".into()), None]
    );
    assert_eq!(config["ingress"][0]["originRequest"]["noTLSVerify"], true, "foreign rules are kept as they were");
    assert_eq!(config["warp-routing"]["enabled"], true, "other settings survive the PUT");
    let lookups = fake.requests().iter().filter(|r| r.method == "GET" && r.path.ends_with("/dns_records")).count();
    assert!(lookups >= 1, "the record is looked up before it is created");
}

#[tokio::test]
async fn two_routes_requested_at_the_same_moment_both_survive() {
    let (app, fake) = app_with_tunnel(600, json!({})).await;
    let (one, two) = (project(&app, "one", "one").await, project(&app, "two", "two").await);
    let (first, second) = (json!({"service_url": "http://localhost:8001"}), json!({"service_url": "http://localhost:8002"}));
    let (a, b) = tokio::join!(app.put_route(&app.admin, one, &first), app.put_route(&app.admin, two, &second));
    assert_eq!((a.status(), b.status()), (StatusCode::ACCEPTED, StatusCode::ACCEPTED));
    for id in [one, two] {
        app.project_eventually(id, "published", |p| p["route"]["state"] == "published").await;
    }
    let hosts = hostnames(&fake.config());
    assert!(hosts.contains(&Some("one.apps.example.com".into())) && hosts.contains(&Some("two.apps.example.com".into())), "{hosts:?}");
    assert_eq!(hosts.last(), Some(&None), "one catch-all, last");
    assert_eq!(hosts.iter().filter(|h| h.is_none()).count(), 1);
}

#[tokio::test]
async fn a_record_the_panel_did_not_create_is_a_conflict_that_names_it() {
    let (app, fake) = app_with_tunnel(600, json!({})).await;
    let foreign = fake.add_record("shop.apps.example.com", "elsewhere.example.net", None);
    let id = project(&app, "shop", "shop").await;
    let project = route(&app, id, "http://localhost:8080", "failed").await;
    let message = project["route"]["message"].as_str().unwrap();
    assert!(message.contains("conflict") && message.contains(&foreign) && message.contains("elsewhere.example.net"), "{message}");
    assert_eq!(fake.records().len(), 1, "the foreign record is untouched");
    assert_eq!(hostnames(&fake.config()), [None], "no rule was added");
}

#[tokio::test]
async fn cloudflare_rate_limits_and_server_errors_are_retried_and_the_route_is_published() {
    let (app, fake) = app_with_tunnel(600, json!({})).await;
    fake.inject(Fault::RateLimited { retry_after_seconds: 1 }, Some(reqwest::Method::POST), "/dns_records", 1);
    fake.inject(Fault::ServerError { status: 502 }, Some(reqwest::Method::PUT), "/configurations", 1);
    let id = project(&app, "shop", "shop").await;
    route(&app, id, "http://localhost:8080", "published").await;
    assert_eq!(fake.records().len(), 1);
}

#[tokio::test]
async fn a_service_url_with_a_path_and_odd_subdomains_are_refused_before_anything_changes() {
    let (app, fake) = app_with_tunnel(600, json!({})).await;
    let id = project(&app, "shop", "shop").await;
    for bad in ["http://localhost:8080/app", "ftp://localhost", "localhost:8080", "http://u:p@localhost"] {
        let response = app.put_route(&app.admin, id, &json!({"service_url": bad})).await;
        let error = assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(error["field"], "service_url", "{bad}");
    }
    for bad in ["my_shop", "https://shop", "shop:80", "shop.example"] {
        let response = app.create_project(&app.admin, &json!({"name": format!("p{}", bad.len()), "subdomain": bad})).await;
        assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    }
    let plain = app.create_named("no-subdomain").await;
    let response = app.put_route(&app.admin, plain, &json!({"service_url": "http://localhost:1"})).await;
    assert_error(response, StatusCode::CONFLICT, "conflict").await;
    assert!(fake.records().is_empty());
}

#[tokio::test]
async fn a_removed_route_is_unpublished_after_the_grace_period_and_only_the_panels_record_and_rule_go() {
    let (app, fake) = app_with_tunnel(1, json!({})).await;
    fake.add_record("other.apps.example.com", "elsewhere.example.net", None);
    fake.set_config(json!({"ingress": [{"hostname": "keep.example.net", "service": "http://keep:1"}, {"service": "http_status:404"}]}));
    let id = project(&app, "shop", "shop").await;
    route(&app, id, "http://localhost:8080", "published").await;

    let response = app.delete_route(&app.admin, id).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let shown = app.project_eventually(id, "unpublishing", |p| p["route"]["state"] == "unpublishing").await;
    assert!(shown["route"]["unpublish_at"].is_string());
    app.project_eventually(id, "the route is gone", |p| p["route"].is_null()).await;
    let names: Vec<Value> = fake.records().iter().map(|r| r["name"].clone()).collect();
    assert_eq!(names, [json!("other.apps.example.com")]);
    assert_eq!(hostnames(&fake.config()), [Some("keep.example.net".into()), None]);
}

#[tokio::test]
async fn a_failing_unpublish_is_tried_again_later_each_time_and_finally_removes_the_record() {
    let (app, fake) = app_with_tunnel(0, json!({})).await;
    let id = project(&app, "shop", "shop").await;
    route(&app, id, "http://localhost:8080", "published").await;
    // Each attempt tries Cloudflare 3 times: two attempts fail, the third gets through.
    fake.inject(Fault::ServerError { status: 502 }, Some(reqwest::Method::DELETE), "/dns_records", 6);
    let retry = || async {
        sqlx::query_as::<_, (i32, Option<f64>)>(
            "select unpublish_failures, extract(epoch from unpublish_at - now())::float8 from cloudflare_routes where project_id = $1",
        )
        .bind(id)
        .fetch_optional(&app.db.pool)
        .await
        .unwrap()
    };
    assert_eq!(app.delete_route(&app.admin, id).await.status(), StatusCode::ACCEPTED);
    for (failures, delay) in [(1, 60.0), (2, 120.0)] {
        let due_in = warp_test_support::eventually(crate::helpers::CATCH_UP, "the attempt failed", || async {
            retry().await.filter(|(f, _)| *f == failures).and_then(|(_, due_in)| due_in)
        })
        .await;
        assert!((delay - 15.0..=delay).contains(&due_in), "attempt {failures}: next one due in {due_in} s, wanted about {delay}");
        sqlx::query("update cloudflare_routes set unpublish_at = now() where project_id = $1").bind(id).execute(&app.db.pool).await.unwrap();
    }
    app.project_eventually(id, "the route is gone", |p| p["route"].is_null()).await;
    assert!(fake.records().is_empty(), "{:?}", fake.records());
    assert_eq!(retry().await, None);
}

#[tokio::test]
async fn a_project_archived_then_re_created_within_the_grace_period_keeps_the_site() {
    let (app, fake) = app_with_tunnel(3, json!({})).await;
    let old = project(&app, "shop", "shop").await;
    route(&app, old, "http://localhost:8080", "published").await;
    assert_eq!(app.archive_project(&app.admin, &old.to_string()).await.status(), StatusCode::NO_CONTENT);
    app.project_eventually(old, "unpublishing", |p| p["route"]["state"] == "unpublishing").await;

    let new = project(&app, "shop-again", "shop").await;
    route(&app, new, "http://localhost:9090", "published").await;
    // Past the old project's grace period: the site stays, now the new project's.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(!fake.requests().iter().any(|r| r.method == "DELETE"), "no record was deleted");
    let shown = app.get_project(&app.admin, &new.to_string()).await.json::<Value>().await.unwrap();
    assert_eq!(shown["route"]["state"], "published");
    app.project_eventually(old, "the archived project shows no route", |p| p["route"].is_null()).await;
    let records = fake.records();
    assert_eq!(records.len(), 1);
    assert!(records[0]["comment"].as_str().unwrap().contains(&new.to_string()), "{records:?}");
    assert_eq!(fake.config()["ingress"][0]["service"], "http://localhost:9090");
}

#[tokio::test]
async fn the_status_marks_the_panels_rules_and_health_says_why_it_is_down() {
    let (app, fake) = app_with_tunnel(600, json!({})).await;
    fake.set_config(json!({"ingress": [{"hostname": "hand.example.net", "service": "http://hand:1"}, {"service": "http_status:404"}]}));
    let id = project(&app, "shop", "shop").await;
    route(&app, id, "http://localhost:8080", "published").await;
    assert_eq!(app.tunnel(&app.member, "status").await.status(), StatusCode::FORBIDDEN, "it names every project's hostname");
    let status: Value = app.tunnel(&app.admin, "status").await.json().await.unwrap();
    assert_eq!(status["mode"], "remote");
    assert_eq!(status["tunnel"]["status"], "healthy");
    assert_eq!(status["connections"].as_array().unwrap().len(), 1);
    let entries = status["ingress"].as_array().unwrap();
    let shop = entries.iter().find(|e| e["hostname"] == "shop.apps.example.com").unwrap();
    assert_eq!((shop["panel"].clone(), shop["project_id"].clone()), (json!(true), json!(id.to_string())));
    let hand = entries.iter().find(|e| e["hostname"] == "hand.example.net").unwrap();
    assert_eq!((hand["panel"].clone(), hand["project_id"].clone()), (json!(false), Value::Null));
    assert_eq!(app.tunnel_health().await.status(), StatusCode::OK);

    let preview: Value = app.tunnel(&app.admin, "config-preview").await.json().await.unwrap();
    assert_eq!(preview["differs"], false);
    let before = fake.requests().iter().filter(|r| r.method == "PUT").count();

    fake.set_connections(Vec::new());
    fake.set_tunnel(json!({"status": "down"}));
    let response = app.tunnel_health().await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = response.json().await.unwrap();
    assert!(body["reason"].as_str().unwrap().contains("no cloudflared is connected"), "{body}");
    assert_eq!(fake.requests().iter().filter(|r| r.method == "PUT").count(), before, "reads write nothing");
}

#[tokio::test]
async fn the_api_reads_the_tunnel_through_the_cloudflare_service_and_says_when_it_is_not_running() {
    let app = TestApp::spawn().await;
    let fake = FakeCloudflare::start(TOKEN, TUNNEL).await;
    let body = json!({
        "base_domain": "apps.example.com", "cloudflare_api_url": fake.url, "cloudflare_api_token": TOKEN,
        "cloudflare_account_id": ACCOUNT, "cloudflare_zone_id": ZONE, "tunnel_id": TUNNEL,
    });
    assert_eq!(app.put_settings(&app.admin, &body, None).await.status(), StatusCode::OK);
    let reads_before = fake.requests().len();
    for what in ["status", "config-preview"] {
        let body = assert_error(app.tunnel(&app.admin, what).await, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
        assert!(body.to_string().contains("cloudflare service is not running"), "{body}");
    }
    let response = app.tunnel_health().await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let health: Value = response.json().await.unwrap();
    assert!(health["reason"].as_str().unwrap().contains("cloudflare service is not running"), "{health}");
    assert_eq!(fake.requests().len(), reads_before, "the API itself never calls Cloudflare");

    app.start_cloudflare_service();
    warp_test_support::eventually(Duration::from_secs(10), "the cloudflare service answers", || async {
        (app.tunnel_health().await.status() == StatusCode::OK).then_some(())
    })
    .await;
    assert!(fake.requests().len() > reads_before, "the cloudflare service read the tunnel");
}

#[tokio::test]
async fn a_container_stopped_and_started_while_routed_keeps_its_route() {
    let (app, fake) = app_with_tunnel(0, json!({})).await;
    let id = project(&app, "shop", "shop").await;
    route(&app, id, "http://localhost:8080", "published").await;
    let metadata = warp_events::EventMetadata::default();
    for action in [warp_events::project::DeployAction::Stop, warp_events::project::DeployAction::Start] {
        let command = warp_domain::ProjectCommand::RecordLifecycle { job_id: Uuid::now_v7(), action, services: Vec::new() };
        let projects = warp_store::event_store::project_cqrs(app.db.pool.clone());
        warp_store::event_store::execute_project(&projects, id, command, &metadata).await.unwrap();
    }
    app.project_eventually(id, "started", |p| p["status"] == "running").await;
    // With a grace period of 0 a withdrawal would be acted on within a sweep (100 ms).
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let shown = app.get_project(&app.admin, &id.to_string()).await.json::<Value>().await.unwrap();
    assert_eq!(shown["route"]["state"], "published");
    assert_eq!(fake.records().len(), 1);
    assert_eq!(hostnames(&fake.config()), [Some("shop.apps.example.com".into()), None]);
}

#[tokio::test]
async fn a_base_domain_with_upper_case_unicode_and_a_trailing_dot_publishes_its_punycode_form() {
    let (app, fake) = app_with_tunnel(600, json!({"base_domain": "Bücher.Example."})).await;
    let settings: Value = app.get_settings(&app.admin).await.json().await.unwrap();
    assert_eq!(settings["base_domain"], "xn--bcher-kva.example");
    let id = project(&app, "shop", "Shop").await;
    let shown = route(&app, id, "http://localhost:8080", "published").await;
    assert_eq!(shown["route"]["hostname"], "shop.xn--bcher-kva.example");
    assert_eq!(fake.records()[0]["name"], "shop.xn--bcher-kva.example");
}

#[tokio::test]
async fn a_subdomain_change_publishes_the_new_hostname_and_unpublishes_the_old_one() {
    let (app, fake) = app_with_tunnel(0, json!({})).await;
    let id = project(&app, "shop", "shop").await;
    route(&app, id, "http://localhost:8080", "published").await;
    let response = app.update_project(&app.admin, &id.to_string(), &json!({"subdomain": "store"}), None).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    app.project_eventually(id, "the new hostname is published", |p| {
        p["route"]["state"] == "published" && p["route"]["hostname"] == "store.apps.example.com"
    })
    .await;
    warp_test_support::eventually(crate::helpers::CATCH_UP, "the old record is gone", || async {
        let names: Vec<Value> = fake.records().iter().map(|r| r["name"].clone()).collect();
        (names == [json!("store.apps.example.com")]).then_some(())
    })
    .await;
    warp_test_support::eventually(crate::helpers::CATCH_UP, "the old rule is gone", || async {
        (hostnames(&fake.config()) == [Some("store.apps.example.com".to_owned()), None]).then_some(())
    })
    .await;
}

//! Authentication on every `/api` route, and what a member token may not do.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;
use warp_store::tokens::Role;

use crate::helpers::{assert_error, Auth, TestApp};

/// Every `(method, path)` under `/api` in the OpenAPI document, which is generated from the
/// same routers that are served.
fn api_routes() -> Vec<(Method, String)> {
    let doc = serde_json::to_value(warp_api::openapi_document()).unwrap();
    let mut routes = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("the document has paths") {
        if !path.starts_with("/api") {
            continue;
        }
        for method in ["get", "post", "put", "patch", "delete", "head", "options", "trace"] {
            if item.get(method).is_some() {
                routes.push((method.to_uppercase().parse().unwrap(), path.clone()));
            }
        }
    }
    routes
}

/// `path` with every `{param}` replaced by a random UUID.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|segment| if segment.starts_with('{') { Uuid::new_v4().to_string() } else { segment.to_owned() })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn every_api_route_answers_401_without_a_valid_token() {
    let app = TestApp::spawn().await;
    let routes = api_routes();
    assert!(routes.iter().any(|(m, p)| m == Method::POST && p == "/api/projects"), "routes: {routes:?}");
    assert!(routes.len() >= 10, "expected the whole table, got {routes:?}");

    let revoked = app.new_token("carol", Role::Member).await;
    assert_eq!(app.revoke_token(&app.admin, revoked.id).await.status(), StatusCode::NO_CONTENT);
    let unknown = format!("warp_{}", "ab".repeat(32));
    let presented = [
        ("no token", Auth::None),
        ("a malformed token", Auth::Bearer("not-a-token")),
        ("an unknown token", Auth::Bearer(&unknown)),
        ("a revoked token", Auth::Bearer(&revoked.secret)),
    ];
    for (method, path) in &routes {
        let path = concrete(path);
        for (what, auth) in &presented {
            let response = app.request(method.clone(), &path, *auth).await;
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{method} {path} with {what}");
            assert_eq!(response.headers()["www-authenticate"], "Bearer", "{method} {path} with {what}");
            assert_error(response, StatusCode::UNAUTHORIZED, "unauthorized").await;
        }
    }
}

#[tokio::test]
async fn a_member_token_is_refused_the_operator_endpoints_with_403() {
    let app = TestApp::spawn().await;
    assert_error(app.rebuild_audit(&app.member).await, StatusCode::FORBIDDEN, "forbidden").await;
    assert_error(app.list_dead_letters(&app.member).await, StatusCode::FORBIDDEN, "forbidden").await;

    assert_eq!(app.rebuild_audit(&app.admin).await.status(), StatusCode::OK);
    let letters = app.list_dead_letters(&app.admin).await;
    assert_eq!(letters.status(), StatusCode::OK);
    assert_eq!(letters.json::<Value>().await.unwrap(), serde_json::json!([]));
}

async fn token_ids(app: &TestApp, token: &crate::helpers::Token) -> Vec<(String, String)> {
    let response = app.list_tokens(token).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let items = body.as_array().expect("a list of tokens");
    assert!(items.iter().all(|t| t.get("secret").is_none() && t.get("token_hash").is_none()), "{body}");
    items.iter().map(|t| (t["id"].as_str().unwrap().to_owned(), t["login"].as_str().unwrap().to_owned())).collect()
}

#[tokio::test]
async fn a_member_sees_only_their_own_tokens_and_cannot_revoke_another_users() {
    let app = TestApp::spawn().await;
    let (admin_id, member_id) = (app.admin.id.to_string(), app.member.id.to_string());

    let mine = token_ids(&app, &app.member).await;
    assert_eq!(mine, vec![(member_id.clone(), app.member.login.clone())]);
    let all = token_ids(&app, &app.admin).await;
    assert!(all.iter().any(|(id, _)| *id == admin_id) && all.iter().any(|(id, _)| *id == member_id), "{all:?}");

    assert_error(app.revoke_token(&app.member, app.admin.id).await, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(app.list_tokens(&app.admin).await.status(), StatusCode::OK, "the admin token still works");

    assert_eq!(app.revoke_token(&app.admin, app.member.id).await.status(), StatusCode::NO_CONTENT);
    assert_error(app.list_tokens(&app.member).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
    assert_error(app.revoke_token(&app.admin, app.member.id).await, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn a_member_can_revoke_their_own_token() {
    let app = TestApp::spawn().await;
    let spare = app.new_token(&app.member.login, Role::Member).await;
    assert_eq!(app.revoke_token(&app.member, spare.id).await.status(), StatusCode::NO_CONTENT);
    assert_error(app.list_tokens(&spare).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
    assert_eq!(app.list_tokens(&app.member).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_wrong_method_and_an_oversized_body_answer_with_the_json_error_body() {
    let app = TestApp::spawn().await;
    let wrong = app.client.delete(format!("{}/api/projects", app.address)).bearer_auth(&app.admin.secret).send().await.unwrap();
    assert_error(wrong, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;
    let huge = format!("{{\"name\":\"{}\"}}", "a".repeat(3 * 1024 * 1024));
    let big = app
        .client
        .post(format!("{}/api/projects", app.address))
        .bearer_auth(&app.admin.secret)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_error(big, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
}

#[tokio::test]
async fn a_member_reaches_only_the_projects_they_created_and_their_jobs() {
    let app = TestApp::spawn().await;
    let other = app.new_token("carol-member", Role::Member).await;
    let created = app.create_project(&app.member, &json!({"name": "bobs-shop"})).await;
    let id = created.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    app.project_eventually(id.parse().unwrap(), "projected", |p| p["name"] == "bobs-shop").await;
    let job_id: Uuid = Uuid::now_v7();
    let queue = warp_domain::JobCommand::Queue { input: warp_events::job::StopInput { project_id: id.parse().unwrap() }.into(), timeout_seconds: None };
    warp_store::event_store::execute_job(&warp_store::event_store::job_cqrs(app.db.pool.clone()), job_id, queue, &Default::default())
        .await
        .unwrap();

    // The owner and an admin see it.
    assert_eq!(app.get_project(&app.member, &id).await.status(), StatusCode::OK);
    assert_eq!(app.get_project(&app.admin, &id).await.status(), StatusCode::OK);
    // Another member gets 404 everywhere, as if it did not exist, and changes nothing.
    assert_error(app.get_project(&other, &id).await, StatusCode::NOT_FOUND, "not_found").await;
    let rename = app.update_project(&other, &id, &json!({"name": "stolen"}), None).await;
    assert_error(rename, StatusCode::NOT_FOUND, "not_found").await;
    assert_error(app.archive_project(&other, &id).await, StatusCode::NOT_FOUND, "not_found").await;
    for action in ["deploy", "stop", "start", "remove"] {
        let response = app.project_action(&other, id.parse().unwrap(), action, None).await;
        assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
    }
    let listed: Value = app.list_projects(&other, &[]).await.json().await.unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 0, "{listed}");
    let listed: Value = app.list_projects(&app.member, &[]).await.json().await.unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "{listed}");
    assert_error(app.get_job(&other, &job_id.to_string()).await, StatusCode::NOT_FOUND, "not_found").await;
    assert_error(app.cancel_job(&other, &job_id.to_string()).await, StatusCode::NOT_FOUND, "not_found").await;
    let path = format!("/api/jobs/{job_id}/logs");
    assert_error(app.request(Method::GET, &path, Auth::Bearer(&other.secret)).await, StatusCode::NOT_FOUND, "not_found").await;
    let jobs = app.request(Method::GET, "/api/jobs", Auth::Bearer(&other.secret)).await.json::<Value>().await.unwrap();
    assert!(jobs["items"].as_array().unwrap().iter().all(|j| j["id"] != job_id.to_string().as_str()), "{jobs}");
    assert_error(app.list_events(&other, 0).await, StatusCode::FORBIDDEN, "forbidden").await;

    let events = app.stored_events(Some(id.parse().unwrap())).await;
    assert_eq!(events.len(), 1, "nothing the other member sent was recorded: {events:?}");
    let job_events: i64 = sqlx::query_scalar("select count(*) from events where aggregate_id = $1")
        .bind(job_id.to_string())
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(job_events, 1, "the job was not cancelled");
    // The owner may act on it.
    assert_eq!(app.cancel_job(&app.member, &job_id.to_string()).await.status(), StatusCode::ACCEPTED);
}

#[tokio::test]
async fn revoking_a_token_ends_the_live_streams_it_opened() {
    let app = TestApp::spawn().await;
    let spare = app.new_token("alice-admin", Role::Admin).await;
    let stream = app.events_stream(&spare, None).await;
    assert_eq!(stream.status(), StatusCode::OK);
    // Still open after a while…
    let mut body = stream.bytes_stream();
    let early = tokio::time::timeout(std::time::Duration::from_secs(1), futures::StreamExt::next(&mut body)).await;
    assert!(early.is_err(), "the stream is open and idle");
    // …and ended within a revalidation period of the revoke.
    assert_eq!(app.revoke_token(&app.admin, spare.id).await.status(), StatusCode::NO_CONTENT);
    let ended = tokio::time::timeout(std::time::Duration::from_secs(15), async {
        while let Some(chunk) = futures::StreamExt::next(&mut body).await {
            if chunk.is_err() {
                break;
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the stream outlived its revoked token");
}

#[tokio::test]
async fn a_member_cannot_revoke_an_admin_token_of_the_same_login() {
    let app = TestApp::spawn().await;
    let admin_of_same_login = app.new_token(&app.member.login, Role::Admin).await;
    assert_error(app.revoke_token(&app.member, admin_of_same_login.id).await, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(app.list_tokens(&admin_of_same_login).await.status(), StatusCode::OK, "still live");
}

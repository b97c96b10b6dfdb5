//! `/api/audit`: the audit trail as the projection consumer writes it, and its rebuild.

use reqwest::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{assert_error, TestApp};

/// A project created then renamed by the member; returns its id.
async fn created_and_renamed(app: &TestApp) -> Uuid {
    let response = app.create_project(&app.member, &json!({ "name": "shop" })).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let id = response.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let renamed = app.update_project(&app.member, &id, &json!({ "name": "store" }), None).await;
    assert_eq!(renamed.status(), StatusCode::NO_CONTENT);
    id.parse().unwrap()
}

#[tokio::test]
async fn the_audit_trail_records_who_did_what_newest_first() {
    let app = TestApp::spawn().await;
    let id = created_and_renamed(&app).await;

    let rows = app.audit_eventually(&[], 2).await;
    let actions: Vec<&str> = rows.iter().map(|r| r["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["project.renamed", "project.created"]);
    for row in &rows {
        assert_eq!(row["actor"], app.member.login.as_str());
        assert_eq!(row["project_id"], id.to_string());
        assert_eq!(row["target"], format!("project/{id}"));
        assert_eq!(row["outcome"], "succeeded");
    }
}

#[tokio::test]
async fn the_audit_trail_filters_by_action_project_and_actor() {
    let app = TestApp::spawn().await;
    let id = created_and_renamed(&app).await;
    app.create_named("other").await;
    app.audit_eventually(&[], 3).await;

    let renamed = app.audit_eventually(&[("action", "project.renamed")], 1).await;
    assert_eq!(renamed[0]["project_id"], id.to_string());
    let project = id.to_string();
    let of_project = app.audit_eventually(&[("project", &project)], 2).await;
    assert!(of_project.iter().all(|r| r["project_id"] == project.as_str()));
    let by_member = app.audit_eventually(&[("actor", &app.member.login)], 2).await;
    assert!(by_member.iter().all(|r| r["actor"] == app.member.login.as_str()));
    let by_admin = app.audit_eventually(&[("actor", &app.admin.login)], 1).await;
    assert_eq!(by_admin[0]["action"], "project.created");
    app.audit_eventually(&[("action", "project.renamed"), ("actor", &app.admin.login)], 0).await;
}

#[tokio::test]
async fn the_audit_trail_pages_with_limit_and_next_cursor() {
    let app = TestApp::spawn().await;
    let id = created_and_renamed(&app).await.to_string();
    app.audit_eventually(&[], 2).await;

    let first: Value = app.list_audit(&app.admin, &[("project", &id), ("limit", "1")]).await.json().await.unwrap();
    assert_eq!(first["items"].as_array().unwrap().len(), 1);
    assert_eq!(first["items"][0]["action"], "project.renamed");
    let cursor = first["next_cursor"].as_i64().expect("a next cursor").to_string();

    let second: Value =
        app.list_audit(&app.admin, &[("project", &id), ("limit", "1"), ("before", &cursor)]).await.json().await.unwrap();
    let items = second["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["action"], "project.created");
    assert_ne!(items[0]["global_position"], first["items"][0]["global_position"]);
}

#[tokio::test]
async fn a_malformed_audit_query_is_refused_with_400() {
    let app = TestApp::spawn().await;
    for query in [[("project", "nope")], [("before", "x")], [("colour", "red")], [("from", "yesterday")]] {
        assert_error(app.list_audit(&app.admin, &query).await, StatusCode::BAD_REQUEST, "bad_request").await;
    }
    let inverted = [("from", "2026-01-02T00:00:00Z"), ("to", "2026-01-01T00:00:00Z")];
    assert_error(app.list_audit(&app.admin, &inverted).await, StatusCode::BAD_REQUEST, "bad_request").await;
}

#[tokio::test]
async fn rebuilding_the_audit_trail_reproduces_the_same_rows() {
    let app = TestApp::spawn().await;
    created_and_renamed(&app).await;
    app.create_named("other").await;
    let before = app.audit_eventually(&[], 3).await;

    let response = app.rebuild_audit(&app.admin).await;
    assert_eq!(response.status(), StatusCode::OK);
    let report: Value = response.json().await.unwrap();
    assert_eq!(report["events"], 3, "{report}");

    let after: Value = app.list_audit(&app.admin, &[]).await.json().await.unwrap();
    assert_eq!(after["items"], Value::Array(before));
}

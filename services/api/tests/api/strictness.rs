//! Bodies must be JSON objects: an array would fill a struct's fields by position.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{assert_error, TestApp};

#[tokio::test]
async fn a_json_array_for_a_project_is_refused_with_400_and_creates_nothing() {
    let app = TestApp::spawn().await;
    let response = app.create_project_raw(&app.admin, r#"["x","y",null]"#).await;
    let error = assert_error(response, StatusCode::BAD_REQUEST, "bad_request").await;
    assert!(error["message"].as_str().unwrap().contains("must be an object"), "{error}");
    for body in ["\"shop\"", "42", "null", "true"] {
        assert_error(app.create_project_raw(&app.admin, body).await, StatusCode::BAD_REQUEST, "bad_request").await;
    }
    assert!(app.stored_events(None).await.is_empty());

    let id = app.create_named("shop").await;
    let rename = app.update_project(&app.admin, &id.to_string(), &json!(["other"]), None).await;
    assert_error(rename, StatusCode::BAD_REQUEST, "bad_request").await;
    let redeploy = app.project_action(&app.admin, id, "deploy", Some(&json!([{"A": "1"}]))).await;
    assert_error(redeploy, StatusCode::BAD_REQUEST, "bad_request").await;
    let remove = app.project_action(&app.admin, id, "remove", Some(&json!([true]))).await;
    assert_error(remove, StatusCode::BAD_REQUEST, "bad_request").await;
    assert_eq!(app.stored_events(Some(id)).await.len(), 1, "only the creation is stored");
}

#[tokio::test]
async fn a_json_array_for_the_settings_is_refused_with_400_and_sets_no_base_domain() {
    let app = TestApp::spawn().await;
    let response = app.put_settings(&app.admin, &json!(["example.com"]), None).await;
    assert_error(response, StatusCode::BAD_REQUEST, "bad_request").await;
    let settings: serde_json::Value = app.get_settings(&app.admin).await.json().await.unwrap();
    assert!(settings["base_domain"].is_null(), "{settings}");
    let events: i64 = sqlx::query_scalar("select count(*) from events where aggregate_type = 'settings'")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(events, 0);
}
